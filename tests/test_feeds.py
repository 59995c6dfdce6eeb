"""Feeds end to end against a real local web server (tests/feedserver.py): RSS, Atom and JSON
Feed documents are polled, their entries' pages fetched and extracted, written into the corpus
folder and indexed by the ordinary reconcile; conditional requests, changed and vanished
entries, and every kind of broken feed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from index.embedders import HashingEmbedder
from index.feeds.config import add_feed
from index.feeds.poll import Poller, RoundReport, backoff
from index.feeds.state import StateStore
from index.loaders import load_corpus
from qa.config import Settings
from qa.service import QAService
from tests.feedserver import Entry, FeedServer

FED = ("The central bank held interest rates at 3.5% on Wednesday, officials said after a two-day meeting.",)
CHIPS = ("Exporters of AI chips now need a licence to ship to Malaysia and Thailand, the trade ministry said.",)
POWER = ("Data centres asked the utility for 40 gigawatts of power, and gas turbines are sold out until 2029.",)


class Clock:
    """A clock the test moves (intervals and back-off without waiting)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def poller(settings: Settings, clock: Clock | None = None) -> Poller:
    return Poller(settings.corpus_dir, settings.feeds, settings.fetch_config(), clock or time.time)


def service(settings: Settings) -> QAService:
    return QAService(settings.model_copy(update={"answer_scorer": "embedding"}), HashingEmbedder())


def front_matter(path: Path) -> dict[str, object]:
    meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
    assert isinstance(meta, dict)
    return meta


def feed_files(settings: Settings) -> dict[str, bytes]:
    return {p.relative_to(settings.corpus_dir).as_posix(): p.read_bytes() for p in settings.corpus_dir.rglob("*.md")}


def two_entries(server: FeedServer) -> list[Entry]:
    server.page("/news/fed", "Fed holds rates", *FED, site="Daily Ledger")
    server.page("/news/chips", "Chip licences", *CHIPS)
    return [
        Entry("urn:ledger:fed", "Fed holds rates", "/news/fed", "2026-03-18T10:00:00+00:00", "Rates held."),
        Entry("urn:ledger:chips", "Chip licences", "/news/chips", "2026-01-27T09:30:00+00:00", "Chips need licences."),
    ]


@pytest.mark.parametrize("kind", ["rss", "atom", "json"])
def test_a_feed_is_added_polled_and_its_articles_become_searchable(
    kind: str, feed_server: FeedServer, feed_settings: Settings
) -> None:
    url = feed_server.feed(f"/{kind}", kind, "The Ledger", two_entries(feed_server))
    add_feed(feed_settings.feeds, url, source="Daily Ledger", every="15m")

    report = poller(feed_settings).poll()
    [feed] = report.feeds
    assert feed.outcome == "updated" and len(feed.new) == 2 and feed.fallbacks == 0
    svc = service(feed_settings)
    result = svc.reindex()
    assert sorted(result.added) == sorted(feed.new)

    [hit] = svc.search("central bank interest rates", top_k=1).results
    assert hit.article_id.startswith("_feeds/daily-ledger/")
    assert (hit.title, hit.published, hit.source) == ("Fed holds rates", "2026-03-18", "Daily Ledger")
    assert hit.url == feed_server.url("/news/fed")
    assert "held interest rates at 3.5%" in hit.quote  # the page's text, extracted
    meta = front_matter(feed_settings.corpus_dir / f"{hit.article_id}.md")
    assert meta["text_from"] == "page" and meta["entry_id"] == "urn:ledger:fed" and meta["feed"] == "daily-ledger"
    [chips] = svc.search("licence Malaysia Thailand chips", top_k=1).results
    assert chips.published == "2026-01-27"


def test_the_feeds_own_title_is_the_source_when_none_is_given(feed_server: FeedServer, feed_settings: Settings) -> None:
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Example Wire", two_entries(feed_server)))
    poller(feed_settings).poll()
    assert {a.source for a in load_corpus(feed_settings.corpus_dir).articles} == {"Example Wire"}


def test_a_second_poll_with_nothing_new_is_conditional_and_writes_nothing(
    feed_server: FeedServer, feed_settings: Settings
) -> None:
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)))
    add_feed(feed_settings.feeds, feed_server.feed("/atom", "atom", "Wire", two_entries(feed_server)))
    polls = poller(feed_settings)
    polls.poll()
    version = service(feed_settings).reindex().index_version
    before = feed_files(feed_settings)
    pages_before = len(feed_server.requests_to("/news/fed"))

    report = polls.poll(force=True)
    assert [f.outcome for f in report.feeds] == ["not modified", "not modified"]
    assert report.written == [] and report.requests == 2 and report.bytes_received == 0
    for path in ("/rss", "/atom"):
        last = feed_server.requests_to(path)[-1]
        assert last.status == 304
        assert last.headers["if-none-match"] == '"v1"'
        assert last.headers["if-modified-since"].endswith("GMT")
    assert len(feed_server.requests_to("/news/fed")) == pages_before  # no page fetched again
    assert feed_files(feed_settings) == before
    assert service(feed_settings).reindex().index_version == version  # nothing to index


