"""`qa bot`: the Slack bot in the foreground over Socket Mode; `qa follows list|remove`: the topics
channels follow. Added to the `qa` command by the composition root (news_qa/cli.py); light at
import (`qa --help` loads it): Slack libraries load inside the commands."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.follows import AlertStore

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


def register_follows(subparsers: Any) -> None:
    p = subparsers.add_parser("follows", help="list or remove the topics Slack channels follow")
    sub = p.add_subparsers(dest="follows_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="every followed topic: id, channel, since, alerts posted, topic")
    listing.add_argument("--channel", help="only this channel's (its id, e.g. C0123ABCD)")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    remove = sub.add_parser("remove", help="stop a follow (its id, from `qa follows list`)")
    remove.add_argument("id", type=int, help="the follow's id")
    for action, run in ((listing, _list_follows), (remove, _remove_follow)):
        action.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR, default .qa-index)")
        action.set_defaults(func=cmd_follows, run=run)


def cmd_follows(args: argparse.Namespace) -> int:
    """`qa follows list|remove` on the alert store of the index folder (none yet: no follows)."""
    import sqlite3
    import sys

    from bot.follows import FILENAME, AlertStore
    from qa.config import Settings

    path = Path(args.index_dir or Settings().index_dir) / FILENAME
    try:
        return int(args.run(args, AlertStore(path) if path.is_file() else None))
    except sqlite3.Error as e:
        print(f"qa: cannot read {path}: {e}", file=sys.stderr)
        return 1


def _list_follows(args: argparse.Namespace, store: AlertStore | None) -> int:
    import json

    stats = store.stats(args.channel) if store else []
    if args.json:
        rows = [{**vars(s.follow), "posted": s.posted, "last_posted": s.last_posted} for s in stats]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not stats:
        print("No topics are followed.")
        return 0
    print(f"{'id':>4}  {'channel':<12} {'since':<10} {'posted':>6}  topic")
    for s in stats:
        f = s.follow
        print(f"{f.id:>4}  {f.channel:<12} {f.created[:10]:<10} {s.posted:>6}  {f.topic}")
    return 0


def _remove_follow(args: argparse.Namespace, store: AlertStore | None) -> int:
    import sys

    removed = store.remove(args.id) if store else None
    if removed is None:
        print(f"qa: no follow with id {args.id} (see `qa follows list`)", file=sys.stderr)
        return 1
    print(f"removed follow {removed.id}: {removed.topic!r} in {removed.channel}")
    return 0
