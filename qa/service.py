"""The service object every front end uses (CLI, HTTP, Slack): settings in, cited answers out."""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.articles import Article
from index.config import open_writer
from index.corpus_files import is_api_file, remove_article_file, write_api_article
from index.embedders import Embedder
from index.errors import BadArticle, IndexNotFound
from index.manifest import ArticleEntry
from index.writer import IndexWriter, ReconcileResult
from qa.config import Settings
from qa.contract import AskResult, Citation, SearchResult, SkippedFile, WriteResult
from qa.search.answer import extract
from qa.search.candidates import Method
from qa.search.filters import Filters
from qa.search.hits import Hit
from qa.search.pipeline import Pipeline
from qa.search.query import Query
from qa.search.snapshot import IndexReader, Snapshot


class NotFound(LookupError):
    """No such article in the index."""


class Conflict(ValueError):
    """The request contradicts what the corpus holds."""


class QAService:
    """Holds the embedder, the index reader, the read pipeline and the writer; loads lazily,
    thread-safe."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or settings.embedder_config().load()
        _set_search_threads(settings.search_threads)
        self.reader = IndexReader(settings.index_dir, settings.ann_params())
        self.pipeline = Pipeline(settings)
        self._write_lock = threading.Lock()
        # Repeated questions (a page reload, a Slack retry, a popular query) skip the model.
        self.query_vector = lru_cache(maxsize=settings.query_cache_size)(self._embed_query)

    # -- reading -------------------------------------------------------------------------------

    def _embed_query(self, text: str) -> np.ndarray:
        vector = self.embedder.embed_query(text)
        vector.setflags(write=False)  # shared by every caller of the cache
        return vector

    def snapshot(self) -> Snapshot:
        """The loaded commit (the newest one on first use), checked against the configured model."""
        snap = self.reader.snapshot()
        snap.manifest.check_model(self.embedder.name, self.embedder.dim)
        return snap

    def refresh(self) -> Snapshot:
        """Load the newest commit now, if there is a newer one."""
        self.reader.refresh()
        return self.snapshot()

    def query(self, text: str, top_k: int | None = None, filters: Filters | None = None) -> Query:
        return Query.parse(text, self.query_vector, top_k or self.settings.top_k, filters)

    def retrieve(self, query: Query, method: Method | None = None) -> tuple[Snapshot, list[Hit]]:
        """The snapshot used and the ranked distinct passages."""
        snap = self.snapshot()
        return snap, self.pipeline.run(snap, query, method)

    def search(self, text: str, top_k: int | None = None, filters: Filters | None = None) -> SearchResult:
        t0 = time.perf_counter()
        snap, hits = self.retrieve(self.query(text, top_k, filters))
        return SearchResult(query=text, results=cite(hits), index_version=snap.version, took_ms=_ms_since(t0))

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> AskResult:
        t0 = time.perf_counter()
        query = self.query(question, top_k, filters)
        snap, hits = self.retrieve(query)
        citations = cite(hits)
        sentences = extract(query.vector, citations, self.embedder, threshold=self.settings.answer_threshold)
        return AskResult.of(question, sentences, citations, snap.version, _ms_since(t0))

    # -- writing (each holds the single-writer lock, then loads the new commit) -----------------

    def writer(self, *, progress: bool = False) -> IndexWriter:
        return open_writer(self.settings, self.embedder, progress=progress)

    def reindex(self) -> WriteResult:
        """Reconcile the corpus folder with the index, as `qa index` does."""
        with self._write_lock:
            result = self.writer().reconcile(
                self.settings.corpus_dir, max_bytes=self.settings.max_article_bytes, wait=True
            )
        self.reader.refresh()
        return write_result(result)

    def add_article(self, article: Article) -> WriteResult:
        """Write the article into the corpus folder (under `_api/`), then index it."""
        entry = self._indexed(article.id)
        if entry is not None and not is_api_file(entry.path):
            raise Conflict(f"article {article.id!r} comes from corpus file {entry.path}; change it there")
        write_api_article(Path(self.settings.corpus_dir), article)
        return self.reindex()

    def delete_article(self, article_id: str) -> WriteResult:
        """Remove the article's file from the corpus folder, then reconcile."""
        entry = self._indexed(article_id)
        if entry is None:
            raise NotFound(f"no article {article_id!r} in the index")
        try:
            remove_article_file(Path(self.settings.corpus_dir), entry.path)
        except BadArticle as e:
            raise Conflict(str(e)) from e
        return self.reindex()

    def _indexed(self, article_id: str) -> ArticleEntry | None:
        try:
            return self.refresh().manifest.articles.get(article_id)
        except IndexNotFound:
            return None


def cite(hits: list[Hit]) -> list[Citation]:
    """The hits as numbered citations, in rank order."""
    return [
        Citation(
            n=n,
            article_id=h.row.article_id,
            title=h.article.title or h.row.article_id,
            url=h.article.url,
            published=h.article.published,
            source=h.article.source,
            quote=h.row.text,
            start=h.row.start,
            end=h.row.end,
            score=round(h.score, 4),
        )
        for n, h in enumerate(hits, start=1)
    ]


def write_result(result: ReconcileResult) -> WriteResult:
    plan = result.plan
    return WriteResult(
        index_version=result.index_version,
        added=[a.id for a in plan.added],
        changed=[a.id for a in plan.changed],
        deleted=plan.deleted,
        unchanged=len(plan.unchanged),
        skipped=[SkippedFile(path=s.path, reason=s.reason) for s in plan.skipped],
        chunks_embedded=result.chunks_embedded,
    )


def _set_search_threads(n: int) -> None:
    """FAISS's OpenMP threads: process-wide. Concurrency comes from concurrent requests; splitting
    one small search over threads costs more than it saves (and much more on a busy machine)."""
    import faiss

    faiss.omp_set_num_threads(n)


def _ms_since(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
