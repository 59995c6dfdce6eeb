"""Dense search at scale: exact (IndexFlatIP) vs the large-index mode (index/ann.py, qa/search/ann.py).

Builds, for each size N, one segment's dense index the way the product does at that size (an
approximate index through `index.ann.write_ann`, as `write_segment` does, from QA_ANN_MIN_ROWS
rows on; exact search below), from REAL embeddings of the bundled model: the BBC News chunks (the
product's chunker) and the SQuAD v1.1 dev paragraphs, repeated with a small Gaussian perturbation
(re-normalised) until there are N rows. The queries are SQuAD questions. For each size it prints:

  - exact search (IndexFlatIP, as the reader searches small segments): p50/p99 latency;
  - build time of the approximate index (k-means training, adding, writing `ann.faiss`);
  - vector-search latency p50/p99 over the queries, one at a time, through the reader's own
    `AnnIndex.search` (memory-mapped index, exact re-scoring), for k=10 and for k=100 (the
    candidate pool hybrid retrieval asks for), with recall@k against exact search;
  - index memory: the size of `ann.faiss` (the faiss structure: codes, ids, centroids), and the
    process's RSS growth after loading and after the queries, private memory and mapped file
    pages apart (the mapped pages include the rows of vectors.npy read for re-scoring);
  - the same with 10% of the rows deleted (bitmap selector), and with a filter keeping 2% (the
    exact scan of the allowed rows);
  - with --sweep: recall and latency for other nprobe (or efSearch) and rerank values.

Base embeddings and query embeddings are cached in .qa-bench/ (and through the embedding cache in
.qa-cache/), so a re-run embeds nothing. On a machine busy with other jobs, exact search with
every core is slowed a lot by OpenMP threads waiting for a core; --threads 1 shows it unhindered.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python bench/search_scale.py \\
        [--sizes 100000,1000000] [--queries 500] [--kind ivf|hnsw] [--nprobe N] [--sweep] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


from index.ann import AnnConfig, write_ann
from index.articles import Article
from index.chunking import Chunker, ChunkerConfig
from index.embedders import EmbedderConfig
from index.embedders.cache import CachedEmbedder
from index.loaders import load_file
from qa.search.ann import AnnIndex, AnnParams

SHARED = REPO.parent / "shared" / "data"
BBC = SHARED / "bbc_news" / "articles.jsonl"
SQUAD = SHARED / "squad_v1.1_dev" / "beir"
WORK = REPO / ".qa-bench"


def embedder() -> CachedEmbedder:
    return CachedEmbedder(EmbedderConfig("minilm", "torch").load(), REPO / ".qa-cache" / "embeddings.sqlite3")


def base_vectors() -> np.ndarray:
    """Embeddings of every BBC chunk and SQuAD paragraph (cached in .qa-bench/)."""
    path = WORK / "base-passages.npy"
    if path.is_file():
        return np.load(path)
    e = embedder()
    chunker = Chunker(e.tokenizer, ChunkerConfig(e.max_tokens, e.special_tokens), e.name)
    texts = []
    for file in (BBC, SQUAD / "corpus.jsonl"):
        articles = [a for a in load_file(file, file.parent, max_bytes=1 << 30) if isinstance(a, Article)]
        texts += [m.text for a in articles for m in chunker.chunk(a)]
    print(f"embedding {len(texts)} passages (cached batch by batch; an interrupted run resumes)", flush=True)
    parts = []
    for i in range(0, len(texts), 512):
        parts.append(e.embed_documents(texts[i : i + 512]))
        print(f"  {i + len(parts[-1])}/{len(texts)}", flush=True)
    e.close()
    vectors = np.concatenate(parts).astype(np.float32)
    WORK.mkdir(exist_ok=True)
    np.save(path, vectors)
    return vectors


def query_vectors(n: int) -> np.ndarray:
    """Embeddings of n SQuAD questions, a fixed sample (cached in .qa-bench/)."""
    path = WORK / f"queries-{n}.npy"
    if path.is_file():
        return np.load(path)
    with open(SQUAD / "queries.jsonl", encoding="utf-8") as f:
        questions = [json.loads(line)["text"] for line in f if line.strip()]
    sample = random.Random(0).sample(questions, min(n, len(questions)))
    e = embedder()
    vectors = e.embed_documents(sample).astype(np.float32)
    e.close()
    WORK.mkdir(exist_ok=True)
    np.save(path, vectors)
    return vectors


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated row counts (default 100000,1000000)")
    p.add_argument("--queries", type=int, default=500, help="SQuAD questions timed (default 500)")
    p.add_argument("--exact-queries", type=int, default=100, help="of those, timed on exact search too (default 100)")
    p.add_argument(
        "--mode",
        choices=("default", "ann", "exact"),
        default="default",
        help="default: approximate from QA_ANN_MIN_ROWS's default on, as the product does; ann: always",
    )
    p.add_argument("--kind", choices=("ivf", "hnsw"), default=AnnConfig.kind)
    p.add_argument("--min-rows", type=int, default=AnnConfig.min_rows)
    p.add_argument("--nprobe", type=int, default=AnnParams.nprobe)
    p.add_argument("--ef", type=int, default=AnnParams.ef_search)
    p.add_argument("--rerank", type=int, default=AnnParams.rerank)
    p.add_argument("--noise", type=float, default=0.3, help="norm of the perturbation of each copy (default 0.3)")
    p.add_argument("--sweep", action="store_true", help="also print recall and latency for other nprobe/ef/rerank")
    p.add_argument("--threads", type=int, help="faiss (OpenMP) threads (default: every core, as the service runs)")
    p.add_argument("--workdir", type=Path, default=WORK / "scale", help="where the segments are written")
    return p.parse_args()


def make_vectors(folder: Path, base: np.ndarray, n: int, noise: float) -> np.ndarray:
    """n rows: the base vectors, then copies of them plus Gaussian noise of norm ~`noise`,
    re-normalised; written as the segment's vectors.npy and returned memory-mapped."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "vectors.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    rng = np.random.default_rng(1)
    sigma = noise / np.sqrt(base.shape[1])
    for start in range(0, n, 65_536):
        rows = np.arange(start, min(n, start + 65_536))
        block = base[rows % len(base)].copy()
        copies = rows >= len(base)
        block[copies] += rng.normal(0.0, sigma, size=(int(copies.sum()), base.shape[1])).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[rows[0] : rows[-1] + 1] = block
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Ground truth: the k best rows of each query by inner product (allowed rows only)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), 65_536):
        block = np.asarray(vectors[start : start + 65_536], dtype=np.float32)
        scores = queries @ block.T
        if allowed is not None:
            scores[:, ~allowed[start : start + len(block)]] = -np.inf
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(np.arange(start, start + len(block)), scores.shape)], axis=1)
        top = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    order = np.argsort(-best_s, axis=1)
    return np.take_along_axis(best_i, order, 1)


