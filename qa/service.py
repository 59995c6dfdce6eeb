"""The service object every front end uses (CLI, HTTP, Slack): settings in, cited answers out."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Literal

import numpy as np

from index.articles import Article
from index.config import open_writer
from index.corpus_files import is_api_file, remove_article_file, write_api_article
from index.embedders import Embedder
from index.errors import BadArticle, IndexNotFound
from index.feeds.articles import fetch_into_corpus
from index.feeds.fetch import Fetcher
from index.feeds.poll import Poller
from index.manifest import ArticleEntry
from index.writer import IndexWriter, ReconcileResult
from qa.article_text import ArticleTexts
from qa.config import CROSS_ENCODER_THRESHOLD, EMBEDDING_THRESHOLD, Settings
from qa.contract import (
    ArticleList,
    ArticleOut,
    ArticleText,
    AskResult,
    Citation,
    SearchResult,
    SkippedFile,
    TimeApplied,
    WriteResult,
)
from qa.search.answer import Answer, Answerer, CrossEncoderAnswers, EmbeddingAnswers, answered, shown_with
from qa.search.candidates import Method
from qa.search.filters import Filters
from qa.search.hits import Hit, cite
from qa.search.pipeline import Pipeline
from qa.search.query import Query, iso
from qa.search.snapshot import IndexReader, Snapshot
from qa.search.timing import StageTimes
from qa.search.topics import TopicMatch, best_matches, focused

Sort = Literal["relevance", "date"]


@dataclass(frozen=True)
class Found:
    snap: Snapshot
    query: Query
    hits: list[Hit]
    time: TimeApplied | None
    window_empty: bool = False  # the question's window held nothing: these are outside it


class NotFound(LookupError):
    """No such article in the index."""


class Conflict(ValueError):
    """The request contradicts what the corpus holds."""


class BadRange(ValueError):
    """A character range that does not fit the article."""


READ_MORE = 8  # passages of the top article the answer stage reads beyond the cited ones (BBC: p99 6)


class QAService:
    """Holds the embedder, the index reader, the read pipeline and the writer; loads lazily,
    thread-safe."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or settings.embedder_config().load()
        _set_search_threads(settings.search_threads)
        self.reader = IndexReader(settings.index_dir, settings.ann_params())
        self.pipeline = Pipeline(settings)
        self.answerer = answerer_for(settings, self.embedder)
        self._write_lock = threading.Lock()
        self.texts = ArticleTexts(settings.corpus_dir, settings.max_article_bytes)
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

    def query(
        self, text: str, top_k: int | None = None, filters: Filters | None = None, now: dt.date | None = None
    ) -> Query:
        """The parsed question; with `now`, its time expressions are read against that day."""
        return Query.parse(text, self.query_vector, top_k or self.settings.top_k, filters, now)

    def retrieve(self, query: Query, method: Method | None = None) -> tuple[Snapshot, list[Hit]]:
        """The snapshot used and the ranked distinct passages."""
        snap = self.snapshot()
        return snap, self.pipeline.run(snap, query, method)

    def search(
        self,
        text: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        now: dt.date | None = None,
        sort: Sort = "relevance",
    ) -> SearchResult:
        t0 = time.perf_counter()
        times = StageTimes()
        found = self.in_time(text, top_k, filters, now, times)
        hits = by_date(found.hits) if sort == "date" else found.hits
        return SearchResult(
            query=text,
            results=cite(hits),
            index_version=found.snap.version,
            took_ms=_ms_since(t0),
            stages_ms=times.ms(),
            time=found.time,
        )

    def ask(
        self, question: str, top_k: int | None = None, filters: Filters | None = None, now: dt.date | None = None
    ) -> AskResult:
        t0 = time.perf_counter()
        times = StageTimes()
        found = self.in_time(question, top_k, filters, now, times)
        citations = cite(found.hits)
        sentences, message = [], None
        if not found.window_empty:
            with times("answer"):
                chosen, citations = self.answer(found.snap, found.query, citations)
            sentences, message = chosen.sentences, chosen.reason
        elif found.time is not None:
            message = (
                f"Nothing in the corpus was published {found.time.reason}; the closest passages outside it follow."
            )
        return AskResult.of(
            question,
            sentences,
            citations,
            found.snap.version,
            _ms_since(t0),
            time=found.time,
            message=message,
            stages_ms=times.ms(),
        )

    def answer(self, snap: Snapshot, query: Query, citations: list[Citation]) -> tuple[Answer, list[Citation]]:
        """The answer from `read_for_answer`'s passages, with the citations to show it with: those
        passed, then the passages of the rest of the article that the answer quotes."""
        read = self.read_for_answer(snap, citations)
        return shown_with(answered(self.answerer, query, read, snap.bm25.idf), citations, read)

    def read_for_answer(self, snap: Snapshot, citations: list[Citation]) -> list[Citation]:
        """The cited passages, then the rest of the top article (its `READ_MORE` passages nearest the
        top one), numbered on: a news article is a few passages, and the one that matched the
        question best is often not the one answering it."""
        if not citations:
            return citations
        top, cited = citations[0], {(c.article_id, c.start, c.end) for c in citations}
        rest = [h for h in snap.passages([top.article_id]) if (h.row.article_id, h.row.start, h.row.end) not in cited]
        nearest = sorted(rest, key=lambda h: abs(h.row.start - top.start))[:READ_MORE]  # of a long article
        return citations + cite(sorted(nearest, key=lambda h: h.row.start), start=len(citations) + 1)

    def in_time(
        self, text: str, top_k: int | None, filters: Filters | None, now: dt.date | None, times: StageTimes
    ) -> Found:
        """Retrieval that reads the question's time against `now` (today by default) in a corpus
        whose articles have dates; when the window holds nothing, the closest passages outside it."""
        snap = self.snapshot()
        if not snap.dated or not self.settings.time_aware:
            with times("embed"):
                query = self.query(text, top_k, filters)
            return Found(snap, query, self.pipeline.run(snap, query, times=times), None)
        day = now or dt.date.today()
        with times("embed"):
            query = self.query(text, top_k, filters, day)
        hits = self.pipeline.run(snap, query, times=times)
        intent = query.time
        if intent is None or (intent.window is None and not intent.latest):
            return Found(snap, query, hits, None)
        if intent.window is None:
            reason = "a question about the current state: the newest of equally good passages first"
            return Found(
                snap, query, hits, TimeApplied(from_=None, to=None, reason=reason, latest=True, as_of=str(day))
            )
        window = intent.window
        applied = TimeApplied(from_=iso(window.start), to=iso(window.end), reason=window.reason, as_of=day.isoformat())
        if hits:
            return Found(snap, query, hits, applied)
        with times("embed"):
            plain = self.query(text, top_k, filters)  # the question as words, without the window
        outside = self.pipeline.run(snap, plain, times=times)
        said = f"between {iso(window.start) or 'the first article'} and {iso(window.end) or day}"
        empty = applied.model_copy(update={"reason": f"{said} ({window.reason})"})
        return Found(snap, plain, outside, empty, window_empty=True)

    def articles(
        self, since: dt.date | None = None, source: str | None = None, limit: int = 20, until: dt.date | None = None
    ) -> ArticleList:
        """What's new: articles published on or after `since` (and, given `until`, on or before it:
        undated ones then left out), from `source`, newest first."""
        snap = self.snapshot()
        return ArticleList(articles=_listed(snap, since, source, limit, until), index_version=snap.version)

    def latest(
        self,
        topic: str | None = None,
        since: dt.date | None = None,
        source: str | None = None,
        limit: int = 10,
        now: dt.date | None = None,
    ) -> SearchResult:
        """The newest articles (as of `now`, when given), each cited by its opening passage (score 0:
        nothing ranked them); with a `topic`, the passages that best match it, newest first."""
        if topic:
            return self.search(topic, limit, Filters.between(source, since, now), now, sort="date")
        t0 = time.perf_counter()
        snap = self.snapshot()  # one commit for the list and its passages
        ledes = snap.openings([a.id for a in _listed(snap, since, source, limit, now)])
        return SearchResult(query="", results=cite(ledes), index_version=snap.version, took_ms=_ms_since(t0))

    def article(self, article_id: str, start: int = 0, end: int | None = None) -> ArticleText:
        """The article's text from `start` to `end` (its end by default): the text its citations'
        offsets point into, as the loaded commit indexed it."""
        snap = self.snapshot()
        entry = snap.manifest.articles.get(article_id)
        if entry is None:
            raise NotFound(f"no article {article_id!r} in the index")
        article = self.texts.article(article_id, entry, snap.version)
        length = len(article.text)
        end = length if end is None else min(end, length)
        if start > length:
            raise BadRange(f"start {start} is past the end of the article ({length} characters)")
        if start < 0 or end < start:
            raise BadRange(
                f"the range {start}-{end} is empty or negative: start must be 0 or more and end at least start"
            )
        return ArticleText(
            id=article.id,
            title=article.title,
            url=article.url,
            published=article.published,
            source=article.source,
            text=article.text[start:end],
            start=start,
            end=end,
            length=length,
            index_version=snap.version,
        )

    def match_topics(self, topics: Sequence[str], article_ids: Collection[str], threshold: float) -> list[TopicMatch]:
        """Which of these articles match which topics at least `threshold` (qa/search/topics.py),
        each with its best passage narrowed to the part an alert quotes."""
        snap = self.snapshot()
        queries = [self.query(t) for t in topics]
        found = best_matches(snap, queries, article_ids, threshold)
        return [replace(m, hit=focused(m.hit, queries[m.topic], snap.bm25.idf)) for m in found]

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

    def fetch_url(self, url: str) -> WriteResult:
        """Fetch one page, extract its article, write it into the corpus folder (under `_fetched/`,
        keyed by its canonical URL: fetching it again rewrites the same file), then index it.
        FetchError (refused, unreachable, too large …) or BadArticle (no text) says why not."""
        with Fetcher(self.settings.fetch_config()) as fetcher:
            fetch_into_corpus(fetcher, Path(self.settings.corpus_dir), url)
        return self.reindex()

    def poller(self) -> Poller:
        """Polls the feeds of the feeds file into the corpus folder."""
        return Poller(Path(self.settings.corpus_dir), self.settings.feeds, self.settings.fetch_config())

    def _indexed(self, article_id: str) -> ArticleEntry | None:
        try:
            return self.refresh().manifest.articles.get(article_id)
        except IndexNotFound:
            return None


