"""HTTP latency benchmark: /search and /ask over an index of the 2,225 BBC News articles.

Builds the index once in --workdir (default .qa-bench/bbc, reused by later runs), starts a real
`qa serve` process on a free port, and prints p50/p99 latency and requests/s of POST /search and
POST /ask at concurrency 1 and 8. Targets on a 2-core machine: /search p50 <= 15 ms and
p99 <= 40 ms at concurrency 1 with the default backend.

    .venv/bin/python bench/http.py [--requests 200] [--workdir .qa-bench/bbc]
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

import httpx

from bench.serving import bbc_bench_args, bbc_served_env, served

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
    args = bbc_bench_args(__doc__, "requests per route and concurrency")
    if (env := bbc_served_env(args.workdir)) is None:
        return 2
    with served(env) as server:
        print(f"server start to /ready: {server.ready_s:.1f} s")
        print(f"\n{'route':<8}{'conc':>5}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}{'errors':>8}")
        for route, key in (("/search", "query"), ("/ask", "question")):
            for concurrency in (1, 8):
                p50, p99, rps, errors = _load(server.url, route, key, concurrency, args.requests)
                print(f"{route:<8}{concurrency:>5}{p50:>9.1f}{p99:>9.1f}{rps:>8.1f}{errors:>8}")
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


if __name__ == "__main__":
    sys.exit(main())
