"""`qa feeds add|list|remove|poll`, the feed metrics of /metrics, and the background poller of
`qa serve` (in the app's lifespan, and in a real `qa serve` process)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from index.embedders import HashingEmbedder
from index.feeds.config import add_feed, load_feeds
from news_qa.cli import main
from qa.config import Settings
from qa.contract import WriteResult
from qa.http.app import create_app
from qa.live import FeedPoller
from qa.service import QAService
from tests.conftest import StartServer, WriteArticle, eventually, hash_service
from tests.feedserver import Entry, FeedServer
from tests.test_feeds import FED, POWER, two_entries


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_and_remove_edit_the_file_and_keep_its_comments(
    feed_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_env.feeds.write_text(
        '# our feeds\n[[feed]]\nurl = "https://wire.example.com/rss.xml"  # the wire\nevery = "1h"\n', encoding="utf-8"
    )
    code, out, _ = run(capsys, "feeds", "add", "https://ledger.example.org/feed", "--source", "Daily Ledger")
    assert code == 0 and "added daily-ledger" in out
    assert run(capsys, "feeds", "add", "https://example.net/atom", "--every", "30m")[0] == 0
    text = feed_env.feeds.read_text(encoding="utf-8")
    assert text.startswith("# our feeds\n") and "# the wire" in text
    assert [(f.name, f.source, f.every) for f in load_feeds(feed_env.feeds)] == [
        ("wire-example-com-rss", None, "1h"),
        ("daily-ledger", "Daily Ledger", "15m"),
        ("example-net-atom", None, "30m"),
    ]

    code, out, _ = run(capsys, "feeds", "list")
    assert code == 0 and "daily-ledger  https://ledger.example.org/feed  (every 15m" in out
    assert out.count("not polled yet") == 3
    listed = json.loads(run(capsys, "feeds", "list", "--json")[1])
    assert [f["name"] for f in listed] == ["wire-example-com-rss", "daily-ledger", "example-net-atom"]

    assert run(capsys, "feeds", "remove", "Daily Ledger")[0] == 0  # by source
    assert run(capsys, "feeds", "remove", "https://EXAMPLE.net/atom/")[0] == 0  # by URL, canonically
    assert [f.name for f in load_feeds(feed_env.feeds)] == ["wire-example-com-rss"]
    assert "# the wire" in feed_env.feeds.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["feeds", "add", "https://wire.example.com/rss.xml"], "already in"),
        (["feeds", "add", "ftp://example.com/feed"], "only http and https"),
        (["feeds", "add", "https://x.example/feed", "--every", "soon"], "not like 30s, 15m"),
        (["feeds", "remove", "nothing-like-it"], "no feed 'nothing-like-it'"),
    ],
)
def test_bad_edits_are_one_line_each(
    feed_env: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    add_feed(feed_env.feeds, "https://wire.example.com/rss.xml")
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == "" and err.startswith("qa: ") and said in err and err.count("\n") == 1


def test_poll_once_indexes_then_a_second_poll_costs_a_304(
    feed_env: Settings, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    add_feed(feed_env.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)), source="Ledger")
    code, out, _ = run(capsys, "feeds", "poll", "--once")
    assert code == 0, out
    assert "ledger" in out and "2 entries: 2 new, 0 changed, 0 unchanged" in out and "index version 1: 2 added" in out
    hits = json.loads(run(capsys, "search", "central bank interest rates", "--json", "-k", "1")[1])["results"]
    assert hits[0]["source"] == "Ledger" and hits[0]["published"] == "2026-03-18"

    code, out, _ = run(capsys, "feeds", "poll", "--once", "--json")
    report = json.loads(out)
    assert code == 0 and [f["outcome"] for f in report["feeds"]] == ["not modified"]
    assert report["requests"] == 1 and report["bytes_received"] == 0 and report["index"] is None

    code, out, _ = run(capsys, "feeds", "list")
    assert "last success  20" in out and "entries seen 2, articles written 2" in out and "last error" not in out


def test_poll_once_reports_a_failed_feed_and_still_indexes_the_others(
    feed_env: Settings, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    add_feed(feed_env.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)), source="Ledger")
    secret = feed_server.serve("/private.xml", b"down", status=500).replace("//", "//reader:hunter2@")
    add_feed(feed_env.feeds, secret + "?token=abc123", source="Private")
    code, out, err = run(capsys, "feeds", "poll", "--once")
    assert code == 1
    assert "private                  failed        " in out and "HTTP 500" in out
    assert "2 feeds, 1 failed; 2 articles written" in out
    code, listed, _ = run(capsys, "feeds", "list")
    assert "last error" in listed and "HTTP 500 Internal Server Error (1 in a row)" in listed
    state = (feed_env.corpus_dir / "_feeds" / ".state.json").read_text(encoding="utf-8")
    for shown in (out, err, listed, state):
        assert "hunter2" not in shown and "abc123" not in shown
    assert "reader" not in listed and "token=***" in listed


def test_metrics_show_each_feed(feed_settings: Settings, feed_server: FeedServer) -> None:
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)), source="Ledger")
    add_feed(feed_settings.feeds, feed_server.serve("/down.xml", b"", status=500), source="Down")
    settings = feed_settings.model_copy(update={"feeds_poll": False})
    with TestClient(create_app(settings, hash_service)) as client:
        client.app.state.service.poller().poll()
        text = client.get("/metrics").text
    assert 'qa_feed_articles_written_total{feed="ledger"} 2.0' in text
    assert 'qa_feed_entries_seen_total{feed="ledger"} 2.0' in text
    assert 'qa_feed_last_success_timestamp_seconds{feed="ledger"}' in text
    assert 'qa_feed_last_error_timestamp_seconds{feed="down",kind="http_status"}' in text
    assert 'qa_feed_failures{feed="down"} 1.0' in text and 'qa_feed_failures{feed="ledger"} 0.0' in text
    assert "127.0.0.1" not in "".join(line for line in text.splitlines() if line.startswith("qa_feed"))


def test_the_service_polls_in_the_background_and_stops_cleanly(
    feed_settings: Settings, feed_server: FeedServer, write_article: WriteArticle
) -> None:
    write_article("seed.md", "A seed article about the weather.")
    entries = two_entries(feed_server)
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", entries), source="Ledger", every="1s")
    with TestClient(create_app(feed_settings, hash_service)) as client:

        def found(query: str) -> str | None:
            results = client.post("/search", json={"query": query, "top_k": 1}).json().get("results") or []
            return results[0]["title"] if results else None

        assert eventually(lambda: found("central bank interest rates") == "Fed holds rates", timeout=20)
        feed_server.page("/news/power", "Power demand", *POWER)
        fresh = Entry("urn:ledger:power", "Power demand", "/news/power", "2026-03-20T08:00:00+00:00")
        feed_server.feed("/rss", "rss", "Ledger", [fresh, *entries])
        assert eventually(lambda: found("gigawatts power turbines") == "Power demand", timeout=20)
        conditional = [s for s in feed_server.requests_to("/rss") if "if-none-match" in s.headers]
        assert conditional  # later polls were conditional
    assert not [t for t in threading.enumerate() if t.name == "feed-poller"]


class Reindex:
    """The service's reindex, counted."""

    def __init__(self, service: QAService) -> None:
        self.service = service
        self.calls = 0

    def __call__(self) -> WriteResult:
        self.calls += 1
        return self.service.reindex()