def recall(found: list[np.ndarray], truth: np.ndarray, k: int) -> float:
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / k


def timed(search: Any, queries: np.ndarray, k: int, warmup: int = 20) -> tuple[list[np.ndarray], np.ndarray]:
    """Rows found for each query, and each query's latency in ms (after `warmup` untimed queries)."""
    for q in queries[:warmup]:
        search(q, k)
    found, ms = [], []
    for q in queries:
        t = time.perf_counter()
        found.append(search(q, k))
        ms.append((time.perf_counter() - t) * 1000)
    return found, np.array(ms)


def rss_mb() -> np.ndarray:
    """This process's resident memory in MiB: [private (anonymous), mapped file pages]."""
    found = dict.fromkeys(("RssAnon:", "RssFile:"), float("nan"))
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key = line.split(maxsplit=1)[0]
            if key in found:
                found[key] = int(line.split()[1]) / 1024
    return np.array(list(found.values()))


def pct(ms: np.ndarray) -> str:
    return f"p50 {np.percentile(ms, 50):6.2f} ms  p99 {np.percentile(ms, 99):6.2f} ms"


def measure(n: int, base: np.ndarray, queries: np.ndarray, args: argparse.Namespace) -> None:
    import faiss

    folder = args.workdir / f"n{n}"
    vectors = make_vectors(folder, base, n, args.noise)
    config = AnnConfig(min_rows=1 if args.mode == "ann" else args.min_rows, kind=args.kind)
    approximate = args.mode != "exact" and config.wanted(n)
    params = AnnParams(min_rows=1, nprobe=args.nprobe, ef_search=args.ef, rerank=args.rerank)
    truth = exact_top(vectors, queries, 100)
    everything = np.ones(n, dtype=bool)
    print(f"\n== {n:,} rows x {vectors.shape[1]} ({'approximate: ' + args.kind if approximate else 'exact'}) ==")

    # Exact search as the reader does it for small segments (IndexFlatIP over the rows in RAM).
    flat = faiss.IndexFlatIP(vectors.shape[1])
    t = time.perf_counter()
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    flat_build = time.perf_counter() - t
    eq = queries[: args.exact_queries]

    flat_mib = n * vectors.shape[1] * 4 / 2**20
    for k in (10, 100):
        _, ms = timed(lambda q, kk: flat.search(q.reshape(1, -1), kk)[1][0], eq, k, warmup=5)
        print(f"exact     k={k:<3}  {pct(ms)}   ({len(eq)} queries; IndexFlatIP {flat_mib:,.0f} MiB)")
    flat.reset()
    if not approximate:
        print(f"build     {flat_build:.1f} s (IndexFlatIP.add)")
        return

    t = time.perf_counter()
    path = write_ann(folder, vectors, config)
    build = time.perf_counter() - t
    assert path is not None
    print(f"build     {build:.1f} s ({describe(config, n)}; trained, filled and written)")
    del vectors
    before = rss_mb()
    mapped = np.load(folder / "vectors.npy", mmap_mode="r")
    ann = AnnIndex(path, mapped, params)
    loaded = rss_mb()

    def approx(q: np.ndarray, k: int, allowed: np.ndarray = everything, bitmap: np.ndarray | None = None) -> np.ndarray:
        return ann.search(q, k, allowed, int(allowed.sum()), bitmap)[1]

    for k in (10, 100):
        found, ms = timed(approx, queries, k)
        rec = f"recall@{k} {recall(found, truth, k):.4f}"
        if k > 10:
            rec += f"  recall@10 {recall(found, truth, 10):.4f}"
        print(f"ann       k={k:<3}  {pct(ms)}   {rec}")
    queried = rss_mb()
    (anon_loaded, file_loaded), (anon_queried, file_queried) = loaded - before, queried - before
    print(
        f"memory    ann.faiss {path.stat().st_size / 2**20:,.0f} MiB: the faiss structure (codes, ids, centroids), "
        f"memory-mapped. RSS growth: private +{anon_loaded:,.0f} MiB after loading, +{anon_queried:,.0f} MiB after "
        f"the queries; mapped file pages +{file_loaded:,.0f} / +{file_queried:,.0f} MiB (ann.faiss and the "
        f"vectors.npy rows re-scored: page cache, shared and reclaimable)"
    )
    rng = np.random.default_rng(2)
    for label, share in (("10% deleted", 0.9), ("filter 2%", 0.02)):
        allowed = rng.random(n) < share
        bitmap = np.packbits(allowed, bitorder="little")
        sub_truth = exact_top(mapped, queries, 10, allowed)
        found, ms = timed(lambda q, k, a=allowed, b=bitmap: approx(q, k, a, b), queries, 10)
        assert all(allowed[f].all() for f in found)
        print(f"{label:<11} k=10   {pct(ms)}   recall@10 {recall(found, sub_truth, 10):.4f}")
    if args.sweep:
        sweep(ann, params, queries, truth, everything)


