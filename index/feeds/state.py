"""What polling has learnt, per feed, in one small JSON file beside the articles it describes
(`corpus/_feeds/.state.json`; hidden, so neither the loader nor the watcher reads it): the HTTP
validators (ETag, Last-Modified) for conditional GET, when the feed is due again and how many
failures in a row it has had (the back-off), the last success and the last error, counters, and
a fingerprint of each entry seen (so an unchanged entry costs nothing and a changed one is
rewritten in place). One poller at a time holds `.poll.lock` beside it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from index.fsutil import locked, read_json, write_durable

FEEDS_DIR = "_feeds"
STATE_FILE = ".state.json"
LOCK_FILE = ".poll.lock"
REMEMBERED = 2000  # entry fingerprints kept per feed beyond those in the feed now


class PollerBusy(RuntimeError):
    """Another process is polling the feeds of this corpus."""


@dataclass
class FeedState:
    url_hash: str = ""  # of the URL polled (not the URL: it may hold credentials), to notice an edit
    title: str | None = None  # the feed's own title
    etag: str | None = None
    last_modified: str | None = None
    last_poll: float | None = None  # Unix times
    last_success: float | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: float | None = None
    failures: int = 0  # in a row
    next_due: float = 0.0
    entries_seen: int = 0  # distinct entries ever seen
    articles_written: int = 0  # article files written (new or changed)
    entries: dict[str, str] = field(default_factory=dict)  # entry key -> fingerprint

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def remember(self, keys: list[str]) -> None:
        """Keep the fingerprints of the entries now in the feed, and of at most REMEMBERED others
        (the most recently seen): an entry that falls off the feed and comes back later is
        fetched again at worst, never duplicated (its file name comes from its key)."""
        for key in keys:
            if key in self.entries:
                self.entries[key] = self.entries.pop(key)  # most recent last
        extra = len(self.entries) - len(keys) - REMEMBERED
        for key in list(self.entries)[: max(0, extra)]:
            del self.entries[key]


class StateStore:
    """The state file of a corpus folder."""

    def __init__(self, corpus_dir: Path) -> None:
        self.dir = Path(corpus_dir) / FEEDS_DIR
        self.path = self.dir / STATE_FILE

    def load(self) -> dict[str, FeedState]:
        """Feed name -> its state; an unreadable file is an empty state (the next poll rebuilds it:
        entries are fetched again once and their files rewritten, never duplicated)."""
        data = read_json(self.path, {})
        feeds = data.get("feeds", {}) if isinstance(data, dict) else {}
        return {name: FeedState.from_json(s) for name, s in feeds.items() if isinstance(s, dict)}

    def save(self, states: dict[str, FeedState]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        blob = json.dumps({"feeds": {name: asdict(s) for name, s in sorted(states.items())}}, ensure_ascii=False)
        write_durable(self.path, blob.encode("utf-8"), sync=False)  # lost on a power cut: entries are fetched again

    @contextlib.contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the poll lock; PollerBusy at once when another process holds it, unless `wait`."""
        self.dir.mkdir(parents=True, exist_ok=True)
        busy = PollerBusy(f"another process is polling the feeds of {self.dir.parent}")
        with locked(self.dir / LOCK_FILE, wait=wait, busy=lambda: busy):
            yield
