"""A poll round: every due feed (or every feed) is fetched conditionally, its new and changed
entries written into the corpus folder, and what was learnt saved in the state file. Feeds are
polled side by side (at most `concurrency` requests in flight); one that fails is reported with
its reason and backs off, and never stops the others or loses what they wrote. Indexing what was
written is the caller's: the ordinary reconcile."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import BadArticle
from index.feeds.articles import entry_article, feed_article_path, write_article
from index.feeds.config import FeedConfig, load_feeds
from index.feeds.fetch import ACCEPT_FEED, FetchConfig, Fetcher, FetchError
from index.feeds.parse import BadFeed, ParsedFeed, parse_feed
from index.feeds.state import FeedState, StateStore
from index.ids import short_digest

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 6 * 3600  # a failing feed is tried at least this often (or at its own interval)


@dataclass
class FeedReport:
    """What one feed's poll did."""

    name: str
    url: str  # redacted
    outcome: str = "updated"  # updated, not modified, failed, interrupted
    error: str | None = None
    entries: int = 0  # in the feed document
    new: list[str] = field(default_factory=list)  # article ids written for the first time
    changed: list[str] = field(default_factory=list)  # article ids rewritten (an entry updated in place)
    unchanged: int = 0
    fallbacks: int = 0  # articles whose text is the entry's own (the page was unreachable or empty)
    pending: int = 0  # entries with no text yet: tried again on the next poll

    @property
    def written(self) -> list[str]:
        return self.new + self.changed


@dataclass(frozen=True)
class RoundReport:
    feeds: list[FeedReport]
    requests: int
    bytes_received: int
    took_s: float

    @property
    def written(self) -> list[str]:
        return [a for f in self.feeds for a in f.written]

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.outcome == "failed"]