def sweep(ann: AnnIndex, params: AnnParams, queries: np.ndarray, truth: np.ndarray, everything: np.ndarray) -> None:
    knob = "nprobe" if ann.is_ivf else "ef_search"
    values = (4, 8, 16, 32, 64, 128) if ann.is_ivf else (16, 32, 64, 128, 256)
    settings = [(knob, v, {knob: v}) for v in values] + [("rerank", r, {"rerank": r}) for r in (1, 2, 4, 8)]
    for name, value, change in settings:
        ann.params = replace(params, **change)
        line = f"  {name}={value:<4}"
        for k in (10, 100):
            found, ms = timed(lambda q, kk: ann.search(q, kk, everything, len(everything), None)[1], queries, k)
            line += f"  k={k}: p50 {np.percentile(ms, 50):5.2f} ms recall@{k} {recall(found, truth, k):.4f}"
        print(line)
    ann.params = params


def describe(config: AnnConfig, n: int) -> str:
    if config.kind == "ivf":
        return f"IVF{config.lists(n)},SQ8, {min(n, config.train_per_list * config.lists(n)):,} training rows"
    return f"HNSW{config.hnsw_m},SQ8, efConstruction {config.hnsw_ef_construction}"


def main() -> int:
    args = parse_args()
    if not (BBC.is_file() and SQUAD.is_dir()):
        print(f"data not found under {SHARED}: nothing to measure (it lives in ../shared/data beside the checkout)")
        return 0
    import faiss

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    base = base_vectors()
    queries = query_vectors(args.queries)
    sizes = [int(s) for s in args.sizes.split(",")]
    cos = 1 / np.sqrt(1 + args.noise**2)
    print(
        f"{len(base):,} base passages (BBC chunks + SQuAD paragraphs), {len(queries)} SQuAD questions, "
        f"copies perturbed by noise of norm {args.noise} (cosine to the original ~{cos:.2f}); "
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"defaults: QA_ANN_MIN_ROWS={args.min_rows}  kind={args.kind}  nprobe={args.nprobe}  ef={args.ef}  "
        f"rerank={args.rerank} (x k candidates re-scored exactly)"
    )
    for n in sizes:
        measure(n, base, queries, args)
        shutil.rmtree(args.workdir / f"n{n}", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
