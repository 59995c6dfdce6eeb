"""Dense search: inner product of normalised vectors with FAISS, deleted and filtered-out rows
excluded by a bitmap selector (so filters never cost results)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class DenseIndex(Protocol):
    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray, n_allowed: int, bitmap: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row numbers of the (at most) k best allowed rows by inner product, best first.
        `allowed`: mask of the rows allowed, `n_allowed` its count, `bitmap` the same packed for
        FAISS (None: all rows)."""
        ...


class ExactIndex:
    """An exact `IndexFlatIP` over a segment's vectors."""

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(vectors)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray, n_allowed: int, bitmap: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        params = None
        if bitmap is not None:
            selector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]  # stubs lack numpy overloads
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        scores, idx = self.index.search(q, min(k, n_allowed), params=params)
        keep = idx[0] >= 0
        return scores[0][keep], idx[0][keep]