def test_new_changed_and_vanished_entries(feed_server: FeedServer, feed_settings: Settings) -> None:
    entries = two_entries(feed_server)
    url = feed_server.feed("/rss", "rss", "Ledger", entries)
    add_feed(feed_settings.feeds, url, source="Ledger")
    polls, svc = poller(feed_settings), service(feed_settings)
    first = polls.poll().feeds[0]
    svc.reindex()
    fed_id, chips_id = first.new

    # The Fed story is updated in place (same id, new title and page), the chips story falls off
    # the feed, and a new story arrives.
    feed_server.page("/news/fed", "Fed holds rates, signals two cuts", *FED, "Officials now expect two cuts in 2026.")
    feed_server.page("/news/power", "Power demand", *POWER)
    updated = Entry("urn:ledger:fed", "Fed holds rates, signals two cuts", "/news/fed", entries[0].published, "More.")
    fresh = Entry("urn:ledger:power", "Power demand", "/news/power", "2026-03-20T08:00:00+00:00", "Power.")
    feed_server.feed("/rss", "rss", "Ledger", [fresh, updated])

    report = polls.poll(force=True).feeds[0]
    assert report.changed == [fed_id] and len(report.new) == 1 and report.unchanged == 0
    result = svc.reindex()
    assert result.changed == [fed_id] and result.added == report.new and result.deleted == []
    ids = set(svc.snapshot().manifest.articles)
    assert ids == {fed_id, chips_id, report.new[0]}  # no duplicate; the vanished entry stays indexed
    [hit] = svc.search("officials expect two cuts", top_k=1).results
    assert hit.article_id == fed_id and hit.title == "Fed holds rates, signals two cuts"
    state = StateStore(feed_settings.corpus_dir).load()["ledger"]
    assert state.entries_seen == 3 and state.articles_written == 4


def test_an_unreachable_page_falls_back_to_the_entrys_own_text_and_says_so(
    feed_server: FeedServer, feed_settings: Settings
) -> None:
    feed_server.serve("/news/huge", b"", huge=5_000_000)  # over the 200,000-byte limit of the tests
    entries = [
        Entry("urn:a", "Gone page", "/news/missing", "2026-03-01T00:00:00+00:00", "<p>The summary of a gone page.</p>"),
        Entry("urn:b", "Huge page", "/news/huge", "2026-03-02T00:00:00+00:00", "The summary of a huge page."),
    ]
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", entries))
    report = poller(feed_settings).poll().feeds[0]
    assert report.fallbacks == 2 and len(report.new) == 2
    articles = {a.title: a for a in load_corpus(feed_settings.corpus_dir).articles}
    assert articles["Gone page"].text == "The summary of a gone page."
    gone = front_matter(feed_settings.corpus_dir / articles["Gone page"].path)
    huge = front_matter(feed_settings.corpus_dir / articles["Huge page"].path)
    assert "page unreachable" in str(gone["text_from"]) and "HTTP 404" in str(gone["text_from"])
    assert "over the 200,000-byte limit" in str(huge["text_from"])
    assert feed_server.sent("/news/huge") < 5_000_000  # the reading stopped: the server could not send it all


def broken_feeds(server: FeedServer, settings: Settings) -> None:
    """One feed of each kind of breakage beside two good ones."""
    server.page("/news/fed", "Fed holds rates", *FED)
    server.page("/news/chips", "Chip licences", *CHIPS)
    good = [Entry("urn:g:1", "Fed holds rates", "/news/fed", "2026-03-18T10:00:00+00:00")]
    also_good = [Entry("urn:g:2", "Chip licences", "/news/chips", "2026-01-27T10:00:00+00:00")]
    add_feed(settings.feeds, server.feed("/good.xml", "rss", "Good", good), source="Good")
    add_feed(settings.feeds, server.serve("/error.xml", b"oops", status=500), source="Error")
    add_feed(settings.feeds, server.serve("/malformed.xml", b"<rss><channel><<< not xml", "text/xml"), source="Bad")
    add_feed(settings.feeds, server.serve("/huge.xml", b"", "application/rss+xml", huge=50_000_000), source="Huge")
    add_feed(settings.feeds, server.serve("/slow.xml", b"<rss/>", "application/rss+xml", stall=30), source="Slow")
    server.serve("/loop-a", b"", location="/loop-b")
    add_feed(settings.feeds, server.serve("/loop-b", b"", location="/loop-a"), source="Loop")
    add_feed(settings.feeds, f"http://127.0.0.1:{_closed_port()}/feed.xml", source="Closed")
    add_feed(settings.feeds, server.feed("/also-good.json", "json", "Also good", also_good), source="Also good")


