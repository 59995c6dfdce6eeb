"""Readers never see a torn or older index while a writer keeps committing.

One TestClient (lifespan running, so the commit poller is on) is shared by four client threads that
POST /search and /ask without pause, while a writer thread adds 20 articles: even steps drop a
Markdown file into the corpus and reconcile as `qa index` in another process would (the poller
picks the commit up), odd steps go through POST /articles (the service loads its own commit before
answering). Starlette's TestClient is safe to share between threads once entered: every request
goes through the one anyio BlockingPortal, whose `call` is meant to be used from foreign threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.config import open_writer
from index.embedders import HashingEmbedder
from index.loaders import load_corpus
from index.manifest import read_manifest
from qa.config import Settings
from qa.http.app import create_app
from tests.conftest import API_KEY, WriteArticle, eventually, hash_service, index_now

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {API_KEY}"}
COMMITS = 20
CLIENTS = 4
FRESH_REQUESTS = 4  # requests started after a commit that must finish before the writer goes on
DEADLINE = 40.0  # seconds; a stuck run fails instead of hanging

SYLLABLES = "ka lo mi zu re ta vo ni pe su ga do".split()
GENERAL_QUERIES = [
    "interest rates central bank",
    "chips export licence Malaysia",
    "power demand data centres gas turbines",
    "harbour committee exports imports",
]


def unique_words(i: int) -> list[str]:
    """Four invented words that appear in article `i` only (the hashing embedder is lexical)."""
    return [f"{SYLLABLES[(i + k) % 12]}{SYLLABLES[(i * 5 + k * 7) % 12]}x{i}q{k}" for k in range(4)]


def article_text(i: int) -> str:
    w = unique_words(i)
    return (
        f"The {w[0]} harbour committee met on Tuesday to review shipping. "
        f"Officials said exports of {w[1]} rose by {i + 3}% this quarter. "
        f"Imports of {w[2]} fell, and the {w[3]} terminal will close for repairs."
    )


@dataclass
class Observed:
    """What one client thread saw, in order."""

    versions: list[int] = field(default_factory=list)
    # (generation when the request started, index_version of the response)
    by_generation: list[tuple[int, int]] = field(default_factory=list)
    spans: list[tuple[str, int, int, str]] = field(default_factory=list)  # article_id, start, end, text
    errors: list[str] = field(default_factory=list)


class Gate:
    """Lets the writer wait until the clients have finished some requests started after a commit."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.generation = 0
        self.fresh = 0

    def started(self) -> int:
        with self.cond:
            return self.generation

    def finished(self, generation: int) -> None:
        with self.cond:
            if generation == self.generation:
                self.fresh += 1
                self.cond.notify_all()

    def committed(self) -> int:
        with self.cond:
            self.generation += 1
            self.fresh = 0
            return self.generation

    def wait_for_fresh(self, n: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.fresh >= n, timeout=timeout)


