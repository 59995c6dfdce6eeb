"""The read core's stages in order: candidates -> fusion -> rerank -> latest -> collapse.

One `Pipeline` per service: it holds what the stages keep between queries (the reranker's
sentence cache, a cross-encoder), and runs a `Query` against a `Snapshot`.
"""

from __future__ import annotations

from qa.search.candidates import Method, dense_top, hybrid, lexical_top
from qa.search.collapse import collapse
from qa.search.fusion import fuse
from qa.search.hits import Hit
from qa.search.query import Query
from qa.search.recency import PreferNewest
from qa.search.rerank import CrossEncoder, Reranker, SentenceMatch, SentenceVectorMatch
from qa.search.settings import SearchSettings
from qa.search.snapshot import Snapshot
from qa.search.timing import StageTimes


class Pipeline:
    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings
        self.rerankers: list[Reranker] = []
        if settings.sentence_weight > 0:
            self.rerankers.append(SentenceMatch(settings.sentence_weight))
        if settings.sentence_vector_weight > 0:
            self.rerankers.append(SentenceVectorMatch(settings.sentence_vector_weight))
        if settings.reranker:
            self.rerankers.append(CrossEncoder(settings.reranker, settings.reranker_depth))
        self.latest = PreferNewest(tolerance=settings.latest_tolerance)

    def run(
        self, snap: Snapshot, query: Query, method: Method | None = None, times: StageTimes | None = None
    ) -> list[Hit]:
        """The ranked distinct passages for `query` (at most `query.k`); each stage's time is
        added to `times`."""
        s = self.settings
        times = times or StageTimes()
        method = method or s.retrieval
        pool = max(s.candidate_pool, 4 * query.k)
        rerankers: list[Reranker] = []
        if method == "dense":
            with times("dense"):
                hits = dense_top(snap, query, pool)
        elif method == "bm25":
            with times("lexical"):
                hits = lexical_top(snap, query, pool)
        else:
            candidates = hybrid(snap, query, pool, times)
            with times("fuse"):
                hits = fuse(candidates, s.fusion, s.dense_weight, s.rrf_k)
            rerankers = self.rerankers
        with times("rerank"):
            for stage in rerankers:
                hits = stage.rerank(query, hits, snap.bm25)
            if query.time is not None and query.time.latest:
                hits = self.latest.rerank(hits)
            hits = collapse(hits, query.k)
        return hits