def answerer_for(settings: Settings, embedder: Embedder) -> Answerer:
    """The configured answer stage, with its calibrated threshold unless one is set."""
    if settings.answer_scorer == "embedding":
        threshold = EMBEDDING_THRESHOLD if settings.answer_threshold is None else settings.answer_threshold
        return EmbeddingAnswers(embedder, threshold)
    from index.embedders.cross_encoder import shared_cross_encoder

    threshold = CROSS_ENCODER_THRESHOLD if settings.answer_threshold is None else settings.answer_threshold
    return CrossEncoderAnswers(shared_cross_encoder(), threshold, pairs=settings.answer_pairs)


def _listed(
    snap: Snapshot, since: dt.date | None, source: str | None, limit: int, until: dt.date | None
) -> list[ArticleOut]:
    """The first `limit` of the commit's articles (newest first) passing the bounds; a model is
    made for those only."""
    floor = since.isoformat() if since else None
    ceiling = until.isoformat() if until else None
    wanted = (source or "").casefold()
    passing = (
        m
        for m in snap.articles
        if (floor is None or (m.published or "") >= floor)
        and (ceiling is None or "" < (m.published or "") <= ceiling)
        and (not wanted or (m.source or "").casefold() == wanted)
    )
    return [
        ArticleOut(id=m.id, title=m.title, url=m.url, published=m.published, source=m.source)
        for m in islice(passing, limit)
    ]


def by_date(hits: list[Hit]) -> list[Hit]:
    """Newest first (undated last), the ranking kept among equal dates."""
    return sorted(hits, key=lambda h: h.article.published or "", reverse=True)


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
