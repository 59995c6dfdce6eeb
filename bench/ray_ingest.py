"""Ray ingest benchmark: `qa index` in-process vs `qa index --ray local` with 1 and 2 workers.

In one run, on the same first N BBC News articles (../shared/data/bbc_news/articles.jsonl), each
into a fresh index with the default embedding backend (QA_* variables are ignored):
  - wall clock of the whole `qa index` command and chunks/s over it;
  - chunks/s of the ingest phase alone, as the writer logs it (chunking and embedding, from the
    first batch handed out to the last one back; for Ray this includes starting the workers);
  - Ray's overhead on a small batch: the wall clock of `qa index --ray local` minus that of a local
    `qa index`, both on the same few articles (start-up of Ray and of the workers' models).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ray_ingest.py [--articles 300] [--small 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/http.py would shadow the `http` module Ray imports

from bench.serving import BBC, QA, qa_env

INGEST_LINE = re.compile(r"into (\d+) chunks in ([\d.]+) s \(([\d.]+) chunks/s, (\d+) workers?\)")
READY_LINE = re.compile(r"Ray workers ready in ([\d.]+) s")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=300, help="BBC articles indexed by each run (default 300)")
    p.add_argument("--small", type=int, default=5, help="articles of the small batch for the overhead (default 5)")
    p.add_argument("--workdir", type=Path, help="work folder (default: a temporary folder, removed)")
    return p.parse_args()


def write_corpus(folder: Path, n: int, skip: int = 0) -> int:
    folder.mkdir(parents=True)
    lines = BBC.read_text(encoding="utf-8").splitlines()[skip : skip + n]
    (folder / "bbc.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def qa_index(corpus: Path, index_dir: Path, models: Path, *ray: str) -> dict[str, float]:
    """One `qa index` run: wall clock, chunks, and the ingest line the writer logs."""
    env = qa_env(QA_MODEL_CACHE_DIR=str(models))
    cmd = [str(QA), "index", "--corpus", str(corpus), "--index-dir", str(index_dir), *ray]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=corpus.parent, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    found = INGEST_LINE.search(proc.stderr)
    if not found:
        sys.exit(f"no ingest line in the log of {' '.join(cmd)}:\n{proc.stderr}")
    chunks, seconds, _rate, _workers = found.groups()
    ready = READY_LINE.search(proc.stderr)
    start_up = float(ready.group(1)) if ready else 0.0  # Ray and its workers starting
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    live = sum(s["rows"] for s in manifest["segments"]) - sum(len(v) for v in manifest["deleted"].values())
    if live != int(chunks):
        sys.exit(f"{' '.join(cmd)}: {live} live chunks but {chunks} made")
    work = float(seconds) - start_up
    return {"wall": wall, "chunks": int(chunks), "start_up": start_up, "work_s": work, "rate": int(chunks) / work}


def main() -> None:
    args = parse_args()
    if not BBC.is_file():
        sys.exit(f"the BBC News data is not at {BBC}: this benchmark needs ../shared/data beside the checkout")
    if importlib.util.find_spec("ray") is None:
        sys.exit("Ray is not installed: pip install -e '.[ray]'")
    work = args.workdir.resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="bench-ray-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(work, args.articles, args.small)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, n_articles: int, n_small: int) -> None:
    models = work / "models"
    big, small = work / "corpus", work / "small"
    for folder in (big, small, *work.glob("index-*")):
        shutil.rmtree(folder, ignore_errors=True)
    n = write_corpus(big, n_articles)
    write_corpus(small, n_small, skip=n_articles)
    print(f"{n} BBC articles; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start")
    qa_index(small, work / "index-warm", models)  # exports the ONNX model once, outside the timings

    rows = [
        ("local (in-process)", qa_index(big, work / "index-local", models)),
        ("--ray local, 1 worker", qa_index(big, work / "index-ray1", models, "--ray", "local", "--ray-workers", "1")),
        ("--ray local, 2 workers", qa_index(big, work / "index-ray2", models, "--ray", "local", "--ray-workers", "2")),
    ]
    base = rows[0][1]
    print(
        f"\n{'run':<24}{'chunks':>7}{'wall s':>8}{'chunks/s':>10}{'start-up s':>12}{'work s':>8}"
        f"{'work chunks/s':>15}{'vs local':>10}"
    )
    for label, r in rows:
        print(
            f"{label:<24}{r['chunks']:>7}{r['wall']:>8.1f}{r['chunks'] / r['wall']:>10.1f}{r['start_up']:>12.1f}"
            f"{r['work_s']:>8.1f}{r['rate']:>15.1f}{r['rate'] / base['rate']:>9.2f}x"
        )

    local = qa_index(small, work / "index-small-local", models)
    on_ray = qa_index(small, work / "index-small-ray", models, "--ray", "local", "--ray-workers", "2")
    print(
        f"\nRay overhead on {n_small} articles ({local['chunks']} chunks): local {local['wall']:.1f} s, "
        f"--ray local {on_ray['wall']:.1f} s: +{on_ray['wall'] - local['wall']:.1f} s "
        "(Ray start-up, worker start-up and model loads)"
    )
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