def test_readers_see_consistent_monotonic_versions_while_a_writer_commits(
    app_settings: Settings, write_article: WriteArticle
) -> None:
    settings = app_settings
    write_article("rates.md", "The central bank held interest rates at 3.5% on Wednesday.", source="Daily Ledger")
    write_article("chips.md", "Exporters of AI chips now need a licence to ship to Malaysia.", source="Example Wire")
    write_article("power.md", "Data centres asked for 40 gigawatts of power. Gas turbines are sold out.")
    first_version = index_now(settings)

    gate = Gate()
    writer_done = threading.Event()
    writer_errors: list[str] = []
    added: dict[int, str] = {}  # step -> article id
    committed: list[tuple[int, int, str]] = []  # (generation, version, how)
    observed = [Observed() for _ in range(CLIENTS)]
    t_start = time.monotonic()

    with TestClient(create_app(settings, hash_service)) as client:

        def writer() -> None:
            try:
                for i in range(COMMITS):
                    if i % 2 == 0:
                        article_id = f"live/story-{i:02d}"
                        write_article(f"{article_id}.md", article_text(i), title=f"Harbour report {i}", source="Port")
                        result = open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir, wait=True)
                        assert [a.id for a in result.plan.added] == [article_id]
                        how, new_version = "reconcile", result.index_version
                    else:
                        article_id = f"api/story-{i:02d}"
                        body = {"id": article_id, "title": f"Harbour report {i}", "text": article_text(i)}
                        r = client.post("/articles", json=body, headers=AUTH)
                        assert r.status_code == 200, r.text
                        assert r.json()["added"] == [article_id]
                        how, new_version = "api", r.json()["index_version"]
                    added[i] = article_id
                    generation = gate.committed()
                    committed.append((generation, new_version, how))
                    if not gate.wait_for_fresh(FRESH_REQUESTS, timeout=10):
                        raise AssertionError(f"clients made no progress after commit {i}")
            except BaseException as e:  # reported by the main thread
                writer_errors.append(f"{type(e).__name__}: {e}")
            finally:
                writer_done.set()

        def reader(n: int) -> None:
            seen = observed[n]
            k = 0
            while not writer_done.is_set() and time.monotonic() - t_start < DEADLINE:
                k += 1
                i = (n * 7 + k) % COMMITS
                query = " ".join(unique_words(i)) if k % 3 else GENERAL_QUERIES[k % len(GENERAL_QUERIES)]
                generation = gate.started()
                try:
                    if k % 2:
                        r = client.post("/search", json={"query": query, "top_k": 3})
                    else:
                        r = client.post("/ask", json={"question": f"What did officials say about {query}?"})
                except Exception as e:  # the TestClient re-raises server exceptions
                    seen.errors.append(f"{type(e).__name__}: {e}")
                    gate.finished(generation)
                    continue
                if r.status_code != 200:
                    seen.errors.append(f"{r.status_code}: {r.text[:300]}")
                    gate.finished(generation)
                    continue
                body: dict[str, Any] = r.json()
                version = body["index_version"]
                seen.versions.append(version)
                seen.by_generation.append((generation, version))
                citations = body["results"] if "results" in body else body["citations"]
                seen.spans.extend((c["article_id"], c["start"], c["end"], c["quote"]) for c in citations)
                seen.spans.extend((s["article_id"], s["start"], s["end"], s["text"]) for s in body.get("sentences", []))
                gate.finished(generation)

        threads = [threading.Thread(target=reader, args=(n,), name=f"client-{n}") for n in range(CLIENTS)]
        threads.append(threading.Thread(target=writer, name="writer"))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=DEADLINE + 15)
        assert not any(t.is_alive() for t in threads), "a thread is stuck"
        for n, seen in enumerate(observed):
            assert seen.errors == [], f"client {n}: {seen.errors[:3]}"
        assert writer_errors == []
        assert len(added) == COMMITS

        last_version = read_manifest(settings.index_dir).version
        assert last_version == max(v for _, v, _ in committed)

        # Every version is one that was committed, and never goes backwards within a thread.
        for n, seen in enumerate(observed):
            assert seen.versions, f"client {n} made no request"
            assert all(isinstance(v, int) and first_version <= v <= last_version for v in seen.versions)
            assert seen.versions == sorted(seen.versions), f"client {n} saw versions go backwards"

        # POST /articles answers after the service loaded its commit: requests started later see it.
        for generation, version, how in committed:
            if how == "api":
                later = [v for seen in observed for g, v in seen.by_generation if g >= generation]
                assert later and min(later) >= version
        assert COMMITS % 2 == 0  # so the last commit went through the API and was seen at once
        assert max(v for seen in observed for v in seen.versions) == last_version

        # Every quote and answer sentence is verbatim; articles only get added, so the final corpus
        # holds every text that was ever cited.
        texts = {a.id: a.text for a in load_corpus(settings.corpus_dir).articles}
        spans = {s for seen in observed for s in seen.spans}
        assert spans
        for article_id, start, end, quote in spans:
            assert texts[article_id][start:end] == quote

        # Afterwards each added article is served, and found first by its own words.
        assert eventually(lambda: client.get("/ready").json()["index_version"] == last_version, timeout=2)
        assert client.get("/ready").json()["articles"] == 3 + COMMITS
        for i, article_id in added.items():
            r = client.post("/search", json={"query": " ".join(unique_words(i)), "top_k": 1})
            assert r.status_code == 200
            assert r.json()["results"][0]["article_id"] == article_id, i

    requests_made = sum(len(seen.versions) for seen in observed)
    print(f"{requests_made} requests over {len({v for s in observed for v in s.versions})} versions")