def test_the_feed_poller_idles_without_feeds_and_survives_a_broken_file(
    feed_settings: Settings, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    svc = QAService(feed_settings.model_copy(update={"answer_scorer": "embedding"}), HashingEmbedder())
    reindex = Reindex(svc)
    poller = FeedPoller(svc.poller(), reindex)
    assert poller.round() == FeedPoller.IDLE_S and not (feed_settings.corpus_dir / "_feeds").exists()
    feed_settings.feeds.write_text("[[feed]]\nurl = 'gopher://old'\n", encoding="utf-8")
    assert poller.round() == poller.round() == FeedPoller.IDLE_S
    assert [r.message for r in caplog.records].count(
        f"feeds: feeds file {feed_settings.feeds}, feed 1: only http and https URLs are fetched (scheme: 'gopher')"
    ) == 1  # said once, not every round
    feed_settings.feeds.unlink()
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)), every="1m")
    assert poller.round() == FeedPoller.IDLE_S and reindex.calls == 1  # polled, indexed; due again in a minute
    assert poller.round() == FeedPoller.IDLE_S and reindex.calls == 1  # not due: nothing fetched or indexed
    assert len(svc.snapshot().manifest.articles) == 2


@pytest.mark.slow
def test_a_real_qa_serve_polls_its_feeds(
    live_server: StartServer, feed_server: FeedServer, tmp_path: Path, write_article: WriteArticle, corpus_dir: Path
) -> None:
    write_article("seed.md", "A seed article about the weather.")
    feeds = tmp_path / "served-feeds.toml"
    feed_server.page("/news/fed", "Fed holds rates", *FED)
    entry = Entry("urn:x:fed", "Fed holds rates", "/news/fed", "2026-03-18T10:00:00+00:00")
    add_feed(feeds, feed_server.feed("/rss", "rss", "Ledger", [entry]), source="Ledger", every="1s")
    server = live_server(corpus_dir, QA_FEEDS_FILE=str(feeds), QA_FETCH_ALLOW_PRIVATE="true")

    def found() -> bool:
        r = httpx.post(f"{server.url}/search", json={"query": "central bank interest rates", "top_k": 1}, timeout=5)
        return bool(r.json()["results"]) and r.json()["results"][0]["source"] == "Ledger"

    assert eventually(found, timeout=30), server.log()
    assert "Traceback" not in server.log()
