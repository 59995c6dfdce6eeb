"""`qa bot`: the Slack bot in the foreground over Socket Mode. Added to the `qa` command by the
composition root (news_qa/cli.py); light at import (`qa --help` loads it): Slack libraries load
inside the command."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bot", help="answer questions in Slack over Socket Mode (needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN)"
    )
    p.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR, default .qa-index)")
    p.set_defaults(func=cmd_bot)


def cmd_bot(args: argparse.Namespace) -> int:
    from bot.config import SlackSettings
    from qa.config import Settings
    from qa.http.observability import configure_logging

    configure_logging()
    slack = SlackSettings()
    if not slack.socket_enabled:
        log.error("qa bot needs SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…): see the README, Slack")
        return 1
    settings = Settings(**({"index_dir": args.index_dir} if args.index_dir else {}))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from bot.socket import serve

    log.info("qa bot: Socket Mode, index %s, command %s (Ctrl-C to stop)", settings.index_dir, slack.qa_slack_command)
    try:
        serve(settings, slack, stop)
    except Exception as e:  # e.g. a wrong token: say what, without the token
        log.error("qa bot stopped: %s: %s", type(e).__name__, e)
        return 1
    return 0
