"""From a question to ranked, distinct passages: dense and BM25 candidates, fused, collapsed.

Fusion methods (the default is chosen by `qa eval`, see the README's retrieval section):
- `rrf`: weighted reciprocal-rank fusion, sum of w / (k + rank) over the two candidate lists;
- `score`: convex combination of min-max normalised scores over the union of both candidate
  pools, each candidate scored exactly by both methods.
Hybrid results then pass the rerankers of `qa/rerank.py` (sentence match; a cross-encoder when
`QA_RERANKER` names one). Collapsing keeps the best of passages that overlap in one article, quote the same text, or are
near-duplicates by embedding (syndicated copies of one story).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from qa.reader import Filters, Hit, Snapshot
from qa.rerank import CrossEncoder, Reranker, SentenceMatch

Method = Literal["dense", "bm25", "hybrid"]
METHODS: tuple[Method, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    method: Method = "hybrid"
    fusion: Literal["rrf", "score"] = "score"
    dense_weight: float = 0.6  # weight of the dense side (the lexical side gets 1 - it)
    rrf_k: int = 60
    pool: int = 100  # candidates taken from each side
    near_duplicate: float = 0.97  # cosine at or above which two passages are one story
    sentence_weight: float = 0.6  # SentenceMatch reranking of the fused list; 0 turns it off
    reranker: str = ""  # a local cross-encoder folder, run after SentenceMatch; empty: off


def retrieve(
    snap: Snapshot, query: str, vector: np.ndarray, k: int, filters: Filters | None, config: RetrievalConfig
) -> list[Hit]:
    pool = max(config.pool, 4 * k)
    if config.method == "dense":
        hits = snap.dense(vector, pool, filters)
    elif config.method == "bm25":
        hits = snap.lexical(query, pool, filters)
    else:
        hits = fuse(snap, query, vector, filters, pool, config)
        for stage in rerankers(snap, config):
            hits = stage.rerank(query, hits)
    return collapse(hits, k, config.near_duplicate)


def rerankers(snap: Snapshot, config: RetrievalConfig) -> list[Reranker]:
    stages: list[Reranker] = []
    if config.sentence_weight > 0:
        stages.append(SentenceMatch(snap.bm25, config.sentence_weight))
    if config.reranker:
        stages.append(_cross_encoder(config.reranker))
    return stages


@lru_cache(maxsize=2)
def _cross_encoder(path: str) -> CrossEncoder:
    return CrossEncoder(path)


def fuse(
    snap: Snapshot, query: str, vector: np.ndarray, filters: Filters | None, pool: int, config: RetrievalConfig
) -> list[Hit]:
    lexical_all = snap.lexical_scores(query)
    dense = snap.dense(vector, pool, filters)
    lexical = snap.lexical(query, pool, filters, lexical_all)
    key = _key
    if config.fusion == "rrf":
        fused: dict[tuple[str, int], float] = {}
        by_key: dict[tuple[str, int], Hit] = {}
        for weight, hits in ((config.dense_weight, dense), (1.0 - config.dense_weight, lexical)):
            for rank, h in enumerate(hits, start=1):
                fused[key(h)] = fused.get(key(h), 0.0) + weight / (config.rrf_k + rank)
                by_key.setdefault(key(h), h)
        return sorted((by_key[k].rescored(s) for k, s in fused.items()), key=_order)

    candidates = {key(h): h for h in dense + lexical}
    if not candidates:
        return []
    hits = list(candidates.values())
    q = np.asarray(vector, dtype=np.float32)
    dense_scores = np.array([float(h.vector @ q) for h in hits])
    lexical_scores = np.array([float(lexical_all[h.segment][h.index]) for h in hits])
    combined = config.dense_weight * _minmax(dense_scores) + (1.0 - config.dense_weight) * _minmax(lexical_scores)
    return sorted((h.rescored(float(s)) for h, s in zip(hits, combined, strict=True)), key=_order)


def collapse(hits: list[Hit], k: int, near_duplicate: float) -> list[Hit]:
    """The first k hits that neither overlap a better hit of the same article, nor repeat its
    quote, nor are near-duplicates of it by embedding."""
    kept: list[Hit] = []
    quotes: set[str] = set()
    spans: dict[str, list[tuple[int, int]]] = {}
    vectors: np.ndarray | None = None
    for h in hits:
        quote = " ".join(h.row.text.split())
        if quote in quotes:
            continue
        if any(h.row.start < end and start < h.row.end for start, end in spans.get(h.row.article_id, ())):
            continue
        v = h.vector
        if vectors is None:
            vectors = np.empty((k, len(v)), dtype=np.float32)
        if kept and float(np.max(vectors[: len(kept)] @ v)) >= near_duplicate:
            continue
        vectors[len(kept)] = v
        kept.append(h)
        quotes.add(quote)
        spans.setdefault(h.row.article_id, []).append((h.row.start, h.row.end))
        if len(kept) == k:
            break
    return kept


def _key(h: Hit) -> tuple[str, int]:
    return (h.segment.name, h.index)


def _order(h: Hit) -> tuple[float, str, int]:
    return (-h.score, h.row.article_id, h.row.start)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)
