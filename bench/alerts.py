"""What topic alerts cost: one newly indexed article checked against N followed topics.

Over the index of the 2,225 BBC News articles (built once in --workdir, shared with bench/http.py),
each run starts a fresh alert store whose baseline lacks one article, saves N follows (BBC titles
as topics, in N/10 channels) and then times the steps of one alerter pass that finds that article:
- observe: compare the loaded commit with the articles the store knows (the one new id becomes an
  arrival);
- match: the arrival against the N topics (`Alerts.due`: topic vectors already embedded, as they
  are after the first pass; the passages' vectors and terms from the index);
- decide: the alerts due, checked against what each channel was sent (`Alerts.deliver`, with a
  post that does nothing).
It prints the median and the slowest of --runs runs for each N, then the cost of embedding a topic
the first time it is checked and of an idle pass (no new commit).

    .venv/bin/python bench/alerts.py [--follows 1,10,100,1000] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

from bench.serving import BBC, bbc_index, qa_env
from bot.alerts import Alerts, commit_stamp
from bot.config import SlackSettings
from bot.follows import AlertStore
from qa.config import Settings
from qa.service import QAService


def titles(n: int, seed: int) -> list[str]:
    with BBC.open(encoding="utf-8") as f:
        distinct = sorted({json.loads(line)["title"] for line in f})
    return random.Random(seed).sample(distinct, n)


def one_run(service: QAService, topics: list[str], new_id: str, folder: Path) -> tuple[float, float, float, int]:
    """(observe, match, decide) in ms, and the alerts due, for one new article and these follows."""
    snap = service.snapshot()
    store = AlertStore(folder / "alerts.sqlite3")
    articles = {aid: e.hash for aid, e in snap.manifest.articles.items() if aid != new_id}
    store.observe(snap.version - 1, "before", articles)  # the commit before the article came
    for i, topic in enumerate(topics):
        store.follow(f"C{i % max(1, len(topics) // 10)}", topic, "U1")
    alerts = Alerts(service, store, SlackSettings(_env_file=None))  # type: ignore[call-arg]
    t0 = time.perf_counter()
    alerts.observe()
    t1 = time.perf_counter()
    due, _ = alerts.due()
    t2 = time.perf_counter()
    alerts.deliver(due, lambda a: "1.0")
    t3 = time.perf_counter()
    assert store.observed() == commit_stamp(snap.manifest)
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, len(due)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=REPO / ".qa-bench" / "bbc")
    p.add_argument("--follows", default="1,10,100,1000")
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()
    if not BBC.is_file():
        print(f"BBC data not found at {BBC}: nothing to measure")
        return 2
    env = bbc_index(args.workdir, qa_env())
    service = QAService(Settings(index_dir=Path(env["QA_INDEX_DIR"]), corpus_dir=Path(env["QA_CORPUS_DIR"])))
    snap = service.snapshot()
    sizes = [int(n) for n in args.follows.split(",")]
    topics = titles(max(sizes), seed=1)
    t0 = time.perf_counter()
    for t in topics:
        service.query_vector(t)
    embed_ms = (time.perf_counter() - t0) * 1e3 / len(topics)
    ids = random.Random(2).sample(sorted(snap.manifest.articles), args.runs)
    print(f"{snap.article_count} articles, {snap.chunk_count} passages; {service.embedder.name}; {args.runs} runs each")
    print(f"\n{'follows':>8}{'observe ms':>12}{'match ms':>10}{'max':>8}{'decide ms':>11}{'alerts':>8}")
    for n in sizes:
        runs = []
        for article_id in ids:
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(one_run(service, topics[:n], article_id, Path(tmp)))
        observe, match, decide, due = (list(x) for x in zip(*runs, strict=True))
        print(
            f"{n:>8}{statistics.median(observe):>12.2f}{statistics.median(match):>10.2f}{max(match):>8.2f}"
            f"{statistics.median(decide):>11.2f}{sum(due) / len(due):>8.1f}"
        )
    print(f"\nfirst check of a topic: its embedding, {embed_ms:.1f} ms (then cached, QA_QUERY_CACHE_SIZE)")
    with tempfile.TemporaryDirectory() as tmp:
        alerts = Alerts(service, AlertStore(Path(tmp) / "alerts.sqlite3"), SlackSettings(_env_file=None))  # type: ignore[call-arg]
        alerts.observe()
        t0 = time.perf_counter()
        for _ in range(100):
            alerts.due()
        print(f"an idle pass (no new commit): {(time.perf_counter() - t0) * 10:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
