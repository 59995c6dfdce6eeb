"""The service object every front end uses (CLI, HTTP, Slack): settings in, cited passages out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from index.chunking import ChunkerConfig
from index.embedding import Embedder, load_embedder
from index.writer import IndexWriter
from qa.citations import Citation
from qa.config import Settings
from qa.reader import Hit, IndexReader, Snapshot


@dataclass(frozen=True)
class SearchResult:
    query: str
    citations: list[Citation]
    index_version: int
    took_ms: float

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "results": [c.to_dict() for c in self.citations],
            "index_version": self.index_version,
            "took_ms": round(self.took_ms, 2),
        }


class QAService:
    """Holds the embedder and the index reader; cheap to build, loads lazily."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or load_embedder(settings.model, settings.embed_batch_size)
        self.reader = IndexReader(settings.index_dir)

    def snapshot(self) -> Snapshot:
        """The newest commit, checked against the configured model."""
        snap = self.reader.refresh()
        snap.manifest.check_model(self.embedder.name, self.embedder.dim)
        return snap

    def search(self, query: str, top_k: int | None = None) -> SearchResult:
        t0 = time.perf_counter()
        snap = self.snapshot()
        k = top_k or self.settings.top_k
        hits = snap.dense(self.embedder.embed_query(query), k)
        citations = [to_citation(n, h) for n, h in enumerate(hits, start=1)]
        return SearchResult(query, citations, snap.version, (time.perf_counter() - t0) * 1000)

    def writer(self, *, progress: bool = False) -> IndexWriter:
        return build_writer(self.settings, self.embedder, progress=progress)


def build_writer(settings: Settings, embedder: Embedder, *, progress: bool = False) -> IndexWriter:
    config = ChunkerConfig(
        max_tokens=embedder.max_tokens, special_tokens=embedder.special_tokens, overlap=settings.chunk_overlap
    )
    return IndexWriter(
        Path(settings.index_dir), embedder, config, batch_articles=settings.batch_articles, progress=progress
    )


def to_citation(n: int, hit: Hit) -> Citation:
    a = hit.article
    return Citation(
        n=n,
        article_id=hit.row.article_id,
        title=a.get("title") or hit.row.article_id,
        url=a.get("url"),
        published=a.get("published"),
        source=a.get("source"),
        quote=hit.row.text,
        start=hit.row.start,
        end=hit.row.end,
        score=round(hit.score, 4),
    )
