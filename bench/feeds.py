"""Feeds benchmark: how soon an entry that appears in a feed is searchable through a real
`qa serve`, and what a poll with nothing new costs.

1. Entry to searchable. A local feed server (tests/feedserver.py, in this process) serves an RSS
   feed and its article pages; `qa serve` (the default model unless QA_MODEL says otherwise)
   polls it every --every seconds. For each of --entries new entries, a page with a word found
   nowhere else is published and the entry added to the feed; then /search is asked for that word
   every 20 ms until the article answers. Two figures per entry:
   - from the poll that fetched the feed document holding the entry (the feed server's clock,
     which is this process's) to searchable: fetching the feed and the page, extracting, writing
     the file, the reconcile (embed, commit) and the reload. This is the pipeline, the poll
     interval set aside.
   - from the entry appearing to searchable: the above plus the wait for the next poll, which is
     between 0 and the interval.
2. A poll with nothing new, in this process over --feeds feeds of --feed-entries entries each,
   after a first poll that fetched everything: the round's time, its requests, and the bytes on
   the wire (request and answer headers; every answer is a 304 without a body), next to what
   fetching every feed document again would cost. Then the same with feeds that did change
   (new validators) but hold no new entry: each document is read and parsed, nothing is written.

    .venv/bin/python bench/feeds.py [--entries 10] [--every 2] [--feeds 20] [--rounds 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

import httpx

from bench.serving import qa_env, served
from index.feeds.config import add_feed
from index.feeds.fetch import FetchConfig
from index.feeds.poll import Poller
from tests.feedserver import Entry, FeedServer

WORDS = "harbour tolls rose again as the port authority blamed fuel costs and a shortage of pilots".split()


def page_text(n: int, word: str) -> str:
    return f"Story {n}: " + " ".join(WORDS[(n + i) % len(WORDS)] for i in range(40)) + f". The {word} was unveiled."


def entry(n: int) -> Entry:
    return Entry(f"urn:bench:{n}", f"Bench story {n}", f"/news/{n}", f"2026-03-{1 + n % 28:02d}T08:00:00+00:00")


def to_searchable(args: argparse.Namespace, work: Path, server: FeedServer) -> None:
    corpus = work / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    entries = [entry(n) for n in range(3)]
    for n in range(3):
        server.page(f"/news/{n}", f"Bench story {n}", page_text(n, f"seedword{n}"))
    feeds = work / "feeds.toml"
    add_feed(feeds, server.feed("/rss", "rss", "Bench Wire", entries), source="Bench Wire", every=f"{args.every}s")
    env = qa_env(keep_qa=True, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(work / "index"))
    env |= {"QA_FEEDS_FILE": str(feeds), "QA_FETCH_ALLOW_PRIVATE": "true"}
    subprocess.run([sys.executable, "-m", "news_qa", "index", "--quiet"], env=env, check=True, cwd=work)
    pipeline, total = [], []
    with served(env) as qa, httpx.Client(base_url=qa.url, timeout=30) as client:
        print(f"qa serve ready in {qa.ready_s:.1f} s; feed polled every {args.every:g} s")
        _wait_for(client, "seedword2")  # the first poll is in
        for n in range(3, 3 + args.entries):
            word = f"zorbulon{n}"
            server.page(f"/news/{n}", f"Bench story {n}", page_text(n, word))
            entries.insert(0, entry(n))
            appeared = time.monotonic()
            server.feed("/rss", "rss", "Bench Wire", entries)
            found = _wait_for(client, word)
            fetched = next(s.at for s in server.requests_to("/rss") if s.at >= appeared and s.status == 200)
            pipeline.append((found - fetched) * 1000)
            total.append((found - appeared) * 1000)
    print(f"\nentry to searchable via qa serve ({args.entries} entries, one at a time):")
    print(f"  from the poll that fetched it: median {statistics.median(pipeline):.0f} ms, max {max(pipeline):.0f} ms")
    print(f"  from its appearance:           median {statistics.median(total):.0f} ms, max {max(total):.0f} ms")
    wait = f"0 to {args.every * 1000:.0f} ms"
    print(f"  (the second includes the wait for the next poll, {wait}; /search asked every 20 ms)")


def _wait_for(client: httpx.Client, word: str, timeout: float = 120) -> float:
    """When /search first found the article holding `word` (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = client.post("/search", json={"query": word, "top_k": 1}).json().get("results", [])
        if hits and word in hits[0]["quote"]:
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"{word!r} was not searchable in time")


