"""A local SQLite file (`<index_dir>/feedback.sqlite3`) with every answer the bot posted and every
👍 / 👎 on them. The answers also tell which question opened a thread, for follow-ups."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from bot.sqlite import SQLiteStore, now
from qa.contract import AskResult

FILENAME = "feedback.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    user TEXT,
    question TEXT NOT NULL,   -- as the user asked it
    asked TEXT NOT NULL,      -- what the service was asked (with the thread's question for a follow-up)
    answer TEXT,              -- null: nothing in the corpus answered
    citations TEXT NOT NULL,  -- JSON list of Citation
    index_version INTEGER,
    time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_thread ON answers (channel, thread_ts);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    question TEXT,
    answer TEXT,
    citations TEXT,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    user TEXT NOT NULL,
    time TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredAnswer:
    id: str
    question: str
    answer: str | None
    citations: str  # JSON


class FeedbackStore(SQLiteStore):
    FILENAME = FILENAME
    SCHEMA = SCHEMA

    def record_answer(
        self, *, channel: str, thread_ts: str, user: str | None, question: str, asked: str, result: AskResult
    ) -> str:
        """Store a posted answer; returns its id (the value of its feedback buttons)."""
        answer_id = uuid.uuid4().hex
        citations = json.dumps([c.model_dump() for c in result.citations], ensure_ascii=False)
        with self._db() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, channel, thread_ts, user, question, asked, result.answer, citations,
                 result.index_version, now()),
            )  # fmt: skip
        return answer_id

    def thread_question(self, channel: str, thread_ts: str) -> str | None:
        """The first question the bot answered in this thread, if any."""
        with self._db() as db:
            row = db.execute(
                "SELECT question FROM answers WHERE channel = ? AND thread_ts = ? ORDER BY rowid LIMIT 1",
                (channel, thread_ts),
            ).fetchone()
        return str(row[0]) if row else None

    def answer(self, answer_id: str) -> StoredAnswer | None:
        with self._db() as db:
            query = "SELECT id, question, answer, citations FROM answers WHERE id = ?"
            row = db.execute(query, (answer_id,)).fetchone()
        return StoredAnswer(*row) if row else None

    def record_vote(self, answer_id: str, vote: str, user: str) -> None:
        """Store a 👍 / 👎 with the question, answer and citations it was about."""
        stored = self.answer(answer_id)
        with self._db() as db:
            db.execute(
                "INSERT INTO feedback (answer_id, question, answer, citations, vote, user, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (answer_id, stored and stored.question, stored and stored.answer, stored and stored.citations,
                 vote, user, now()),
            )  # fmt: skip
