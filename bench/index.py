"""Indexing benchmark on the BBC News corpus (../shared/data/bbc_news/articles.jsonl).

Measures, in one run, with default settings (QA_* variables are ignored):
  1. a full `qa index` subprocess: wall clock and chunks/s;
  2. bare SentenceTransformer.encode on exactly the texts that index embedded, and the ratio of the two;
  3. incremental latency: `qa --help`, `qa index` with no change, `qa index` after adding one article,
     and an in-process IndexWriter.reconcile after adding another.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python bench/index.py [--limit N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# This file is named index.py: drop its folder from the import path so `index` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


from index.chunking import Chunker
from index.config import open_writer
from index.embedders import EmbedderConfig
from index.loaders import DEFAULT_MAX_BYTES, load_corpus
from index.manifest import read_manifest
from index.segments import read_segment
from index.writer import IndexWriter
from qa.config import Settings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bbc_news" / "articles.jsonl"
QA = Path(sys.executable).with_name("qa")
RATIO_TARGET = 0.90  # the pipeline costs little over bare embedding
FAST_TARGET = 1.30  # with the default (ONNX) backend, against the PyTorch reference
RECONCILE_TARGET_S = 2.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, help="work folder (kept; default: a temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    p.add_argument("--limit", type=int, help="index only the first N articles (quick smoke run)")
    return p.parse_args()


@contextmanager
def work_folder(workdir: Path | None, keep: bool) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        yield path
    finally:
        if keep:
            print(f"work folder kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def qa(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Run the real `qa` CLI; its wall clock and stdout. Exits on failure."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(QA), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"qa {' '.join(args)} failed with exit code {proc.returncode}:\n{proc.stderr}")
    return wall, proc.stdout


def qa_index(corpus: Path, index_dir: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    wall, out = qa(
        ["index", "--corpus", str(corpus), "--index-dir", str(index_dir), "--quiet", "--json"],
        env,
        corpus.parent,
    )
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if result["skipped"]:
        sys.exit(f"qa index skipped part of the corpus: {result['skipped']}")
    return wall, result


def add_article(corpus: Path, n: int) -> str:
    """Write one small new Markdown article; its id."""
    body = (
        f"The benchmark town council number {n} voted on Tuesday to rebuild its old railway bridge. "
        "Work starts in the spring and should take eighteen months, the council said.\n\n"
        "Local traders welcomed the decision but asked for a temporary footbridge during the works."
    )
    meta = f"title: Council {n} backs bridge rebuild\nurl: https://example.org/bench/{n}\n"
    meta += f"published: 2024-01-0{n}\nsource: Bench News\n"
    (corpus / f"bench-new-{n}.md").write_text(f"---\n{meta}---\n\n{body}\n", encoding="utf-8")
    return f"bench-new-{n}"


def embedded_texts(writer: IndexWriter, corpus: Path, max_bytes: int) -> list[str]:
    """The distinct embed texts of the corpus, as the writer embeds them; checked against the index."""
    chunker = Chunker(writer.embedder.tokenizer, writer.chunker_config, writer.embedder.name)
    articles = load_corpus(corpus, max_bytes).articles
    made = {e.chunk.embed_hash: e.text for a in articles for e in chunker.chunk(a)}
    texts = list(made.values())
    manifest = read_manifest(writer.index_dir)
    stored = set()
    for seg in manifest.segments:
        dead = manifest.deleted.get(seg.name, frozenset())
        rows = read_segment(writer.index_dir, seg.name, mmap=True).rows
        stored.update(r.embed_hash for i, r in enumerate(rows) if i not in dead)
    if set(made) != stored:
        sys.exit("re-chunked embed texts do not match the embed hashes stored in the index")
    return texts


def main() -> int:
    args = parse_args()
    load_start = os.getloadavg()[0]  # other work on the machine skews every figure below
    if not DATA.is_file():
        print(f"BBC corpus not found at {DATA}; nothing to benchmark.")
        return 2
    for key in [k for k in os.environ if k.startswith("QA_")]:
        del os.environ[key]
    lines = DATA.read_text(encoding="utf-8").splitlines(keepends=True)[: args.limit]
    # One JSONL file holds every article: lift the per-file byte limit above its size.
    max_bytes = max(DEFAULT_MAX_BYTES, 2 * sum(len(line.encode()) for line in lines))
    env = {**os.environ, "QA_MAX_ARTICLE_BYTES": str(max_bytes)}

    with work_folder(args.workdir, args.keep) as work:
        corpus, index_dir = work / "corpus", work / "index"
        if corpus.exists() or index_dir.exists():
            print(f"{work} already holds corpus/ or index/; pass an empty --workdir.")
            return 2
        corpus.mkdir()
        (corpus / "articles.jsonl").write_text("".join(lines), encoding="utf-8")
        print(f"corpus: {len(lines)} articles from {DATA} in {corpus}; QA_MAX_ARTICLE_BYTES={max_bytes}")

        print("1. full qa index (subprocess) ...", flush=True)
        full_wall, full = qa_index(corpus, index_dir, env)
        chunks = int(full["chunks_embedded"])
        print(f"   {json.dumps({k: v for k, v in full.items() if k != 'added'})}, added {len(full['added'])}")
        print(f"   {full_wall:.1f} s wall, {chunks / full_wall:.1f} chunks/s (backend {Settings().embed_backend})")

        print("2. bare SentenceTransformer.encode on the same texts ...", flush=True)
        settings = Settings(_env_file=None, corpus_dir=corpus, index_dir=index_dir, max_article_bytes=max_bytes)
        writer = open_writer(settings)
        texts = embedded_texts(writer, corpus, max_bytes)
        # The reference: sentence-transformers on PyTorch, whatever backend the pipeline runs.
        model = EmbedderConfig(settings.model, "torch").load().model  # type: ignore[attr-defined]
        model.encode(["warm-up"], batch_size=32, normalize_embeddings=True)
        t0 = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True)
        bare_s = time.perf_counter() - t0
        print(f"   {len(texts)} distinct embed texts (qa index embedded {chunks}), {bare_s:.1f} s")

        print("3. incremental ...", flush=True)
        help_wall, _ = qa(["--help"], env, work)
        same_wall, same = qa_index(corpus, index_dir, env)
        new_id = add_article(corpus, 1)
        plus_wall, plus = qa_index(corpus, index_dir, env)
        if same["chunks_embedded"] != 0 or plus["added"] != [new_id]:
            sys.exit(f"unexpected incremental results: no-change {same}, +1 {plus}")
        new_id = add_article(corpus, 2)
        t0 = time.perf_counter()
        inproc = writer.reconcile(corpus, max_bytes=max_bytes)
        inproc_s = time.perf_counter() - t0
        if [a.id for a in inproc.plan.added] != [new_id]:
            sys.exit(f"unexpected in-process result: {inproc.plan}")

    pipe_rate, bare_rate = chunks / full_wall, len(texts) / bare_s
    ratio = pipe_rate / bare_rate
    ratio_note = (
        f"target >= {RATIO_TARGET:.2f}: {verdict(ratio >= RATIO_TARGET)}; "
        f"default backend target >= {FAST_TARGET:.2f}: {verdict(ratio >= FAST_TARGET)}"
    )
    inproc_note = f"target <= {RECONCILE_TARGET_S:.0f} s: {verdict(inproc_s <= RECONCILE_TARGET_S)}"
    rows = [
        ("full qa index wall", f"{full_wall:.1f} s", f"{chunks} chunks, {pipe_rate:.1f} chunks/s"),
        ("bare encode (batch 32)", f"{bare_s:.1f} s", f"{len(texts)} texts, {bare_rate:.1f} chunks/s"),
        ("ratio pipeline/bare", f"{ratio:.3f}", ratio_note),
        ("qa --help wall", f"{help_wall:.2f} s", "process start-up baseline"),
        ("qa index no-change wall", f"{same_wall:.2f} s", f"{same_wall - help_wall:+.2f} s over qa --help"),
        (
            "qa index +1 article wall",
            f"{plus_wall:.2f} s",
            f"{plus_wall - help_wall:+.2f} s over qa --help, "
            f"{plus_wall - same_wall:+.2f} s over no-change, {plus['chunks_embedded']} chunk(s) embedded",
        ),
        (
            "reconcile +1 article in-process",
            f"{inproc_s:.2f} s",
            f"{inproc_note}, {inproc.chunks_embedded} chunk(s) embedded",
        ),
    ]
    loads = f"1-min load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    print(f"\n== index benchmark: BBC News, {len(lines)} articles, {os.cpu_count()} CPUs, {loads} ==")
    for label, value, note in rows:
        print(f"{label:<33}{value:>10}   {note}")
    return 0


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
