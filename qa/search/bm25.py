"""BM25 over the live rows of one commit (Lucene's variant, as bm25s computes it).

Each segment stores its term counts (index/lexical.py); a segment's `Postings` holds them by term.
The collection statistics (number of live rows, document frequencies, average length) are computed
here over the live rows only, so a deleted chunk neither matches nor skews the statistics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from index.lexical import TermMatrix

# Term-frequency saturation and length normalisation. b is 1, not Lucene's 0.75: chosen with
# `qa eval` over a k1/b grid on SQuAD and ArguAna (README, "Retrieval quality").
K1 = 1.5
B = 1.0


class Postings:
    """One segment's term counts, by term (column-major) and by row (lengths)."""

    def __init__(self, terms: TermMatrix) -> None:
        self.counts = terms.counts  # rows x terms
        self.vocab = terms.vocab
        self.columns = terms.counts.tocsc()
        self.term_ids = {t: j for j, t in enumerate(terms.vocab)}
        self.doc_len = np.asarray(terms.counts.sum(axis=1), dtype=np.float32).ravel()

    def __len__(self) -> int:
        return len(self.doc_len)


class BM25:
    """Collection statistics over the live rows of `postings` (each with its live-row mask)."""

    def __init__(self, postings: Sequence[tuple[Postings, np.ndarray]], k1: float = K1, b: float = B):
        self.k1, self.b = k1, b
        df: Counter[str] = Counter()
        total_len, n = 0.0, 0
        for p, mask in postings:
            if not mask.any():
                continue
            per_term = np.diff(p.counts[mask].tocsc().indptr)
            df.update({p.vocab[j]: int(c) for j, c in enumerate(per_term) if c})
            total_len += float(p.doc_len[mask].sum())
            n += int(mask.sum())
        self.n = n
        self.avg_len = total_len / n if n else 1.0
        self.df = df

    def idf(self, term: str) -> float:
        d = self.df.get(term, 0)
        return float(np.log(1.0 + (self.n - d + 0.5) / (d + 0.5)))

    def scores(self, p: Postings, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every row of a segment for the query's `terms`, deleted rows too:
        callers mask them."""
        out = np.zeros(len(p), dtype=np.float32)
        for term in terms:
            j = p.term_ids.get(term)
            if j is None or term not in self.df:
                continue
            start, end = p.columns.indptr[j], p.columns.indptr[j + 1]
            rows = p.columns.indices[start:end]
            tf = p.columns.data[start:end]
            norm = self.k1 * (1.0 - self.b + self.b * p.doc_len[rows] / self.avg_len)  # of these rows only
            out[rows] += self.idf(term) * tf / (tf + norm)
        return out
