"""A whole `qa serve` replica at scale: memory, load time and /search latency at N passages.

bench/search_scale.py measures the vector search alone. This measures everything a replica holds
and does: passage rows and texts, BM25 term counts, vectors and approximate indexes, hybrid
retrieval with the sentence reranker, and the HTTP layer.

For each size N it builds an index of N passages from the BBC index that bench/http.py builds
(in .qa-bench/bbc; built here if missing): the BBC rows repeated under new article and chunk ids,
texts unchanged, vectors with a small Gaussian perturbation (re-normalised), written as the
writer writes them (`write_segment`: BM25 term counts, and an approximate index in segments of at
least QA_ANN_MIN_ROWS rows) in segments of at most 250,000 rows, and committed. Then it starts a
real `qa serve` over it and prints the time to /ready, the server's RSS after loading and after
the queries, and /search p50/p99 at concurrency 1 over distinct questions (SQuAD's and BBC titles).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/replica_scale.py [--sizes 100000,1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

from bench.serving import BBC, bbc_index, qa_env, served
from index.ann import AnnConfig
from index.articles import ArticleMeta
from index.chunking import Chunk
from index.manifest import ArticleEntry, Manifest, SegmentEntry, commit_manifest, read_manifest
from index.segments import read_segment, write_segment

SQUAD_QUERIES = REPO.parent / "shared" / "data" / "squad_v1.1_dev" / "beir" / "queries.jsonl"
WORK = REPO / ".qa-bench"
SEGMENT_ROWS = 250_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000", help="passages, comma-separated")
    p.add_argument("--requests", type=int, default=200, help="/search requests per size")
    p.add_argument("--noise", type=float, default=0.02, help="std of the perturbation of repeated vectors")
    return p.parse_args()


MODELS = WORK / ".qa-models"  # one ONNX export for every size, made before any timing


def env_for(index_dir: Path) -> dict[str, str]:
    return qa_env(QA_MODEL_CACHE_DIR=str(MODELS), QA_INDEX_DIR=str(index_dir))


def export_model() -> None:
    """Export (and quantise) the default backend's model into MODELS, so that no measured server
    pays for the export (which imports torch into it)."""
    from qa.config import Settings

    Settings(_env_file=None, model_cache_dir=MODELS).embedder_config().load().embed_query("warm up")


def build(target: Path, source: Path, n: int, noise: float) -> None:
    """An index of `n` passages: the source's live rows repeated under new ids."""
    manifest = read_manifest(source)
    rows: list[Chunk] = []
    vectors: list[np.ndarray] = []
    articles: dict[str, ArticleMeta] = {}
    for entry in manifest.segments:
        seg = read_segment(source, entry.name, lexical=False)
        dead = manifest.deleted.get(entry.name, frozenset())
        keep = [i for i in range(len(seg.rows)) if i not in dead]
        rows += [seg.rows[i] for i in keep]
        vectors.append(np.asarray(seg.vectors[keep]))
        articles |= seg.articles
    base = np.concatenate(vectors)
    rng = np.random.default_rng(7)
    shutil.rmtree(target, ignore_errors=True)
    segments: list[SegmentEntry] = []
    entries: dict[str, ArticleEntry] = {}
    for start in range(0, n, SEGMENT_ROWS):
        size = min(SEGMENT_ROWS, n - start)
        picks = [(start + i) // len(rows) for i in range(size)], [(start + i) % len(rows) for i in range(size)]
        seg_rows = []
        metas: dict[str, ArticleMeta] = {}
        for copy, i in zip(*picks, strict=True):
            r = rows[i]
            aid = f"{r.article_id}~{copy}"
            seg_rows.append(Chunk((r.id * 1_000_003 + copy) % (1 << 63), aid, r.ordinal, r.start, r.end, r.text, ""))
            if aid not in metas:
                metas[aid] = replace(articles[r.article_id], id=aid)
        noisy = base[picks[1]] + rng.normal(0, noise, (size, base.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        name = write_segment(target, seg_rows, noisy, list(metas.values()), AnnConfig())
        segments.append(SegmentEntry(name, size))
        entries |= {aid: ArticleEntry("bench", name, "bench") for aid in metas}
        print(f"   segment {len(segments)}: {size} rows", flush=True)
    empty = Manifest.empty(manifest.model, manifest.dim, manifest.chunker)
    commit_manifest(target, empty.next(segments=tuple(segments), articles=entries))


def questions(n: int) -> list[str]:
    out = []
    if SQUAD_QUERIES.is_file():
        with SQUAD_QUERIES.open(encoding="utf-8") as f:
            out = [json.loads(line)["text"] for _, line in zip(range(n), f, strict=False)]
    with BBC.open(encoding="utf-8") as f:
        out += [json.loads(line)["title"] for line in f]
    return out[: n + 20]


def serve(index_dir: Path, queries: list[str]) -> dict[str, float]:
    import httpx

    with served(env_for(index_dir)) as server:
        rss_ready = rss_mib(server.process.pid)
        times = []
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for i, q in enumerate(queries):
                t = time.perf_counter()
                r = http.post("/search", json={"query": q, "top_k": 5})
                if r.status_code != 200:
                    sys.exit(f"/search answered {r.status_code}: {r.text[:200]}")
                if i >= 20:  # the first 20 warm up
                    times.append((time.perf_counter() - t) * 1000)
        ms = np.array(times)
        return {
            "ready_s": server.ready_s,
            "rss_ready": rss_ready,
            "rss_after": rss_mib(server.process.pid),
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
        }


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    args = parse_args()
    if not BBC.is_file():
        print(f"BBC data not found at {BBC}: nothing to measure")
        return 2
    source = Path(bbc_index(WORK / "bbc", env_for(WORK / "bbc" / "index"))["QA_INDEX_DIR"])  # bench/http.py's
    export_model()
    queries = questions(args.requests)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        target = WORK / f"replica-{n}" / "index"
        print(f"{n} passages: building {target} ...", flush=True)
        t = time.perf_counter()
        build(target, source, n, args.noise)
        on_disk = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 2**20
        print(f"   built in {time.perf_counter() - t:.0f} s, {on_disk:.0f} MiB on disk", flush=True)
        results.append((n, serve(target, queries)))
        shutil.rmtree(target.parent, ignore_errors=True)
    print(f"\n{'passages':>10}{'ready s':>9}{'RSS ready MiB':>15}{'RSS after MiB':>15}{'p50 ms':>9}{'p99 ms':>9}")
    for n, r in results:
        print(
            f"{n:>10}{r['ready_s']:>9.1f}{r['rss_ready']:>15.0f}{r['rss_after']:>15.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}"
        )
    print(f"/search at concurrency 1, hybrid, default settings; load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