def _closed_port() -> int:
    from tests.conftest import free_port

    return free_port()  # nothing listens there: the connection is refused


def test_each_broken_feed_is_reported_and_the_good_ones_still_index(
    feed_server: FeedServer, feed_settings: Settings
) -> None:
    broken_feeds(feed_server, feed_settings)
    report = poller(feed_settings).poll()
    outcome = {f.name: (f.outcome, f.error or "") for f in report.feeds}
    assert outcome["good"][0] == outcome["also-good"][0] == "updated"
    reasons = {name: error for name, (state, error) in outcome.items() if state == "failed"}
    assert set(reasons) == {"error", "bad", "huge", "slow", "loop", "closed"}
    assert "HTTP 500" in reasons["error"]
    assert "malformed feed" in reasons["bad"] and "not well-formed" in reasons["bad"]
    assert "over the 200,000-byte limit" in reasons["huge"]
    assert "no answer within 0.5 s" in reasons["slow"]
    assert "redirect loop" in reasons["loop"]
    assert "cannot connect" in reasons["closed"] and "refused" in reasons["closed"].lower()
    assert len(report.written) == 2
    svc = service(feed_settings)
    svc.reindex()
    assert svc.search("central bank interest rates", top_k=1).results[0].source == "Good"
    assert svc.search("licence Malaysia chips", top_k=1).results[0].source == "Also good"
    states = StateStore(feed_settings.corpus_dir).load()
    assert states["error"].failures == 1 and states["error"].last_error_kind == "http_status"
    assert states["huge"].last_error_kind == "too_large" and states["loop"].last_error_kind == "redirects"
    assert states["good"].failures == 0 and states["good"].last_error is None


def test_a_failing_feed_backs_off_and_keeps_its_articles(feed_server: FeedServer, feed_settings: Settings) -> None:
    clock = Clock()
    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)), every="10m")
    polls = poller(feed_settings, clock)
    assert len(polls.poll().written) == 2
    assert polls.poll().feeds == []  # not due yet: nothing is fetched
    requests = len(feed_server.seen)

    feed_server.serve("/rss", b"down", status=503)
    for failures, delay in ((1, 1200), (2, 2400), (3, 4800)):
        clock.now = StateStore(feed_settings.corpus_dir).load()["127-0-0-1-rss"].next_due
        [report] = polls.poll().feeds
        state = StateStore(feed_settings.corpus_dir).load()["127-0-0-1-rss"]
        assert report.outcome == "failed" and state.failures == failures
        assert state.next_due - clock.now == delay  # the interval, doubled for each failure in a row
    assert len(feed_server.seen) == requests + 3  # one request a due poll, none in between
    assert len(load_corpus(feed_settings.corpus_dir).articles) == 2  # nothing lost


def test_backoff_is_capped_and_honours_retry_after() -> None:
    assert backoff(900, 1) == 1800
    assert backoff(900, 20) == 6 * 3600
    assert backoff(86400, 3) == 86400  # a daily feed is not tried less than daily
    assert backoff(60, 1, retry_after=3600) == 3600


def test_a_feed_body_that_names_a_local_file_is_not_read_from_disk(
    feed_server: FeedServer, feed_settings: Settings, tmp_path: Path
) -> None:
    local = tmp_path / "local-feed.xml"
    local.write_bytes(b'<rss version="2.0"><channel><title>Local</title><item><guid>x</guid></item></channel></rss>')
    add_feed(feed_settings.feeds, feed_server.serve("/rss", str(local), "application/rss+xml"))
    [report] = poller(feed_settings).poll().feeds
    assert report.outcome == "failed" and report.entries == 0


def summary(report: RoundReport) -> list[tuple[str, str]]:
    return [(f.name, f.outcome) for f in report.feeds]


def test_removed_feeds_lose_their_state_but_not_their_articles(
    feed_server: FeedServer, feed_settings: Settings
) -> None:
    from index.feeds.config import remove_feed

    add_feed(feed_settings.feeds, feed_server.feed("/rss", "rss", "Ledger", two_entries(feed_server)), source="Ledger")
    polls = poller(feed_settings)
    polls.poll()
    add_feed(feed_settings.feeds, feed_server.feed("/atom", "atom", "Wire", []), source="Wire")
    remove_feed(feed_settings.feeds, "ledger")
    assert summary(polls.poll()) == [("wire", "updated")]
    assert set(StateStore(feed_settings.corpus_dir).load()) == {"wire"}
    assert len(load_corpus(feed_settings.corpus_dir).articles) == 2