def backoff(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until a feed that failed `failures` times in a row is tried again: its interval,
    doubled for each failure, at most MAX_BACKOFF_S (or the interval, if longer), and never sooner
    than the server's Retry-After."""
    delay = min(interval * 2**failures, max(interval, MAX_BACKOFF_S))
    return max(delay, retry_after or 0.0)


class Poller:
    """Polls the feeds of `feeds_file` into `corpus_dir`."""

    def __init__(
        self, corpus_dir: Path, feeds_file: Path, fetch: FetchConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.feeds_file = Path(feeds_file)
        self.fetch = fetch
        self.clock = clock
        self.store = StateStore(self.corpus_dir)
        self._saving = threading.Lock()
        self._fetcher: Fetcher | None = None  # kept between rounds: its TLS set-up and open connections

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    def status(self) -> list[tuple[FeedConfig, FeedState]]:
        """Each configured feed with what polling knows of it."""
        states = self.store.load()
        return [(f, states.get(f.name) or FeedState()) for f in load_feeds(self.feeds_file)]

    def next_due(self) -> float | None:
        """When the next feed is due (a Unix time), or None with no feeds configured."""
        return min((s.next_due for _, s in self.status()), default=None)

    def poll(self, *, force: bool = False, wait: bool = False, stop: Callable[[], bool] = lambda: False) -> RoundReport:
        """One round over the due feeds (all of them with `force`). PollerBusy when another
        process is polling, unless `wait`."""
        started = time.monotonic()
        if not load_feeds(self.feeds_file):
            return RoundReport([], 0, 0, 0.0)  # nothing configured: nothing touched, not even a lock file
        with self.store.lock(wait):
            feeds = load_feeds(self.feeds_file)
            states = self.store.load()
            now = self.clock()
            due = [f for f in feeds if force or (states.get(f.name) or FeedState()).next_due <= now]
            gone = set(states) - {f.name for f in feeds}  # removed from the file: its articles stay, its state goes
            if not due and not gone:
                return RoundReport([], 0, 0, round(time.monotonic() - started, 3))
            for name in gone:
                del states[name]
            for f in feeds:
                states.setdefault(f.name, FeedState())
            # Each worker changes only its own feed's state, and hands in a copy when done: the
            # copies are what is saved, so a save never reads a state another thread is changing.
            saved = copy.deepcopy(states)
            fetcher = self._fetcher = self._fetcher or Fetcher(self.fetch)
            requests, received = fetcher.requests, fetcher.bytes_received
            workers = max(1, min(self.fetch.concurrency, len(due)))
            with ThreadPoolExecutor(workers, thread_name_prefix="feed") as pool:
                reports = list(pool.map(lambda f: self._guarded(fetcher, f, states[f.name], saved, stop), due))
            requests, received = fetcher.requests - requests, fetcher.bytes_received - received
            self.store.save(saved)
        return RoundReport(reports, requests, received, round(time.monotonic() - started, 3))

    def _guarded(
        self,
        fetcher: Fetcher,
        feed: FeedConfig,
        state: FeedState,
        saved: dict[str, FeedState],
        stop: Callable[[], bool],
    ) -> FeedReport:
        """One feed, whatever happens: an unexpected error is that feed's failure, not the round's.
        A feed that wrote articles has its state saved at once (the round saves the rest at its end)."""
        try:
            report = self._poll_feed(fetcher, feed, state, stop)
        except Exception as e:
            log.exception("feed %s: unexpected error", feed.name)
            report = self._failed(feed, state, "error", f"unexpected error: {type(e).__name__}: {e}")
        with self._saving:
            saved[feed.name] = copy.deepcopy(state)
            if report.written:
                self.store.save(saved)
        return report

    def _poll_feed(self, fetcher: Fetcher, feed: FeedConfig, state: FeedState, stop: Callable[[], bool]) -> FeedReport:
        now = self.clock()
        state.last_poll = now
        if state.url_hash != short_digest(feed.url, 16):  # a new URL: the old validators are not its own
            state.url_hash, state.etag, state.last_modified = short_digest(feed.url, 16), None, None
        report = FeedReport(feed.name, feed.shown_url)
        try:
            fetched = fetcher.get(feed.url, etag=state.etag, last_modified=state.last_modified, accept=ACCEPT_FEED)
            if fetched.not_modified:
                report.outcome = "not modified"
            else:
                parsed = parse_feed(fetched.body, fetched.content_type, fetched.url)
                if parsed.warning:
                    log.warning("feed %s: %s", feed.name, parsed.warning)
                state.title = parsed.title
                self._entries(fetcher, feed, state, parsed, report, stop)
                if report.outcome == "interrupted":
                    return report  # due again at once: the rest next time
                if not report.pending:  # else the document is read again next time, for those entries
                    state.etag, state.last_modified = fetched.etag, fetched.last_modified
        except FetchError as e:
            return self._failed(feed, state, e.kind, str(e), e.retry_after)
        except BadFeed as e:
            return self._failed(feed, state, "malformed", str(e))
        except OSError as e:  # writing the corpus (a full disk): nothing is marked seen that was not written
            return self._failed(feed, state, "write", f"cannot write into {self.corpus_dir}: {e.strerror or e}")
        state.failures, state.last_success = 0, now
        state.next_due = now + feed.interval
        return report

    def _entries(
        self,
        fetcher: Fetcher,
        feed: FeedConfig,
        state: FeedState,
        parsed: ParsedFeed,
        report: FeedReport,
        stop: Callable[[], bool],
    ) -> None:
        report.entries = len(parsed.entries)
        source = feed.source or parsed.title
        for entry in parsed.entries:
            if stop():
                report.outcome = "interrupted"
                return
            old = state.entries.get(entry.key)
            if old == entry.fingerprint:
                report.unchanged += 1
                continue
            try:
                article, text_from = entry_article(fetcher, entry, source)
            except BadArticle as e:
                log.warning("feed %s: entry %s: %s", feed.name, entry.link or entry.key, e)
                report.pending += 1
                continue
            path = feed_article_path(self.corpus_dir, feed.name, entry.key)
            written = write_article(
                path, self.corpus_dir, article, {"feed": feed.name, "entry_id": entry.key, "text_from": text_from}
            )
            report.fallbacks += text_from != "page"
            if old is None:
                state.entries_seen += 1
            if written.changed:
                state.articles_written += 1
                (report.new if old is None else report.changed).append(written.article_id)
            state.entries[entry.key] = entry.fingerprint
        state.remember([e.key for e in parsed.entries])

    def _failed(
        self, feed: FeedConfig, state: FeedState, kind: str, reason: str, retry_after: float | None = None
    ) -> FeedReport:
        now = self.clock()
        state.failures += 1
        state.last_error, state.last_error_kind, state.last_error_at = reason, kind, now
        state.next_due = now + backoff(feed.interval, state.failures, retry_after)
        log.warning("feed %s failed (%s): %s; next try in %.0f s", feed.name, kind, reason, state.next_due - now)
        return FeedReport(feed.name, feed.shown_url, outcome="failed", error=reason)