def idle_poll(args: argparse.Namespace, work: Path, server: FeedServer) -> None:
    corpus, feeds = work / "idle" / "corpus", work / "idle" / "feeds.toml"
    corpus.mkdir(parents=True)
    for f in range(args.feeds):
        items = _entries_of(f, args.feed_entries)
        for n in range(args.feed_entries):
            server.page(f"/idle/{f}/{n}", f"Story {n}", page_text(n, f"idle{f}x{n}"))
        add_feed(feeds, server.feed(f"/feed{f}.xml", "rss", f"Feed {f}", items), every="1s")
    poller = Poller(corpus, feeds, FetchConfig(allow_private=True))
    first = poller.poll(force=True)
    doc_bytes = sum(len(server.routes[f"/feed{f}.xml"].body) for f in range(args.feeds))
    print(
        f"\nfirst poll of {args.feeds} feeds x {args.feed_entries} entries: {len(first.written)} articles, "
        f"{first.requests} requests, {first.bytes_received:,} body bytes, {first.took_s * 1000:.0f} ms"
    )
    for label, change in (("nothing new (304)", False), ("new validators, no new entry", True)):
        times, requests, wire, bodies = [], [], [], []
        for _ in range(args.rounds):
            if change:
                for f in range(args.feeds):
                    before = server.routes[f"/feed{f}.xml"].body
                    server.feed(f"/feed{f}.xml", "rss", f"Feed {f}", _entries_of(f, args.feed_entries))
                    assert server.routes[f"/feed{f}.xml"].body == before  # the same entries, new validators
            mark = len(server.seen)
            report = poller.poll(force=True)
            assert not report.written and not report.failed, report
            times.append(report.took_s * 1000)
            requests.append(report.requests)
            bodies.append(report.bytes_received)
            wire.append(sum(s.wire + s.sent for s in server.seen[mark:]))
        print(f"a poll of {args.feeds} feeds, {label}, {args.rounds} rounds:")
        p90 = sorted(times)[int(0.9 * len(times))]
        print(
            f"  {statistics.median(times):.1f} ms a round at the median (p90 {p90:.1f} ms), "
            f"{statistics.median(requests):.0f} requests, {statistics.median(bodies):,.0f} body bytes, "
            f"{statistics.median(wire):,.0f} bytes on the wire; 0 articles written"
        )
    print(f"  fetching every feed document again would move {doc_bytes:,} body bytes a round")


def _entries_of(f: int, n_entries: int) -> list[Entry]:
    return [
        Entry(f"urn:f{f}:{n}", f"Story {n}", f"/idle/{f}/{n}", "2026-03-01T08:00:00+00:00") for n in range(n_entries)
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entries", type=int, default=10, help="new entries timed one after another")
    p.add_argument("--every", type=int, default=2, help="the feed's poll interval under qa serve, seconds")
    p.add_argument("--feeds", type=int, default=20, help="feeds in the idle-poll measurement")
    p.add_argument("--feed-entries", type=int, default=20, help="entries per feed there")
    p.add_argument("--rounds", type=int, default=20, help="idle polls measured")
    args = p.parse_args()
    server = FeedServer()
    try:
        with tempfile.TemporaryDirectory(prefix="qa-bench-feeds-") as tmp:
            idle_poll(args, Path(tmp), server)
            to_searchable(args, Path(tmp), server)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
