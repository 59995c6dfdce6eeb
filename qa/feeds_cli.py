"""`qa feeds add|list|remove|poll` and `qa fetch URL`: articles that arrive by themselves.

Light at import: the feed and fetch code loads inside the commands. Errors are one `qa:` line;
exit code 1 for them, and for `qa feeds poll` when any feed failed (the others were still polled
and indexed)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import signal
import sys
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.feeds.config import FeedConfig
    from index.feeds.poll import RoundReport
    from index.feeds.state import FeedState
    from qa.config import Settings
    from qa.contract import WriteResult

EXIT_OK, EXIT_ERROR = 0, 1


def register(sub: Any) -> None:
    feeds = sub.add_parser("feeds", help="RSS, Atom and JSON feeds: add, list, remove, poll")
    verbs = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")

    p = verbs.add_parser("add", help="add a feed to the feeds file")
    p.add_argument("url", help="the feed's http(s) URL")
    p.add_argument("--source", metavar="NAME", help="source shown in citations (default: the feed's own title)")
    p.add_argument("--every", default="15m", metavar="INTERVAL", help="poll interval: 30s, 15m, 1h30m, 1d (15m)")
    _common(p)
    p.set_defaults(func=cmd_add)

    p = verbs.add_parser("list", help="the feeds, with last success, last error, entries seen, articles written")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    _common(p)
    p.set_defaults(func=cmd_list)

    p = verbs.add_parser("remove", help="remove a feed from the feeds file (its articles stay in the corpus)")
    p.add_argument("feed", metavar="URL|NAME", help="the feed's URL, name or source")
    _common(p)
    p.set_defaults(func=cmd_remove)

    p = verbs.add_parser("poll", help="poll the feeds as they fall due and index new articles (Ctrl-C stops)")
    p.add_argument("--once", action="store_true", help="poll every feed once now, index, and exit")
    p.add_argument("--json", action="store_true", help="with --once: print the round's report as JSON")
    _common(p, index=True)
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("fetch", help="fetch one URL, extract its article, write it into the corpus and index it")
    p.add_argument("url", help="an http(s) URL of a page holding one article")
    p.add_argument("--json", action="store_true", help="print the write result as JSON")
    p.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR, default corpus)")
    p.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR, default .qa-index)")
    p.set_defaults(func=cmd_fetch)


def _common(p: argparse.ArgumentParser, index: bool = False) -> None:
    p.add_argument(
        "--feeds-file", type=Path, help="the feeds file (QA_FEEDS_FILE; default feeds.toml beside the corpus)"
    )
    p.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR, default corpus)")
    if index:
        p.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR, default .qa-index)")


def _settings(args: argparse.Namespace) -> Settings:
    from qa.config import Settings

    given = {"feeds_file": "feeds_file", "corpus": "corpus_dir", "index_dir": "index_dir"}
    return Settings(**{field: getattr(args, opt) for opt, field in given.items() if getattr(args, opt, None)})


def _fail(message: object) -> int:
    print(f"qa: {message}", file=sys.stderr)
    return EXIT_ERROR


def cmd_add(args: argparse.Namespace) -> int:
    from index.feeds.config import FeedsFileError, add_feed
    from index.feeds.urls import BadUrl

    settings = _settings(args)
    try:
        feed = add_feed(settings.feeds, args.url, args.source, args.every)
    except (FeedsFileError, BadUrl) as e:
        return _fail(e)
    print(f"added {feed.name}: {feed.shown_url} every {feed.every} to {settings.feeds}")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    from index.feeds.config import FeedsFileError, remove_feed

    settings = _settings(args)
    try:
        feed = remove_feed(settings.feeds, args.feed)
    except FeedsFileError as e:
        return _fail(e)
    print(f"removed {feed.name}: {feed.shown_url} from {settings.feeds}; its articles stay in the corpus")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from index.feeds.config import FeedsFileError
    from index.feeds.poll import Poller

    settings = _settings(args)
    try:
        status = Poller(settings.corpus_dir, settings.feeds, settings.fetch_config()).status()
    except FeedsFileError as e:
        return _fail(e)
    if args.json:
        print(json.dumps([_status_json(f, s) for f, s in status], ensure_ascii=False))
    elif not status:
        print(f"no feeds in {settings.feeds}: add one with `qa feeds add URL`")
    for feed, state in [] if args.json else status:
        print(_status_text(feed, state))
    return EXIT_OK


def _status_json(feed: FeedConfig, state: FeedState) -> dict[str, object]:
    return {
        "name": feed.name,
        "url": feed.shown_url,
        "source": feed.source or state.title,
        "every": feed.every,
        "last_success": _iso(state.last_success),
        "last_error": state.last_error,
        "last_error_kind": state.last_error_kind,
        "last_error_at": _iso(state.last_error_at),
        "failures": state.failures,
        "next_poll": _iso(state.next_due) if state.last_poll else None,
        "entries_seen": state.entries_seen,
        "articles_written": state.articles_written,
    }


def _status_text(feed: FeedConfig, state: FeedState) -> str:
    source = feed.source or state.title
    lines = [f"{feed.name}  {feed.shown_url}  (every {feed.every}{f', source {source!r}' if source else ''})"]
    if state.last_poll is None:
        lines.append("    not polled yet")
    else:
        lines.append(f"    last success  {_iso(state.last_success) or 'never'}")
        if state.last_error_at and (state.failures or (state.last_error_at or 0) > (state.last_success or 0)):
            lines.append(
                f"    last error    {_iso(state.last_error_at)}: {state.last_error} ({state.failures} in a row)"
            )
        lines.append(f"    next poll     {_iso(state.next_due)}")
    lines.append(f"    entries seen {state.entries_seen}, articles written {state.articles_written}")
    return "\n".join(lines)


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(stamp, dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cmd_poll(args: argparse.Namespace) -> int:
    from index.config import open_writer
    from index.feeds.config import FeedsFileError
    from index.feeds.poll import Poller
    from index.feeds.state import PollerBusy
    from qa.service import write_result

    settings = _settings(args)
    poller = Poller(settings.corpus_dir, settings.feeds, settings.fetch_config())

    @cache
    def writer() -> Any:  # the model loads only when something was written
        return open_writer(settings)

    def reindex() -> WriteResult:
        return write_result(writer().reconcile(settings.corpus_dir, max_bytes=settings.max_article_bytes, wait=True))

    if not args.once:
        return _poll_forever(poller, reindex)
    try:
        with contextlib.closing(poller):
            report = poller.poll(force=True, wait=True)
    except (FeedsFileError, PollerBusy) as e:
        return _fail(e)
    if not report.feeds:
        return _fail(f"no feeds in {settings.feeds}: add one with `qa feeds add URL`")
    result = reindex() if report.written else None
    _print_round(report, result, args.json)
    return EXIT_ERROR if report.failed else EXIT_OK


def _poll_forever(poller: Any, reindex: Any) -> int:
    from qa.http.observability import configure_logging
    from qa.live import FeedPoller

    configure_logging()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a clean stop, as for Ctrl-C
    feeds = FeedPoller(poller, reindex).start()
    try:
        feeds.wait()
    except KeyboardInterrupt:
        pass
    finally:
        feeds.stop()
    return EXIT_OK


def _print_round(report: RoundReport, result: WriteResult | None, as_json: bool) -> None:
    if as_json:
        body = {
            "feeds": [vars(f) for f in report.feeds],
            "requests": report.requests,
            "bytes_received": report.bytes_received,
            "took_s": report.took_s,
            "index": result.model_dump() if result else None,
        }
        print(json.dumps(body, ensure_ascii=False))
        return
    for f in report.feeds:
        if f.outcome == "failed":
            detail = str(f.error)
        elif f.outcome == "not modified":
            detail = "nothing new (304)"
        else:
            detail = f"{f.entries} entries: {len(f.new)} new, {len(f.changed)} changed, {f.unchanged} unchanged"
            detail += f"; {f.fallbacks} from the entry's own text" if f.fallbacks else ""
            detail += f"; {f.pending} without text yet" if f.pending else ""
        print(f"{f.name:<24} {f.outcome:<13} {detail}")
    summary = (
        f"{len(report.feeds)} feeds, {len(report.failed)} failed; {len(report.written)} articles written; "
        f"{report.requests} requests, {report.bytes_received:,} bytes in {report.took_s:.2f} s"
    )
    if result is not None:
        summary += f"; index version {result.index_version}: {len(result.added)} added, {len(result.changed)} changed"
    print(summary)


def cmd_fetch(args: argparse.Namespace) -> int:
    from index.config import open_writer
    from index.errors import BadArticle
    from index.feeds.articles import fetch_into_corpus
    from index.feeds.fetch import Fetcher, FetchError
    from qa.service import write_result

    settings = _settings(args)
    started = time.perf_counter()
    try:
        with Fetcher(settings.fetch_config()) as fetcher:
            fetch_into_corpus(fetcher, settings.corpus_dir, args.url)
    except FetchError as e:
        return _fail(e if e.kind in ("refused", "bad_url") else f"could not fetch: {e}")
    except BadArticle as e:
        return _fail(e)
    with contextlib.closing(open_writer(settings)) as writer:
        reconciled = writer.reconcile(settings.corpus_dir, max_bytes=settings.max_article_bytes, wait=True)
    result = write_result(reconciled)
    if args.json:
        print(result.model_dump_json())
        return EXIT_OK
    done = [f"{a} added" for a in result.added] + [f"{a} changed" for a in result.changed]
    print(
        f"{'; '.join(done) or 'unchanged (the corpus already held this page)'}; index version "
        f"{result.index_version} ({time.perf_counter() - started:.1f} s)"
    )
    return EXIT_OK
