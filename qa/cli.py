"""The `qa` command: index, search (and, as they land, the other front ends).

Heavy modules (numpy, faiss, torch) are imported inside the commands that need them, so
`qa --help` and a plan-only `qa index --dry-run` start quickly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.service import SearchResult

EXIT_OK, EXIT_ERROR, EXIT_NO_INDEX, EXIT_BUSY = 0, 1, 2, 75


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chatty = args.command == "index" and not (args.quiet or args.json)  # commits and merges
    logging.basicConfig(
        level=logging.INFO if chatty else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("faiss", "sentence_transformers"):  # which CPU build, which model folder
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Cited answers from a corpus of news articles.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="reconcile the corpus folder with the index")
    _add_index_dir(p)
    p.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR, default corpus)")
    p.add_argument("--rebuild", action="store_true", help="start from nothing: re-embed every article")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--wait", action="store_true", help="wait for another writer instead of exiting")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or info messages")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="the passages that best answer a question, with citations")
    _add_index_dir(p)
    p.add_argument("query", help="the question or search words")
    p.add_argument("-k", "--top-k", type=int, default=None, help="number of passages (1-50, default 5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no info messages")
    p.set_defaults(func=cmd_search)
    return parser


def _add_index_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", type=Path, help="index folder (QA_INDEX_DIR, default .qa-index)")


def _settings(args: argparse.Namespace) -> Settings:
    from qa.config import Settings

    overrides = {}
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = args.index_dir
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = args.corpus
    return Settings(**overrides)


def cmd_index(args: argparse.Namespace) -> int:
    from index.embedding import load_embedder
    from qa.service import build_writer

    settings = _settings(args)
    embedder = load_embedder(settings.model, settings.embed_batch_size)
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    writer = build_writer(settings, embedder, progress=progress)
    result = writer.reconcile(
        settings.corpus_dir,
        max_bytes=settings.max_article_bytes,
        rebuild=args.rebuild,
        dry_run=args.dry_run,
        wait=args.wait,
    )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
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


def cmd_search(args: argparse.Namespace) -> int:
    if args.top_k is not None and not 1 <= args.top_k <= 50:
        print("qa: --top-k must be between 1 and 50", file=sys.stderr)
        return EXIT_ERROR
    if not args.query.strip():
        print("qa: the query is empty", file=sys.stderr)
        return EXIT_ERROR
    from qa.service import QAService

    service = QAService(_settings(args))
    result = service.search(args.query, args.top_k)
    if args.json:
        out = result.to_json()
        out.pop("took_ms")
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(render_results(result))
    return EXIT_OK


def render_results(result: SearchResult, width: int = 100) -> str:
    """A readable terminal rendering: title, date, link, quote, score."""
    if not result.citations:
        return f'Nothing in the index matches "{result.query}".'
    lines = []
    for c in result.citations:
        lines.append(f"[{c.n}] {c.title}  (score {c.score:.3f})")
        lines.append("    " + " · ".join(x for x in (c.source, c.published, c.url) if x))
        quote = textwrap.shorten(" ".join(c.quote.split()), 420, placeholder=" …")
        lines.extend(textwrap.wrap(f"“{quote}”", width, initial_indent="    ", subsequent_indent="    "))
        lines.append("")
    lines.append(f"index version {result.index_version}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
