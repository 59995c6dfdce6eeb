"""The `qa` command's read and write subcommands: index, search, ask, serve, watch, eval. The
composition root (news_qa/cli.py) adds the front ends built on qa (the Slack bot) and is the
installed `qa` script.

Heavy modules (numpy, faiss, torch) are imported inside the commands that need them, so
`qa --help` and a plan-only `qa index --dry-run` start quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.eval.command import register as register_eval
from qa.feeds_cli import register as register_feeds

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.contract import Citation
    from qa.http.app import Frontend
    from qa.service import QAService

EXIT_OK, EXIT_ERROR, EXIT_NO_INDEX, EXIT_BUSY = 0, 1, 2, 75

Frontends = Callable[[], Sequence["Frontend"]]  # what `qa serve` mounts beside the API
Register = Callable[[Any], None]  # adds a subcommand to the parser's subparsers


def main(
    argv: list[str] | None = None, *, frontends: Frontends | None = None, commands: Sequence[Register] = ()
) -> int:
    args = build_parser(frontends, commands).parse_args(argv)
    chatty = args.command == "index" and not (args.quiet or args.json)  # commits and merges
    logging.basicConfig(
        level=logging.INFO if chatty else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("faiss", "sentence_transformers", "httpx", "httpcore"):  # CPU build, model folder, each URL
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from index.errors import CorruptIndex, IndexNotFound, IndexStoreError, ModelMismatch, WriterBusy

    try:
        return int(args.func(args))
    except (IndexNotFound, ModelMismatch, CorruptIndex) as e:
        print(f"qa: {e}", file=sys.stderr)
        return EXIT_NO_INDEX
    except WriterBusy as e:
        print(f"qa: {e}", file=sys.stderr)
        return EXIT_BUSY
    except (IndexStoreError, FileNotFoundError) as e:
        print(f"qa: {e}", file=sys.stderr)
        return EXIT_ERROR


def build_parser(frontends: Frontends | None = None, commands: Sequence[Register] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Cited answers from a corpus of news articles.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _index_parser(sub)
    _question_parsers(sub)
    _serving_parsers(sub, frontends)
    register_eval(sub)
    register_feeds(sub)
    for register in commands:  # e.g. `qa bot`
        register(sub)
    return parser


def _index_parser(sub: Any) -> None:
    p = sub.add_parser("index", help="reconcile the corpus folder with the index")
    _add_index_dir(p)
    p.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR, default corpus)")
    p.add_argument("--rebuild", action="store_true", help="start from nothing: re-embed every article")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--wait", action="store_true", help="wait for another writer instead of exiting")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or info messages")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="chunk and embed on a Ray cluster ('local': start one here, a worker per core; QA_RAY_ADDRESS)",
    )
    p.add_argument("--ray-workers", type=int, metavar="N", help="Ray workers (QA_RAY_WORKERS; default one per core)")
    p.set_defaults(func=cmd_index)


def _question_parsers(sub: Any) -> None:
    p = sub.add_parser("search", help="the passages that best answer a question, with citations")
    _add_index_dir(p)
    p.add_argument("query", help="the question or search words")
    p.add_argument("-k", "--top-k", type=int, default=None, help="number of passages (1-50, default 5)")
    _add_as_of(p)
    p.add_argument("--sort", choices=["relevance", "date"], default="relevance", help="best or newest first")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no info messages")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="an extractive answer: verbatim sentences with citations")
    _add_index_dir(p)
    p.add_argument("question", help="the question")
    p.add_argument("-k", "--top-k", type=int, default=None, help="passages to answer from (1-50, default 5)")
    _add_as_of(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON (the /ask shape)")
    p.set_defaults(func=cmd_ask)


def _serving_parsers(sub: Any, frontends: Frontends | None) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API and the search page")
    _add_index_dir(p)
    p.add_argument("--corpus", type=Path, help="corpus folder, for admin routes and QA_WATCH")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(func=cmd_serve, frontends=frontends)

    p = sub.add_parser("mcp", help="serve the MCP tools over stdin/stdout (for desktop assistants)")
    _add_index_dir(p)
    p.add_argument("--corpus", type=Path, help="corpus folder, where get_article reads article texts")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser("watch", help="re-index whenever the corpus folder changes")
    _add_index_dir(p)
    p.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR, default corpus)")
    p.set_defaults(func=cmd_watch)


def _add_as_of(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of",
        type=_day,
        metavar="DATE",
        help="reference time for 'latest', 'last week', 'in March' (ISO date or date-time; default today)",
    )


def _day(text: str) -> Any:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None


def _add_index_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR, default .qa-index)")


def _settings(args: argparse.Namespace) -> Settings:
    from qa.config import Settings

    overrides = {}
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = args.index_dir
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = args.corpus
    if getattr(args, "ray", None):
        overrides["ray_address"] = args.ray
    if getattr(args, "ray_workers", None) is not None:
        overrides["ray_workers"] = args.ray_workers
    return Settings(**overrides)


def cmd_index(args: argparse.Namespace) -> int:
    from index.config import open_writer
    from qa.service import write_result

    settings = _settings(args)
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    writer = open_writer(settings, progress=progress)
    with contextlib.closing(writer):
        result = writer.reconcile(
            settings.corpus_dir,
            max_bytes=settings.max_article_bytes,
            rebuild=args.rebuild,
            dry_run=args.dry_run,
            wait=args.wait,
        )
    if args.json:
        print(write_result(result).model_dump_json())
        return EXIT_OK
    plan = result.plan
    if args.dry_run:
        print(f"plan for {settings.corpus_dir} -> {settings.index_dir} (nothing written):")
        for label, ids in (
            ("add", [a.id for a in plan.added]),
            ("change", [a.id for a in plan.changed]),
            ("delete", plan.deleted),
        ):
            for article_id in ids:
                print(f"  {label:<7}{article_id}")
    for s in plan.skipped:
        print(f"  skip   {s.path}: {s.reason}")
    print(
        f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.deleted)} deleted, "
        f"{len(plan.unchanged)} unchanged, {len(plan.skipped)} skipped; "
        f"{result.chunks_embedded} chunks embedded; index version {result.index_version}"
    )
    return EXIT_OK


def _check_question(text: str, top_k: int | None, settings: Settings) -> str | None:
    """The reason a question or -k is refused, or None."""
    from qa.questions import refusal

    if top_k is not None and not 1 <= top_k <= 50:
        return "--top-k must be between 1 and 50"
    found = refusal(text, settings.max_query_chars)
    return found.message() if found else None


def _question_service(args: argparse.Namespace, text: str) -> QAService | None:
    """The service to ask, or None after saying why the question (or -k) is refused."""
    from qa.service import QAService

    settings = _settings(args)
    if problem := _check_question(text, args.top_k, settings):
        print(f"qa: {problem}", file=sys.stderr)
        return None
    return QAService(settings)


def cmd_search(args: argparse.Namespace) -> int:
    if (service := _question_service(args, args.query)) is None:
        return EXIT_ERROR
    result = service.search(args.query.strip(), args.top_k, now=args.as_of, sort=args.sort)
    if args.json:
        print(json.dumps(result.model_dump(exclude={"took_ms", "stages_ms"}), ensure_ascii=False))
    else:
        if result.time:
            print(f"time: {result.time.reason} (as of {result.time.as_of})\n")
        print(render_citations(result.results, result.index_version, result.query))
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    if (service := _question_service(args, args.question)) is None:
        return EXIT_ERROR
    result = service.ask(args.question.strip(), args.top_k, now=args.as_of)
    if args.json:
        print(result.model_dump_json())
        return EXIT_OK
    answer = result.answer
    if result.time:
        print(f"time: {result.time.reason} (as of {result.time.as_of})\n")
    print(textwrap.fill(answer, 100) if answer else str(result.message))
    print()
    if result.citations:
        print("Sources:" if answer else "Closest passages:")
        print(render_citations(result.citations, result.index_version))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.http.app import create_app
    from qa.http.observability import configure_logging
    from qa.http.server import serve

    configure_logging()
    settings = _settings(args)
    frontends = args.frontends() if args.frontends else ()
    serve(create_app(settings, frontends=frontends), settings, args.host, args.port)
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace) -> int:
    from qa.mcp.stdio import serve_stdio

    logging.getLogger().setLevel(logging.INFO)  # to stderr (main's handler): stdout is the protocol's
    serve_stdio(_settings(args))
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from qa.http.observability import configure_logging
    from qa.live import CorpusWatcher
    from qa.service import QAService

    configure_logging()
    settings = _settings(args)
    logging.getLogger(__name__).info("watching %s (Ctrl-C to stop)", settings.corpus_dir)
    with contextlib.suppress(KeyboardInterrupt):
        CorpusWatcher(QAService(settings), settings.watch_debounce_ms).run()
    return EXIT_OK


def render_citations(citations: list[Citation], index_version: int, query: str = "", width: int = 100) -> str:
    """A readable terminal rendering: title, date, link, quote, score."""
    if not citations:
        return f'Nothing in the index matches "{query}".'
    lines = []
    for c in citations:
        lines.append(f"[{c.n}] {c.title}  (score {c.score:.3f})")
        lines.append("    " + " · ".join(x for x in (c.source, c.published, c.url) if x))
        quote = textwrap.shorten(" ".join(c.quote.split()), 420, placeholder=" …")
        lines.extend(textwrap.wrap(f"“{quote}”", width, initial_indent="    ", subsequent_indent="    "))
        lines.append("")
    lines.append(f"index version {index_version}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
