"""A real `qa serve` process over a copy of the sample corpus: health, readiness, cited search,
request ids, and a commit by another process (`qa index`) served without a restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from index.loaders import load_corpus
from tests.conftest import SAMPLE_CORPUS, StartServer, run_qa_index

pytestmark = pytest.mark.slow

NEW_ARTICLE = """\
---
title: "Lunar freight start-up books its first cargo flight"
url: https://wire.example.com/2026/05/lunar-freight-first-cargo
published: 2026-05-04
source: Example Wire
---
A lunar freight start-up called Selenecargo has booked its first cargo flight to the Moon.
The flight will carry seismometers and a small greenhouse experiment for three universities.
"""


def assert_verbatim(corpus: Path, results: list[dict[str, object]]) -> None:
    texts = {a.id: a.text for a in load_corpus(corpus).articles}
    for r in results:
        start, end = int(r["start"]), int(r["end"])  # type: ignore[call-overload]
        assert texts[str(r["article_id"])][start:end] == r["quote"], r


def test_served_process_answers_and_picks_up_a_commit_from_another_process(
    tmp_path: Path, live_server: StartServer
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    n_articles = len(load_corpus(corpus).articles)
    server = live_server(corpus)

    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        r = http.get("/health")
        assert r.status_code == 200 and r.json() == {"status": "ok"}

        ready = http.get("/ready").json()
        assert ready["status"] == "ready" and ready["index_version"] == 1
        assert ready["articles"] == n_articles and ready["chunks"] >= n_articles

        r = http.post("/search", json={"query": "Anthropic talks with the Trump administration", "top_k": 3})
        assert r.status_code == 200
        body = r.json()
        results = body["results"]
        assert body["index_version"] == 1 and len(results) == 3
        assert [c["n"] for c in results] == [1, 2, 3]
        assert results[0]["article_id"] == "ai-policy/anthropic-administration-talks"
        assert str(results[0]["url"]).startswith("https://") and results[0]["title"]
        assert_verbatim(corpus, results)

        for empty in ("", "   "):
            r = http.post("/search", json={"query": empty})
            assert r.status_code == 422, (empty, r.text)

        r = http.get("/health", headers={"X-Request-ID": "trace-me-42"})
        assert r.headers["x-request-id"] == "trace-me-42"
        generated = http.get("/health").headers.get("x-request-id", "")
        assert generated and generated != "trace-me-42"

        # Another process commits a new article; the running server serves it within 3 s.
        (corpus / "technology" / "lunar-freight.md").write_text(NEW_ARTICLE, encoding="utf-8")
        run_qa_index(corpus, server.index_dir, server.env)
        committed = time.monotonic()
        while (ready := http.get("/ready").json())["index_version"] < 2:
            assert time.monotonic() - committed < 3.0, f"commit 2 not served within 3 s: {ready}"
            assert server.process.poll() is None, server.log()
            time.sleep(0.05)
        assert ready["index_version"] == 2 and ready["articles"] == n_articles + 1

        r = http.post("/search", json={"query": "Selenecargo lunar freight cargo flight", "top_k": 2})
        assert r.status_code == 200 and r.json()["index_version"] == 2
        top = r.json()["results"][0]
        assert top["article_id"] == "technology/lunar-freight"
        assert top["url"] == "https://wire.example.com/2026/05/lunar-freight-first-cargo"
        assert_verbatim(corpus, r.json()["results"])

    assert server.process.poll() is None, "the server exited during the test:\n" + server.log()


def test_two_replicas_over_one_index_serve_a_commit_made_by_a_third_process(
    tmp_path: Path, live_server: StartServer
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    first = live_server(corpus)  # builds the index
    second = live_server(corpus, index_dir=first.index_dir)  # a replica over the same folder
    replicas = [first, second]
    for server in replicas:
        assert httpx.get(f"{server.url}/ready").json()["index_version"] == 1

    # The one writer is a third process.
    (corpus / "technology" / "lunar-freight.md").write_text(NEW_ARTICLE, encoding="utf-8")
    run_qa_index(corpus, first.index_dir, first.env)
    committed = time.monotonic()
    for server in replicas:
        while httpx.get(f"{server.url}/ready").json()["index_version"] < 2:
            assert time.monotonic() - committed < 3.0, f"{server.url} did not serve commit 2 within 3 s"
            time.sleep(0.05)
        r = httpx.post(f"{server.url}/search", json={"query": "Selenecargo lunar freight cargo flight", "top_k": 1})
        assert r.status_code == 200 and r.json()["index_version"] == 2
        assert r.json()["results"][0]["article_id"] == "technology/lunar-freight"
        assert server.process.poll() is None, server.log()
