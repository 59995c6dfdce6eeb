"""Followed topics and their alerts, in a SQLite file beside the feedback store
(`<index_dir>/alerts.sqlite3`): which channel follows what; every article id the index has held
and when it was first seen (so only articles that arrive after a follow are news to it); and every
alert decided (so no article reaches a channel twice, across restarts and processes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.sqlite import SQLiteStore, now

FILENAME = "alerts.sqlite3"
RECENT_STORIES = 500  # posted alerts of a channel a new one is compared with, to know a copy

SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    topic TEXT NOT NULL,
    topic_key TEXT NOT NULL,           -- case-folded, spaces collapsed
    user TEXT,
    created TEXT NOT NULL,
    after_seq INTEGER NOT NULL,        -- articles first seen after this arrival are news to it
    UNIQUE (channel, topic_key)
);
CREATE TABLE IF NOT EXISTS articles (  -- every article id seen in the index
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    first_seq INTEGER NOT NULL         -- the arrival that brought it; 0: there when alerts began
);
CREATE TABLE IF NOT EXISTS arrivals (  -- new and changed articles, in the order seen
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    index_version INTEGER NOT NULL,
    time TEXT NOT NULL,
    UNIQUE (article_id, hash)
);
CREATE TABLE IF NOT EXISTS alerts (
    channel TEXT NOT NULL,
    article_id TEXT NOT NULL,
    follow_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    score REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('posting', 'posted', 'failed', 'limited', 'copy')),
    detail TEXT,                       -- Slack's error, or the article it repeats
    quote TEXT NOT NULL,
    vector BLOB,                       -- the passage's embedding: a later copy of the story is known by it
    ts TEXT,                           -- the message in Slack
    time TEXT NOT NULL,
    PRIMARY KEY (channel, article_id)
);
CREATE INDEX IF NOT EXISTS alerts_recent ON alerts (channel, time);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Follow:
    id: int
    channel: str
    topic: str
    user: str | None
    created: str
    after_seq: int


@dataclass(frozen=True)
class Arrival:
    seq: int
    article_id: str
    first_seq: int  # when the article itself first arrived (a change keeps it)


@dataclass(frozen=True)
class FollowStats:
    follow: Follow
    posted: int
    last_posted: str | None


@dataclass(frozen=True)
class Story:
    """A story already posted to a channel."""

    article_id: str
    quote: str
    vector: np.ndarray | None


def topic_key(topic: str) -> str:
    return " ".join(topic.casefold().split())


class AlertStore(SQLiteStore):
    FILENAME = FILENAME
    SCHEMA = SCHEMA

    # -- what the index holds ---------------------------------------------------------------

    def observe(self, version: int, stamp: str, articles: Mapping[str, str]) -> int:
        """Record a commit's articles (id -> content hash): new ids and changed hashes become
        arrivals; the first commit ever observed is the baseline, with no arrivals. `stamp` tells
        commits apart (a rebuilt index starts its versions again). Returns the arrivals added."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")  # one observer at a time, across processes too
            row = db.execute("SELECT value FROM state WHERE key = 'observed'").fetchone()
            if row and row[0] == stamp:
                return 0
            known = dict(db.execute("SELECT id, hash FROM articles").fetchall())
            fresh = [(aid, h) for aid, h in articles.items() if known.get(aid) != h]
            added = 0
            if row is None:
                db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, 0)", fresh)
            else:
                for aid, h in fresh:
                    added += self._arrive(db, aid, h, version, aid not in known)
            db.execute("INSERT OR REPLACE INTO state VALUES ('observed', ?)", (stamp,))
        return added

    @staticmethod
    def _arrive(db: sqlite3.Connection, article_id: str, hash_: str, version: int, new: bool) -> int:
        cur = db.execute(
            "INSERT OR IGNORE INTO arrivals (article_id, hash, index_version, time) VALUES (?, ?, ?, ?)",
            (article_id, hash_, version, now()),
        )
        seq = cur.lastrowid if cur.rowcount else None
        if new:
            db.execute("INSERT OR IGNORE INTO articles VALUES (?, ?, ?)", (article_id, hash_, seq or 0))
        else:
            db.execute("UPDATE articles SET hash = ? WHERE id = ?", (hash_, article_id))
        return 1 if seq else 0

    def observed(self) -> str | None:
        """The stamp of the last commit observed."""
        with self._db() as db:
            row = db.execute("SELECT value FROM state WHERE key = 'observed'").fetchone()
        return str(row[0]) if row else None

    def pending(self, limit: int) -> list[Arrival]:
        """Arrivals not checked yet against the follows, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT r.seq, r.article_id, a.first_seq FROM arrivals r JOIN articles a ON a.id = r.article_id "
                "WHERE r.seq > ? ORDER BY r.seq LIMIT ?",
                (self._checked(db), limit),
            ).fetchall()
        return [Arrival(*r) for r in rows]

    def checked(self, seq: int) -> None:
        """Arrivals up to `seq` have been checked."""
        with self._db() as db:
            if seq > self._checked(db):
                db.execute("INSERT OR REPLACE INTO state VALUES ('checked', ?)", (str(seq),))

    @staticmethod
    def _checked(db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM state WHERE key = 'checked'").fetchone()
        return int(row[0]) if row else 0

    # -- follows ----------------------------------------------------------------------------

    def follow(self, channel: str, topic: str, user: str | None) -> tuple[Follow, bool]:
        """The channel's follow of `topic`, and whether it is new (an existing one is kept as it is).
        Articles seen so far (`observe`) are not news to a new follow."""
        with self._db() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO follows (channel, topic, topic_key, user, created, after_seq) "
                "VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM arrivals))",
                (channel, topic, topic_key(topic), user, now()),
            )
            row = db.execute(
                f"SELECT {_FOLLOW} FROM follows WHERE channel = ? AND topic_key = ?", (channel, topic_key(topic))
            ).fetchone()
        return Follow(*row), bool(cur.rowcount)

    def unfollow(self, channel: str, topic: str) -> Follow | None:
        """Remove the channel's follow of `topic`; the follow removed, or None."""
        with self._db() as db:
            row = db.execute(
                f"SELECT {_FOLLOW} FROM follows WHERE channel = ? AND topic_key = ?", (channel, topic_key(topic))
            ).fetchone()
            if row:
                db.execute("DELETE FROM follows WHERE id = ?", (row[0],))
        return Follow(*row) if row else None

    def remove(self, follow_id: int) -> Follow | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_FOLLOW} FROM follows WHERE id = ?", (follow_id,)).fetchone()
            db.execute("DELETE FROM follows WHERE id = ?", (follow_id,))
        return Follow(*row) if row else None

    def follows(self, channel: str | None = None) -> list[Follow]:
        where, args = ("WHERE channel = ?", (channel,)) if channel else ("", ())
        with self._db() as db:
            rows = db.execute(f"SELECT {_FOLLOW} FROM follows {where} ORDER BY id", args).fetchall()
        return [Follow(*r) for r in rows]

    def stats(self, channel: str | None = None) -> list[FollowStats]:
        """Each follow with the alerts it posted and when it last did."""
        counts: dict[int, tuple[int, str | None]] = {}
        with self._db() as db:
            for fid, n, last in db.execute(
                "SELECT follow_id, COUNT(*), MAX(time) FROM alerts WHERE status = 'posted' GROUP BY follow_id"
            ):
                counts[int(fid)] = (int(n), last)
        return [FollowStats(f, *counts.get(f.id, (0, None))) for f in self.follows(channel)]

    # -- alerts -----------------------------------------------------------------------------

    def claim(
        self, channel: str, article_id: str, follow: Follow, score: float, quote: str, vector: np.ndarray
    ) -> bool:
        """Take the right to post `article_id` to `channel`: False when it was ever taken (posted,
        failed, or being posted by another process)."""
        return self._decide(channel, article_id, follow, score, quote, "posting", vector=vector)

    def skip(self, channel: str, article_id: str, follow: Follow, score: float, quote: str, status: str,
             detail: str | None = None) -> bool:  # fmt: skip
        """Record that `article_id` will not be posted to `channel` ('limited' or 'copy'), so it never is."""
        return self._decide(channel, article_id, follow, score, quote, status, detail=detail)

    def _decide(self, channel: str, article_id: str, follow: Follow, score: float, quote: str, status: str,
                detail: str | None = None, vector: np.ndarray | None = None) -> bool:  # fmt: skip
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        with self._db() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO alerts (channel, article_id, follow_id, topic, score, status, detail, quote, "
                "vector, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (channel, article_id, follow.id, follow.topic, score, status, detail, quote, blob, now()),
            )
        return bool(cur.rowcount)

    def release(self, channel: str, article_id: str) -> None:
        """Give back a claim whose post never reached Slack, so that a later pass posts it."""
        with self._db() as db:
            db.execute(
                "DELETE FROM alerts WHERE channel = ? AND article_id = ? AND status = 'posting'", (channel, article_id)
            )

    def posted(self, channel: str, article_id: str, ts: str) -> None:
        self._set(channel, article_id, "posted", ts=ts)

    def failed(self, channel: str, article_id: str, error: str) -> None:
        self._set(channel, article_id, "failed", detail=error)

    def _set(
        self, channel: str, article_id: str, status: str, ts: str | None = None, detail: str | None = None
    ) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE alerts SET status = ?, ts = COALESCE(?, ts), detail = COALESCE(?, detail) "
                "WHERE channel = ? AND article_id = ?",
                (status, ts, detail, channel, article_id),
            )

    def decided(self, channel: str, article_ids: list[str]) -> set[str]:
        """Which of these articles were ever alerted (or skipped) in the channel."""
        with self._db() as db:
            marks = ",".join("?" * len(article_ids))
            rows = db.execute(
                f"SELECT article_id FROM alerts WHERE channel = ? AND article_id IN ({marks})", (channel, *article_ids)
            ).fetchall()
        return {r[0] for r in rows}

    def posted_within(self, channel: str, window: timedelta) -> int:
        """Alerts posted (or being posted) to the channel in the last `window`."""
        since = (datetime.now(UTC) - window).isoformat(timespec="milliseconds")
        with self._db() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM alerts WHERE channel = ? AND status IN ('posting', 'posted') AND time > ?",
                (channel, since),
            ).fetchone()
        return int(row[0])

    def recent_stories(self, channel: str, limit: int = RECENT_STORIES) -> list[Story]:
        with self._db() as db:
            rows = db.execute(
                "SELECT article_id, quote, vector FROM alerts WHERE channel = ? AND status IN ('posting', 'posted') "
                "ORDER BY time DESC LIMIT ?",
                (channel, limit),
            ).fetchall()
        return [Story(a, q, None if v is None else np.frombuffer(v, dtype=np.float32)) for a, q, v in rows]


_FOLLOW = "id, channel, topic, user, created, after_seq"
