"""What the bot's SQLite stores share: a file in the index folder, its schema made on first use,
and one short connection an operation, so that listener and alerter threads never share one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Self


class SQLiteStore:
    FILENAME: ClassVar[str]
    SCHEMA: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(self.SCHEMA)

    @classmethod
    def in_index(cls, index_dir: Path) -> Self:
        return cls(Path(index_dir) / cls.FILENAME)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:  # commits on success
            yield db


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
