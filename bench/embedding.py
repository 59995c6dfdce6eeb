"""Embedding backends of the bundled all-MiniLM-L6-v2, side by side in one run: PyTorch
(sentence-transformers, the reference) vs ONNX Runtime fp32 vs ONNX Runtime int8.

For each backend it prints:
  - first use: exporting to ONNX (fp32) or quantising (int8) into an empty cache folder;
  - cold start: a fresh process that loads the embedder (ONNX from the cache) and embeds one query,
    and whether that process imported torch;
  - passages/s embedding chunk-sized BBC passages (~256 word pieces, built by the project's chunker
    from ../shared/data/bbc_news/articles.jsonl), after a warm-up batch;
  - single-query latency p50/p99 over short queries (BBC titles), after a warm-up, the backends
    taking turns every 20 queries so that load from other jobs falls on all of them alike;
  - cosine of each passage and query vector to the PyTorch one (min/mean).

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python bench/embedding.py [--passages 512] [--queries 200]
        [--threads N]

`--threads` sets both torch's and onnxruntime's intra-op threads (default: every core, as each
backend does by default); on a machine whose cores are busy with other jobs, `--threads 1` shows
what the backends do without waiting on a descheduled worker thread.
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
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.articles import Article
from index.chunking import Chunker, ChunkerConfig
from index.embedders import Embedder, EmbedderConfig
from index.embedders.onnx_runtime import OnnxEmbedder, available_cores
from index.loaders import load_file

DATA = REPO.parent / "shared" / "data" / "bbc_news" / "articles.jsonl"
BACKENDS = ("torch", "onnx", "onnx-int8")
LABELS = {"torch": "pytorch (s-t)", "onnx": "onnx fp32", "onnx-int8": "onnx int8"}
COLD_START = """
import json, sys, time
t = time.perf_counter()
from pathlib import Path
from index.embedders import EmbedderConfig
e = EmbedderConfig("minilm", sys.argv[1], 32, Path(sys.argv[2])).load()
if int(sys.argv[3]) and sys.argv[1] == "torch":
    import torch
    torch.set_num_threads(int(sys.argv[3]))
elif int(sys.argv[3]):
    e.threads = int(sys.argv[3])
