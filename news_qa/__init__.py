"""The composition root: the product's parts put together. `qa/` reads and serves and knows no
front end built on it; `bot/` adapts Slack over `qa`; only this package sees both, so imports
still go news_qa -> bot -> qa -> index, never back.

- `news_qa.cli:main` is the installed `qa` command: qa's subcommands plus `qa bot` and
  `qa follows`, and
  `qa serve` with the Slack front end mounted when its settings turn it on.
- `news_qa.app:build_app` is the same served app, for an ASGI server
  (`uvicorn --factory news_qa.app:build_app`).
"""
