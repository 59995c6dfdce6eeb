"""Reranking stages, applied to the top of the fused list.

- `SentenceMatch` (on by default; chosen by `qa eval`): a passage gains by its best sentence,
  the sum of the BM25 idf of the question's terms that the sentence holds. An answer tends to sit
  in one sentence that shares the question's words; this lifts SQuAD nDCG@10 by about 0.008.
- `CrossEncoder`: a sentence-transformers cross-encoder read from a local folder (`QA_RERANKER`),
  off unless configured; no cross-encoder ships inside a PyPI package today.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.errors import IndexStoreError
from index.lexical import tokenize

if TYPE_CHECKING:
    from qa.bm25 import BM25
    from qa.reader import Hit


class Reranker(Protocol):
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


class SentenceMatch:
    def __init__(self, bm25: BM25, weight: float, depth: int = 30) -> None:
        self.bm25, self.weight, self.depth = bm25, weight, depth

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        terms = set(tokenize([query])[0])
        top = hits[: self.depth]
        if not terms or len(top) < 2 or self.weight <= 0:
            return hits
        idf = {t: self.bm25.idf(t) for t in terms}
        best = np.array(
            [
                max(
                    (sum(idf[t] for t in terms.intersection(s)) for s in h.segment.sentence_terms(h.index)),
                    default=0.0,
                )
                for h in top
            ]
        )
        if best.max() <= 0:
            return hits
        scores = np.array([h.score for h in top])
        spread = float(scores.max() - scores.min()) or 1.0
        boosted = scores + self.weight * spread * best / best.max()
        order = np.argsort(-boosted, kind="stable")
        return [top[j].rescored(float(boosted[j])) for j in order] + hits[self.depth :]


class CrossEncoder:
    def __init__(self, path: str, depth: int = 30) -> None:
        if not Path(path).expanduser().is_dir():
            raise IndexStoreError(f"QA_RERANKER {path!r} is not a local folder holding a cross-encoder")
        self.path, self.depth = str(Path(path).expanduser()), depth

    @cached_property
    def model(self) -> Any:
        from sentence_transformers import CrossEncoder as STCrossEncoder

        return STCrossEncoder(self.path, device="cpu", local_files_only=True)

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        top = hits[: self.depth]
        if not top:
            return hits
        scores = np.asarray(self.model.predict([(query, h.row.text) for h in top]), dtype=np.float64).ravel()
        order = np.argsort(-scores, kind="stable")
        return [top[j].rescored(float(scores[j])) for j in order] + hits[self.depth :]
