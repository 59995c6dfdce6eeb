"""The installed `qa` command (pyproject's [project.scripts]). Light at import, as `qa --help`
must be: the app and the Slack libraries load inside the commands that serve them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cli import register as register_bot
from bot.cli import register_follows
from qa import cli

if TYPE_CHECKING:
    from qa.http.app import Frontend


def frontends() -> Sequence[Frontend]:
    from news_qa.app import frontends as served

    return served()


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, frontends=frontends, commands=[register_bot, register_follows])


if __name__ == "__main__":
    sys.exit(main())
