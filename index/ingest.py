"""Ingest: turn batches of articles into chunk rows and vectors, here or on a cluster.

The writer (index/writer.py) plans, writes segments and commits; an `Ingest` only does the CPU
work in between. `LocalIngest` runs it in this process; `index.ray_ingest.RayIngest` runs the same
`chunk_and_embed` on Ray actors. Both give the writer the same rows, so a segment does not depend
on where it was made.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from index.articles import Article
from index.chunking import Chunk, Chunker, ChunkerConfig
from index.embedders import Embedder
from index.sentences import split_sentences

# Called as work completes: (articles done, chunks made) since the last call.
ProgressFn = Callable[[int, int], None]


class Vectors(NamedTuple):
    """What a chunk is embedded as: its text (title and quote), and each sentence of its quote
    alone (a question is often answered by one sentence, which the whole passage dilutes)."""

    passage: np.ndarray  # float32 [dim]
    sentences: np.ndarray  # float16 [sentences of the quote, dim], as a segment stores them


@dataclass(frozen=True)
class Embedded:
    """A batch of articles chunked: every row, and vectors for the texts that had none stored."""

    rows: list[Chunk]
    new: dict[str, Vectors] = field(default_factory=dict)  # embed hash -> vectors


def chunk_and_embed(
    articles: Sequence[Article], chunker: Chunker, embedder: Embedder, known: Container[str]
) -> Embedded:
    """Chunk `articles` and embed each distinct text whose hash is not `known` (once), and the
    sentences of its quote (each distinct sentence once)."""
    made = [e for a in articles for e in chunker.chunk(a)]
    rows = [e.chunk for e in made]
    todo = {e.chunk.embed_hash: e for e in made if e.chunk.embed_hash not in known}
    if not todo:
        return Embedded(rows)
    passages = embedder.embed_documents([e.text for e in todo.values()])
    split = [[e.chunk.text[a:b] for a, b in split_sentences(e.chunk.text)] for e in todo.values()]
    distinct = {s: i for i, s in enumerate(dict.fromkeys(s for sentences in split for s in sentences))}
    matrix = np.zeros((0, passages.shape[1]), dtype=np.float16)
    if distinct:
        matrix = embedder.embed_documents(list(distinct)).astype(np.float16)
    new = {
        h: Vectors(v, matrix[[distinct[s] for s in sentences]].reshape(len(sentences), -1))
        for h, v, sentences in zip(todo, passages, split, strict=True)
    }
    return Embedded(rows, new)


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

    def __init__(self, embedder: Embedder, chunker: ChunkerConfig) -> None:
        self.embedder = embedder
        self.chunker = Chunker(embedder.tokenizer, chunker, embedder.name)

    def run(self, batches: list[list[Article]], known: Collection[str], progress: ProgressFn) -> Iterator[Embedded]:
        for batch in batches:
            done = chunk_and_embed(batch, self.chunker, self.embedder, known)
            progress(len(batch), len(done.rows))
            yield done

    def close(self) -> None:
        pass
