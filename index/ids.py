"""Every id and hash the index is keyed by, in one place. Change a rule here and the index it
keys must be rebuilt (`qa index --rebuild`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

TITLE_SEPARATOR = "\n"


def titled(title: str | None, passage: str) -> str:
    """A passage as the model and BM25 read it: its article's title, a newline, the passage."""
    return f"{title}{TITLE_SEPARATOR}{passage}" if title else passage


def content_hash(fields: Mapping[str, object]) -> str:
    """An article's content hash: sha256 of everything that reaches the index, keys sorted."""
    blob = json.dumps(dict(fields), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def chunk_id(article_id: str, start: int, end: int, text: str) -> int:
    """Stable 63-bit chunk id: the same article, span and text always give the same id."""
    key = f"{article_id}\0{start}\0{end}\0{text}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def embed_hash(model: str, text: str) -> str:
    """The key under which a vector is stored and re-used: model name and embedded text."""
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()[:32]


def short_digest(text: str, length: int = 10) -> str:
    """A short hex digest, to make a readable file name collision-free."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_article_id(path: Path, corpus_dir: Path) -> str:
    """A corpus file's article id: its path in the corpus folder without the suffix."""
    return Path(path).relative_to(corpus_dir).with_suffix("").as_posix()
