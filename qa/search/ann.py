"""Searching a large segment's approximate index: the read side of large-index mode (index/ann.py).

The segment's `ann.faiss` is memory-mapped; a query takes its approximate best `rerank * k` rows,
deleted and filtered-out rows excluded by the same bitmap selector as exact search, and re-scores
them exactly against the segment's float32 vectors (memory-mapped `vectors.npy`), so the scores
returned are true inner products. When the allowed rows are a small share of the segment
(`exact_fraction`), or the probed part of the index held fewer than k of them, the allowed rows
are scanned exactly instead: a selective filter never costs results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.ann import AnnConfig
from index.errors import CorruptIndex

_SCAN_BLOCK = 32_768  # rows scored at a time by an exact scan


@dataclass(frozen=True)
class AnnParams:
    """How large segments are searched (`QA_ANN_*` settings)."""

    min_rows: int = AnnConfig.min_rows  # segments with fewer rows are searched exactly, ANN file or not
    nprobe: int = 64  # IVF lists probed a query
    ef_search: int = 128  # HNSW candidate list (at least the candidates re-scored)
    rerank: int = 4  # approximate candidates re-scored exactly, per result asked for
    exact_fraction: float = 0.05  # below this share of allowed rows, scan them exactly

    def wanted(self, rows: int) -> bool:
        return self.min_rows > 0 and rows >= self.min_rows


class AnnIndex:
    """A segment's approximate index with exact re-scoring; thread-safe for searching."""

    def __init__(self, path: Path, vectors: np.ndarray, params: AnnParams) -> None:
        import faiss

        try:
            self.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)  # IVF lists are mapped, not read
        except RuntimeError as e:  # faiss reports a missing file the same way as a broken one
            if not path.exists():
                raise FileNotFoundError(path) from e
            raise CorruptIndex(f"{path} cannot be read: {e}") from e
        if self.index.ntotal != len(vectors) or self.index.d != vectors.shape[1]:
            raise CorruptIndex(f"{path} holds {self.index.ntotal} vectors of dim {self.index.d}, not {vectors.shape}")
        self.is_ivf = isinstance(self.index, faiss.IndexIVF)
        if isinstance(self.index, faiss.IndexIVF) and self.index.invlists is not None:
            lists = faiss.downcast_InvertedLists(self.index.invlists)
            if isinstance(lists, faiss.OnDiskInvertedLists):  # what IO_FLAG_MMAP gives
                lists.prefetch_nthread = 0  # its prefetch threads cost ~1.5 ms a query; the pages are mapped
        self.vectors = np.asarray(vectors, dtype=np.float32)  # a plain view of the mapped vectors.npy
        self.params = params

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray, n_allowed: int, bitmap: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and rows of the (at most) k best allowed rows, best first. `allowed` is the mask
        of allowed rows, `n_allowed` its count, `bitmap` the same packed for FAISS (None: all)."""
        import faiss

        k = min(k, n_allowed)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        if n_allowed < self.params.exact_fraction * len(allowed):
            return self.rescore(query, np.flatnonzero(allowed), k)
        wanted = min(self.params.rerank * k, n_allowed)
        kwargs: dict[str, object] = {}
        if bitmap is not None:
            kwargs["sel"] = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]  # stubs lack numpy overloads
        params: faiss.SearchParameters
        if self.is_ivf:
            params = faiss.SearchParametersIVF(nprobe=self.params.nprobe, **kwargs)  # type: ignore[call-arg]
        else:  # HNSW (index/ann.py kind "hnsw")
            ef = max(self.params.ef_search, wanted)
            params = faiss.SearchParametersHNSW(efSearch=ef, **kwargs)  # type: ignore[attr-defined]
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        _, idx = self.index.search(q, wanted, params=params)
        candidates = idx[0][idx[0] >= 0]
        if len(candidates) < k:  # the probed lists held too few allowed rows
            candidates = np.flatnonzero(allowed)
        return self.rescore(query, candidates, k)

    def rescore(self, query: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best of `rows` by exact inner product with the float32 vectors, best first."""
        q = np.asarray(query, dtype=np.float32).ravel()
        rows = np.sort(rows)  # reads the memory-mapped vectors in file order
        kept_rows, kept_scores = [], []
        for start in range(0, len(rows), _SCAN_BLOCK):  # bounded memory for a long exact scan
            block = rows[start : start + _SCAN_BLOCK]
            # einsum, not matmul: BLAS would spread one query over threads that wait on a busy machine
            scores = np.einsum("ij,j->i", np.take(self.vectors, block, axis=0), q)
            if len(block) > k:
                top = np.argpartition(-scores, k - 1)[:k]
                block, scores = block[top], scores[top]
            kept_rows.append(block)
            kept_scores.append(scores)
        all_rows, all_scores = np.concatenate(kept_rows), np.concatenate(kept_scores)
        order = np.argsort(-all_scores, kind="stable")[:k]
        return all_scores[order], all_rows[order]
