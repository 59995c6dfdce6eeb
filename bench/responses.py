"""Record what a real `qa serve` answers, for comparing two versions of the code: the full
POST /search and POST /ask JSON (without `took_ms`) for a fixed set of queries over the BBC index.

    .venv/bin/python bench/responses.py --out before.jsonl            # on the old commit
    .venv/bin/python bench/responses.py --out after.jsonl --workdir .qa-bench/bbc-after
    cmp before.jsonl after.jsonl && echo identical

The queries: the hand-written questions of bench/http.py and the titles of 110 BBC articles drawn
with a fixed seed, each asked at /search and at /ask (top_k 5 and 10). A fresh --workdir also
re-checks the write side: the index is built by the code under test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

import httpx

from bench.http import QUESTIONS
from bench.serving import BBC, bbc_index, qa_env, served


def queries() -> list[str]:
    with open(BBC, encoding="utf-8") as f:
        titles = [json.loads(line)["title"] for line in f if line.strip()]
    return QUESTIONS + random.Random(7).sample(titles, 110)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=REPO / ".qa-bench" / "bbc")
    p.add_argument("--out", type=Path, required=True, help="JSON Lines file to write")
    args = p.parse_args()
    if not BBC.is_file():
        print(f"BBC data not found at {BBC}: nothing to record")
        return 2
    env = bbc_index(args.workdir, qa_env())
    n = 0
    with served(env) as server, httpx.Client(base_url=server.url, timeout=60) as client, open(args.out, "w") as out:
        for q in queries():
            for route, body in (
                ("/search", {"query": q}),
                ("/search", {"query": q, "top_k": 10}),
                ("/ask", {"question": q}),
            ):
                r = client.post(route, json=body)
                data = r.json()
                data.pop("took_ms", None)
                out.write(json.dumps({"route": route, "request": body, "status": r.status_code, "body": data}) + "\n")
                n += 1
    print(f"{n} responses written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