e.embed_query("How much revenue did Nvidia forecast?")
print(json.dumps({"s": time.perf_counter() - t, "torch": "torch" in sys.modules}))
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", type=int, default=512, help="chunk-sized passages to embed (default 512)")
    p.add_argument("--queries", type=int, default=200, help="short queries for the latency figures (default 200)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, help="intra-op threads of torch and onnxruntime (default: every core)")
    p.add_argument("--data", type=Path, default=DATA)
    return p.parse_args()


def passages_and_queries(
    data: Path, embedder: Embedder, n_passages: int, n_queries: int
) -> tuple[list[str], list[str], list[int]]:
    """Full-size chunks (at least 3/4 of the model's limit) of the first articles, and titles as queries."""
    articles = [a for a in load_file(data, data.parent, max_bytes=1 << 30) if isinstance(a, Article)]
    chunker = Chunker(embedder.tokenizer, ChunkerConfig(embedder.max_tokens, embedder.special_tokens), embedder.name)
    passages: list[str] = []
    for article in articles:
        texts = [e.text for e in chunker.chunk(article)]
        counts = embedder.tokenizer.count(texts)
        passages += [t for t, n in zip(texts, counts, strict=True) if n + 2 >= 0.75 * embedder.max_tokens]
        if len(passages) >= n_passages:
            break
    passages = passages[:n_passages]
    queries = [a.title for a in articles[-n_queries:]]  # short, and not the passages' own titles
    return passages, queries, [n + embedder.special_tokens for n in embedder.tokenizer.count(passages)]


def cold_start(backend: str, cache: Path, threads: int) -> tuple[float, bool]:
    out = subprocess.run(
        [sys.executable, "-c", COLD_START, backend, str(cache), str(threads)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return float(got["s"]), bool(got["torch"])


def main() -> int:
    args = parse_args()
    if not args.data.is_file():
        print(f"BBC data not found at {args.data}: nothing to measure (it lives in ../shared/data beside the checkout)")
        return 0
    cache = Path(tempfile.mkdtemp(prefix="qa-onnx-bench-"))
    embedders = {b: EmbedderConfig("minilm", b, args.batch_size, cache).load() for b in BACKENDS}
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        for e in embedders.values():
            if isinstance(e, OnnxEmbedder):
                e.threads = args.threads  # read when its session starts
    threads = args.threads or available_cores()
    passages, queries, lengths = passages_and_queries(args.data, embedders["torch"], args.passages, args.queries)
    print(
        f"{len(passages)} passages ({np.mean(lengths):.0f} word pieces on average, special tokens included, "
        f"max {max(lengths)}), {len(queries)} queries ({np.mean([len(q.split()) for q in queries]):.1f} words), "
        f"batch {args.batch_size}, {threads} thread(s) on {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(f"ONNX cache: {cache}")

    first_use: dict[str, str] = {"torch": "-"}
    for b in ("onnx", "onnx-int8"):  # int8 is quantised from the fp32 file, so it comes second
        t = time.perf_counter()
        embedders[b].embed_query("warm")  # exports (fp32) or quantises (int8) into the empty cache
        first_use[b] = f"{time.perf_counter() - t:.1f}"

    passage_vectors: dict[str, np.ndarray] = {}
    rate: dict[str, float] = {}
    for b, e in embedders.items():
        e.embed_documents(passages[: args.batch_size])  # warm-up batch (and loads the torch model)
        t = time.perf_counter()
        passage_vectors[b] = e.embed_documents(passages)
        rate[b] = len(passages) / (time.perf_counter() - t)

    for e in embedders.values():
        for q in queries[:10]:
            e.embed_query(q)
    latencies: dict[str, list[float]] = {b: [] for b in BACKENDS}
    query_vectors: dict[str, list[np.ndarray]] = {b: [] for b in BACKENDS}
    for start in range(0, len(queries), 20):
        for b, e in embedders.items():
            for q in queries[start : start + 20]:
                t = time.perf_counter()
                v = e.embed_query(q)
                latencies[b].append((time.perf_counter() - t) * 1000)
                query_vectors[b].append(v)

    cold = {b: cold_start(b, cache, args.threads or 0) for b in BACKENDS}

    ref_p, ref_q = passage_vectors["torch"], np.stack(query_vectors["torch"])
    header = (
        f"{'backend':<14}{'first use s':>12}{'cold start s':>13}{'torch?':>7}{'passages/s':>11}"
        f"{'query p50 ms':>13}{'p99 ms':>8}{'cos passages min/mean':>25}{'cos queries min/mean':>24}"
    )
    print(header)
    print("-" * len(header))
    for b in BACKENDS:
        cp = (passage_vectors[b] * ref_p).sum(axis=1)
        cq = (np.stack(query_vectors[b]) * ref_q).sum(axis=1)
        p50, p99 = np.percentile(latencies[b], [50, 99])
        print(
            f"{LABELS[b]:<14}{first_use[b]:>12}{cold[b][0]:>13.2f}{'yes' if cold[b][1] else 'no':>7}"
            f"{rate[b]:>11.1f}{p50:>13.1f}{p99:>8.1f}"
            f"{f'{cp.min():.6f} / {cp.mean():.6f}':>25}{f'{cq.min():.6f} / {cq.mean():.6f}':>24}"
        )
    speed = ", ".join(f"{LABELS[b]} {rate[b] / rate['torch']:.2f}x" for b in ("onnx", "onnx-int8"))
    print(f"passages/s relative to pytorch: {speed}; load average {os.getloadavg()[0]:.1f} at the end")
    print("the machine is shared with other jobs: timings are noisy, compare within one run")
    shutil.rmtree(cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
