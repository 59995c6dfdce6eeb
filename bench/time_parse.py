"""What reading time in a question costs: `qa.search.when.parse` over the hand-written questions
of datasets/news_time and datasets/news_qa, each parsed many times; prints p50/p99 in µs.

    .venv/bin/python bench/time_parse.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

from qa.eval.timeset import materialise
from qa.search.when import parse


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=50)
    args = p.parse_args()
    now = dt.date.today()
    questions = []
    for name, key in (("news_time", "question"), ("news_qa", "question")):
        path = REPO / "datasets" / name / "questions.jsonl"
        questions += [materialise(json.loads(line)[key], now) for line in path.read_text().splitlines() if line]
    parse(questions[0], now)  # compiles nothing new: the patterns compile at import
    us = []
    for _ in range(args.rounds):
        for q in questions:
            t0 = time.perf_counter()
            parse(q, now)
            us.append((time.perf_counter() - t0) * 1e6)
    us.sort()
    windows = sum(parse(q, now).window is not None for q in questions)
    latest = sum(parse(q, now).latest for q in questions)
    print(
        f"{len(questions)} questions ({windows} with a window, {latest} 'latest'), {len(us)} parses: "
        f"p50 {statistics.median(us):.0f} µs, p99 {us[int(0.99 * len(us))]:.0f} µs, max {us[-1]:.0f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
