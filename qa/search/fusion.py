"""Fusing the dense and BM25 candidates into one ranked list (the default is chosen by `qa eval`):
- `score`: convex combination of min-max normalised scores over the union of both candidate
  pools, each candidate scored by both methods;
- `rrf`: weighted reciprocal-rank fusion, sum of w / (k + rank) over the two lists.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from qa.search.candidates import Candidates
from qa.search.hits import Hit, ranking

Fusion = Literal["score", "rrf"]


def fuse(candidates: Candidates, how: Fusion, dense_weight: float, rrf_k: int) -> list[Hit]:
    if how == "rrf":
        return _rrf(candidates, dense_weight, rrf_k)
    if not candidates.union:
        return []
    combined = dense_weight * _minmax(candidates.dense_scores) + (1.0 - dense_weight) * _minmax(
        candidates.lexical_scores
    )
    return sorted((h.rescored(float(s)) for h, s in zip(candidates.union, combined, strict=True)), key=ranking)


def _rrf(candidates: Candidates, dense_weight: float, rrf_k: int) -> list[Hit]:
    fused: dict[tuple[str, int], float] = {}
    by_key: dict[tuple[str, int], Hit] = {}
    for weight, hits in ((dense_weight, candidates.dense), (1.0 - dense_weight, candidates.lexical)):
        for rank, h in enumerate(hits, start=1):
            fused[h.key] = fused.get(h.key, 0.0) + weight / (rrf_k + rank)
            by_key.setdefault(h.key, h)
    return sorted((by_key[k].rescored(s) for k, s in fused.items()), key=ranking)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)
