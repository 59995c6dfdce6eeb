"""The service object every front end uses (CLI, HTTP, Slack): settings in, cited answers out."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from index.articles import Article
from index.chunking import ChunkerConfig
from index.corpus_files import is_api_file, remove_article_file, write_api_article
from index.embedding import Embedder, load_embedder
from index.errors import BadArticle, IndexNotFound
from index.manifest import ArticleEntry
from index.writer import IndexWriter, ReconcileResult
from qa.answer import NO_ANSWER, AnswerSentence, answer_text, extract
from qa.citations import Citation
from qa.config import Settings
from qa.reader import Filters, Hit, IndexReader, Snapshot
from qa.retrieval import retrieve


class NotFound(LookupError):
    """No such article in the index."""


class Conflict(ValueError):
    """The request contradicts what the corpus holds."""


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


@dataclass(frozen=True)
class AskResult:
    question: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    index_version: int
    took_ms: float

    @property
    def answer(self) -> str | None:
        return answer_text(self.sentences)

    def to_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.answer,
            "sentences": [s.to_dict() for s in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "index_version": self.index_version,
            "took_ms": round(self.took_ms, 2),
            "message": None if self.sentences else NO_ANSWER,
        }


class QAService:
    """Holds the embedder, the index reader and the writer; loads lazily, thread-safe."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or embedder_for(settings)
        _set_search_threads(settings.search_threads)
        self.reader = IndexReader(settings.index_dir, settings.ann_params())
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

    def retrieve(
        self, query: str, top_k: int | None = None, filters: Filters | None = None, method: str | None = None
    ) -> tuple[Snapshot, np.ndarray, list[Hit]]:
        """The snapshot used, the query vector, and the ranked distinct passages."""
        snap = self.snapshot()
        vector = self.query_vector(query)
        config = self.settings.retrieval_config(method)
        return snap, vector, retrieve(snap, query, vector, top_k or self.settings.top_k, filters, config)

    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> SearchResult:
        t0 = time.perf_counter()
        snap, _, hits = self.retrieve(query, top_k, filters)
        citations = [to_citation(n, h) for n, h in enumerate(hits, start=1)]
        return SearchResult(query, citations, snap.version, _ms_since(t0))

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> AskResult:
        t0 = time.perf_counter()
        snap, vector, hits = self.retrieve(question, top_k, filters)
        citations = [to_citation(n, h) for n, h in enumerate(hits, start=1)]
        sentences = extract(vector, citations, self.embedder, threshold=self.settings.answer_threshold)
        return AskResult(question, sentences, citations, snap.version, _ms_since(t0))

    # -- writing (each holds the single-writer lock, then loads the new commit) -----------------

    def writer(self, *, progress: bool = False) -> IndexWriter:
        return build_writer(self.settings, self.embedder, progress=progress)

    def reindex(self) -> ReconcileResult:
        """Reconcile the corpus folder with the index, as `qa index` does."""
        with self._write_lock:
            result = self.writer().reconcile(
                self.settings.corpus_dir, max_bytes=self.settings.max_article_bytes, wait=True
            )
        self.reader.refresh()
        return result

    def add_article(self, article: Article) -> ReconcileResult:
        """Write the article into the corpus folder (under `_api/`), then index it."""
        entry = self._indexed(article.id)
        if entry is not None and not is_api_file(entry.path):
            raise Conflict(f"article {article.id!r} comes from corpus file {entry.path}; change it there")
        write_api_article(Path(self.settings.corpus_dir), article)
        return self.reindex()

    def delete_article(self, article_id: str) -> ReconcileResult:
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


def question_problem(text: str, settings: Settings, what: str = "the question") -> str | None:
    """Why a question or query is refused (empty, too long), or None: one rule for every front end."""
    if not text.strip():
        return f"{what} is empty"
    if len(text) > settings.max_query_chars:
        return f"{what} is {len(text):,} characters; the limit is {settings.max_query_chars:,}"
    return None


def _set_search_threads(n: int) -> None:
    """FAISS's OpenMP threads: process-wide. Concurrency comes from concurrent requests; splitting
    one small search over threads costs more than it saves (and much more on a busy machine)."""
    import faiss

    faiss.omp_set_num_threads(n)


def embedder_for(settings: Settings) -> Embedder:
    """The configured embedder (model, backend, batch size, ONNX cache)."""
    return load_embedder(
        settings.model, settings.embed_batch_size, backend=settings.embed_backend, cache_dir=settings.model_cache
    )


def build_writer(
    settings: Settings, embedder: Embedder, *, progress: bool = False, ray_address: str = ""
) -> IndexWriter:
    """The writer for `settings`; with `ray_address`, chunking and embedding run on that Ray cluster
    (close the writer to stop it)."""
    config = ChunkerConfig(
        max_tokens=embedder.max_tokens, special_tokens=embedder.special_tokens, overlap=settings.chunk_overlap
    )
    ingest = None
    if ray_address:
        from index.ray_ingest import RayIngest

        # Each worker has one core; it loads the model as configured here, with one thread.
        load = partial(
            load_embedder,
            settings.model,
            settings.embed_batch_size,
            settings.embed_backend,
            settings.model_cache,
            1,
        )
        ingest = RayIngest(ray_address, load, config, workers=settings.ray_workers)
    return IndexWriter(
        Path(settings.index_dir),
        embedder,
        config,
        batch_articles=settings.batch_articles,
        ann=settings.ann_config(),
        progress=progress,
        ingest=ingest,
        retire_grace_s=settings.retire_grace_s,
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


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
