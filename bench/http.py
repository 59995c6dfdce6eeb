"""HTTP latency benchmark: /search and /ask over an index of the 2,225 BBC News articles.

Builds the index once in --workdir (default .qa-bench/bbc, reused by later runs), starts a real
`qa serve` process on a free port, and prints p50/p99 latency and requests/s of POST /search and
POST /ask at concurrency 1 and 8. Targets on a 2-core machine: /search p50 <= 15 ms and
p99 <= 40 ms at concurrency 1 with the default backend.

    .venv/bin/python bench/http.py [--requests 200] [--workdir .qa-bench/bbc]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

import httpx

DATA = REPO.parent / "shared" / "data" / "bbc_news" / "articles.jsonl"
QA = Path(sys.executable).with_name("qa")
QUESTIONS = [
    "What happened to Time Warner profits?",
    "Why did the dollar fall against the euro?",
    "Who won the Australian Open?",
    "What did the government say about ID cards?",
    "How did mobile phone sales change?",
    "Which film won at the Oscars?",
    "What are the plans for broadband?",
    "Why did oil prices rise?",
    "Who is the new England coach?",
    "What did Tony Blair say about the election?",
    "How are video games affecting children?",
    "What happened to the airline's shares?",
    "Who was charged with doping?",
    "What is the budget deficit?",
    "How many jobs were cut?",
    "What did the music industry sue over?",
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=REPO / ".qa-bench" / "bbc")
    p.add_argument("--requests", type=int, default=200, help="requests per route and concurrency")
    args = p.parse_args()
    if not DATA.is_file():
        print(f"BBC data not found at {DATA}: nothing to measure")
        return 2
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "QA_CORPUS_DIR": str(args.workdir / "corpus"),
        "QA_INDEX_DIR": str(args.workdir / "index"),
        "QA_MAX_ARTICLE_BYTES": str(DATA.stat().st_size * 2),
    }
    (args.workdir / "corpus").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA, args.workdir / "corpus" / "articles.jsonl")  # the layout bench/index.py leaves
    t0 = time.perf_counter()
    subprocess.run([str(QA), "index", "--quiet"], env=env, check=True)
    print(f"index ready in {time.perf_counter() - t0:.1f} s (built once, then reused)")

    port = _free_port()
    server = subprocess.Popen([str(QA), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        _wait_ready(base, server)
        print(f"server start to /ready: {time.perf_counter() - started:.1f} s")
        print(f"\n{'route':<8}{'conc':>5}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}{'errors':>8}")
        for route, key in (("/search", "query"), ("/ask", "question")):
            for concurrency in (1, 8):
                p50, p99, rps, errors = _load(base, route, key, concurrency, args.requests)
                print(f"{route:<8}{concurrency:>5}{p50:>9.1f}{p99:>9.1f}{rps:>8.1f}{errors:>8}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


def _load(base: str, route: str, key: str, concurrency: int, n: int) -> tuple[float, float, float, int]:
    with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        for q in QUESTIONS:  # warm up: model, caches, connections
            client.post(route, json={key: q})

        def one(i: int) -> tuple[float, bool]:
            t = time.perf_counter()
            r = client.post(route, json={key: QUESTIONS[i % len(QUESTIONS)] + f" ({i})"})
            return (time.perf_counter() - t) * 1000, r.status_code == 200

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(one, range(n)))
        wall = time.perf_counter() - t0
    latencies = sorted(ms for ms, _ in results)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return statistics.median(latencies), p99, n / wall, sum(not ok for _, ok in results)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("qa serve exited before it was ready")
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("qa serve was not ready in time")


if __name__ == "__main__":
    sys.exit(main())
