"""BM25 over the live rows of one commit (Lucene's variant, as bm25s computes it).

Per-segment term counts are stored with the segment; the collection statistics (number of live
rows, document frequencies, average length) are computed here, over the live rows only, so a
deleted chunk neither matches nor skews the statistics.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qa.reader import LoadedSegment


class BM25:
    def __init__(self, segments: list[LoadedSegment], live: dict[str, np.ndarray], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        df: Counter[str] = Counter()
        total_len, n = 0.0, 0
        for seg in segments:
            mask = live[seg.name]
            if not mask.any():
                continue
            counts = seg.segment.terms.counts[mask]
            per_term = np.diff(counts.tocsc().indptr)
            df.update({seg.segment.terms.vocab[j]: int(c) for j, c in enumerate(per_term) if c})
            total_len += float(seg.doc_len[mask].sum())
            n += int(mask.sum())
        self.n = n
        self.avg_len = total_len / n if n else 1.0
        self.df = df

    def idf(self, term: str) -> float:
        d = self.df.get(term, 0)
        return float(np.log(1.0 + (self.n - d + 0.5) / (d + 0.5)))

    def scores(self, seg: LoadedSegment, terms: list[str]) -> np.ndarray:
        """BM25 score of every row of the segment for the query's `terms` (from
        `index.lexical.tokenize`), deleted rows too: callers mask them."""
        out = np.zeros(len(seg.doc_len), dtype=np.float32)
        norm = self.k1 * (1.0 - self.b + self.b * seg.doc_len / self.avg_len)
        for term in terms:
            j = seg.term_ids.get(term)
            if j is None or term not in self.df:
                continue
            start, end = seg.term_columns.indptr[j], seg.term_columns.indptr[j + 1]
            rows = seg.term_columns.indices[start:end]
            tf = seg.term_columns.data[start:end]
            out[rows] += self.idf(term) * tf / (tf + norm[rows])
        return out
