import sys

from news_qa.cli import main

sys.exit(main())
