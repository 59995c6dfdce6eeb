"""The first stage: the best rows of every segment by dense and by BM25 score.

For hybrid retrieval each candidate of either list is scored by both methods here, so fusion
works on values alone and never goes back to the segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from qa.search.hits import Hit, ranking
from qa.search.query import Query
from qa.search.segment import LoadedSegment
from qa.search.snapshot import Snapshot
from qa.search.timing import StageTimes

Method = Literal["dense", "bm25", "hybrid"]
METHODS: tuple[Method, ...] = ("bm25", "dense", "hybrid")
Found = list[tuple[LoadedSegment, np.ndarray, np.ndarray]]  # (segment, scores, rows) per segment


@dataclass(frozen=True)
class Candidates:
    dense: list[Hit]  # the best by inner product, best first
    lexical: list[Hit]  # the best by BM25, best first
    union: list[Hit]  # each candidate once (dense first, then lexical-only), scored below
    dense_scores: np.ndarray  # inner product of each union candidate
    lexical_scores: np.ndarray  # BM25 score of each union candidate


Masks = dict[str, np.ndarray]  # segment name -> its live rows passing the query's filters


def allowed_rows(snap: Snapshot, query: Query) -> Masks:
    return {seg.name: snap.allowed(seg, query.filters) for seg in snap.segments}


def dense_top(snap: Snapshot, query: Query, k: int, masks: Masks | None = None) -> list[Hit]:
    """The k best live rows passing the filters by inner product: exact search, or for large
    segments approximate search re-scored exactly (qa/search/ann.py)."""
    masks = masks if masks is not None else allowed_rows(snap, query)
    found: Found = []
    for seg in snap.segments:
        allowed = masks[seg.name]
        n = int(allowed.sum())
        if n == 0:
            continue
        bitmap = snap.bitmap(seg, allowed, bool(query.filters)) if n < len(allowed) else None
        scores, idx = seg.dense.search(query.vector, k, allowed, n, bitmap)
        found.append((seg, scores, idx))
    return _top(found, k)


def lexical_scores(snap: Snapshot, query: Query) -> dict[str, np.ndarray]:
    """BM25 score of every row of every segment, by segment name (deleted rows too)."""
    return {seg.name: snap.bm25.scores(seg.postings, query.terms) for seg in snap.segments}


def lexical_top(
    snap: Snapshot, query: Query, k: int, scores: dict[str, np.ndarray] | None = None, masks: Masks | None = None
) -> list[Hit]:
    """The k best live rows passing the filters by BM25 over this commit's live rows."""
    scores = scores if scores is not None else lexical_scores(snap, query)
    masks = masks if masks is not None else allowed_rows(snap, query)
    found: Found = []
    for seg in snap.segments:
        bm25 = scores[seg.name]
        rows = np.flatnonzero(masks[seg.name] & (bm25 > 0))
        if len(rows) > k:
            rows = rows[np.argpartition(-bm25[rows], k - 1)[:k]]
        found.append((seg, bm25[rows], rows))
    return _top(found, k)


def hybrid(snap: Snapshot, query: Query, pool: int, times: StageTimes | None = None) -> Candidates:
    """Both top lists, and both scores of every row in either."""
    times = times or StageTimes()
    with times("dense"):
        masks = allowed_rows(snap, query)  # once for both lists: filters compare every row's columns
        dense = dense_top(snap, query, pool, masks)
    with times("lexical"):
        scores = lexical_scores(snap, query)
        lexical = lexical_top(snap, query, pool, scores, masks)
    with times("fuse"):
        union = list({h.key: h for h in dense + lexical}.values())
        q = np.asarray(query.vector, dtype=np.float32)
        dense_scores = np.array([float(h.vector @ q) for h in union])
        lexical_scores_ = np.array([float(scores[h.segment][h.index]) for h in union])
    return Candidates(dense, lexical, union, dense_scores, lexical_scores_)


def _top(found: Found, k: int) -> list[Hit]:
    """The k best of the (segment, scores, rows) found, in `ranking` order. Hits are made only for
    rows scoring at least the k-th best score: the others cannot make the cut."""
    if not found:
        return []
    scores = np.concatenate([s for _, s, _ in found])
    floor = np.partition(scores, len(scores) - k)[len(scores) - k] if len(scores) > k else -np.inf
    hits: list[Hit] = []
    for seg, seg_scores, rows in found:
        keep = seg_scores >= floor
        hits.extend(seg.hit(i, s) for s, i in zip(seg_scores[keep].tolist(), rows[keep].tolist(), strict=True))
    hits.sort(key=ranking)
    return hits[:k]
