"""Ingest: turn batches of articles into chunk rows and vectors, here or on a cluster.

The writer (index/writer.py) plans, writes segments and commits; an `Ingest` only does the CPU
work in between. `LocalIngest` runs it in this process; `index.ray_ingest.RayIngest` runs the same
`chunk_and_embed` on Ray actors. Both give the writer the same rows, so a segment does not depend
on where it was made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from index.articles import Article
from index.chunking import Chunker
from index.embedding import Embedder
from index.segments import ChunkRow

# Called as work completes: (articles done, chunks made) since the last call.
ProgressFn = Callable[[int, int], None]


def embed_hash(model: str, text: str) -> str:
    """The key under which a vector is stored and re-used: model name and embedded text."""
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Embedded:
    """A batch of articles chunked: every row, and vectors for the texts that had none stored."""

    rows: list[ChunkRow]
    new: dict[str, np.ndarray] = field(default_factory=dict)  # embed hash -> vector


def chunk_and_embed(
    articles: Sequence[Article], chunker: Chunker, embedder: Embedder, known: Container[str]
) -> Embedded:
    """Chunk `articles` and embed each distinct text whose hash is not `known` (once)."""
    chunks = [c for a in articles for c in chunker.chunk(a)]
    rows = [
        ChunkRow(c.chunk_id, c.article_id, c.ordinal, c.start, c.end, c.text, embed_hash(embedder.name, c.embed_text))
        for c in chunks
    ]
    texts = {r.embed_hash: c.embed_text for r, c in zip(rows, chunks, strict=True) if r.embed_hash not in known}
    if not texts:
        return Embedded(rows)
    vectors = embedder.embed_documents(list(texts.values()))
    return Embedded(rows, dict(zip(texts, vectors, strict=True)))


class Ingest(Protocol):
    workers: int  # shown in the progress line

    def run(self, batches: list[list[Article]], known: Collection[str], progress: ProgressFn) -> Iterator[Embedded]:
        """One `Embedded` for each batch, in order. Texts whose hash is in `known` are not embedded;
        the writer adds each batch's new hashes to `known` before it asks for the next."""
        ...

    def close(self) -> None: ...


class LocalIngest:
    """Chunk and embed in this process, one batch after another."""

    workers = 1

    def __init__(self, embedder: Embedder, chunker: Chunker) -> None:
        self.embedder = embedder
        self.chunker = chunker

    def run(self, batches: list[list[Article]], known: Collection[str], progress: ProgressFn) -> Iterator[Embedded]:
        for batch in batches:
            done = chunk_and_embed(batch, self.chunker, self.embedder, known)
            progress(len(batch), len(done.rows))
            yield done

    def close(self) -> None:
        pass
