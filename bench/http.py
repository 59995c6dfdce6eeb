"""HTTP latency benchmark: /search and /ask over an index of the 2,225 BBC News articles.

Builds the index once in --workdir (default .qa-bench/bbc, reused by later runs), starts a real
`qa serve` process on a free port, and prints p50/p99 latency and requests/s of POST /search and
POST /ask at concurrency 1 and 8, and at concurrency 1 the p50 of each stage of the read core
(from the responses' Server-Timing headers). Targets on a 2-core machine: /search p50 <= 15 ms and
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
        runs = [
            (route, key, concurrency)
            for route, key in (("/search", "query"), ("/ask", "question"))
            for concurrency in (1, 8)
        ]
        for run, (route, key, concurrency) in enumerate(runs):
            p50, p99, rps, errors, stages = _load(server.url, route, key, concurrency, args.requests, run=run)
            print(f"{route:<8}{concurrency:>5}{p50:>9.1f}{p99:>9.1f}{rps:>8.1f}{errors:>8}")
            if concurrency == 1:
                print("  stages p50 ms: " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in stages.items()))
        # The warm-up's questions once more: what a question asked again costs (cached pair scores).
        p50, p99, rps, errors, stages = _load(server.url, "/ask", "question", 1, args.requests, again=True)
        print(f"\n/ask, questions asked before: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors")
        print("  stages p50 ms: " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in stages.items()))
    return 0


def _stages(header: str) -> dict[str, float]:
    """A Server-Timing header ("embed;dur=7.1, dense;dur=0.9") as {stage: ms}."""
    parts = (p.split(";dur=") for p in header.split(",") if ";dur=" in p)
    return {name.strip(): float(ms) for name, ms in parts}


def _load(
    base: str, route: str, key: str, concurrency: int, n: int, *, run: int = 0, again: bool = False
) -> tuple[float, float, float, int, dict[str, list[float]]]:
    """Latency of `n` requests after a warm-up with QUESTIONS. Each asks a question no earlier
    request asked (one of QUESTIONS numbered for this `run` and request), so no cache (query
    vectors, cross-encoder pairs) answers it; with `again`, one of QUESTIONS itself."""
    with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        for q in QUESTIONS:  # warm up: model, caches, connections
            client.post(route, json={key: q})

        def one(i: int) -> tuple[float, bool, dict[str, float]]:
            t = time.perf_counter()
            asked = QUESTIONS[i % len(QUESTIONS)] + ("" if again else f" ({run * 100_000 + i})")
            r = client.post(route, json={key: asked})
            return (time.perf_counter() - t) * 1000, r.status_code == 200, _stages(r.headers.get("server-timing", ""))

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(one, range(n)))
        wall = time.perf_counter() - t0
    latencies = sorted(ms for ms, _, _ in results)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    stages: dict[str, list[float]] = {}
    for _, _, timed in results:
        for stage, ms in timed.items():
            stages.setdefault(stage, []).append(ms)
    return statistics.median(latencies), p99, n / wall, sum(not ok for _, ok, _ in results), stages


if __name__ == "__main__":
    sys.exit(main())
