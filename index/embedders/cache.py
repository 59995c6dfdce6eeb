"""A persistent embedding cache keyed by model, variant and text (SQLite), wrapping any Embedder.

Evaluation re-indexes the same documents and asks the same questions run after run; with the
cache a re-run embeds nothing, and the model is never even loaded.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.embedders.protocol import Embedder, Tokenizer


class CachedEmbedder:
    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_tokens = inner.max_tokens
        self.special_tokens = inner.special_tokens
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")  # a cache: losing the last writes costs a re-embed
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def variant(self) -> str:
        return self.inner.variant

    @property
    def tokenizer(self) -> Tokenizer:
        return self.inner.tokenizer

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._cached("document", texts, lambda missing: self.inner.embed_documents(missing, progress=progress))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached("query", texts, self.inner.embed_queries)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def _key(self, kind: str, text: str) -> str:
        return hashlib.sha256(f"{self.name}\0{self.inner.variant}\0{kind}\0{text}".encode()).hexdigest()

    def _cached(self, kind: str, texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 900):
                part = keys[i : i + 900]
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
                )
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = embed([t for _, t in missing])
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(missing, vectors, strict=True)],
                )
            found.update((k, v) for (k, _), v in zip(missing, vectors, strict=True))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def close(self) -> None:
        self._db.close()
