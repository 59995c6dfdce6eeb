"""The lexical side of a segment: stemmed term counts of each chunk row, for BM25.

Each segment stores a sparse rows x terms count matrix (`lexical.npz`) and its vocabulary
(`vocab.json`); collection statistics (document frequencies, average length) are not stored but
computed over the live rows of a commit when it is loaded, so deletions and new segments never
leave stale statistics behind. Tokens: bm25s's tokenizer (its word pattern and English stopwords)
and the Snowball English stemmer (PyStemmer), without bm25s's per-call and per-text set-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s.tokenize's default token_pattern


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased word tokens, English stopwords removed, stemmed: what
    `bm25s.tokenize(texts, stopwords="en", stemmer=<PyStemmer english>, return_ids=False)` returns."""
    stem, stopwords = _stemmer().stemWords, _stopwords()
    return [stem([w for w in _WORD.findall(text.lower()) if w not in stopwords]) for text in texts]


@dataclass(frozen=True)
class TermMatrix:
    counts: sparse.csr_matrix  # rows x terms, term frequency in each row
    vocab: list[str]

    @classmethod
    def build(cls, texts: Sequence[str]) -> TermMatrix:
        index: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for r, tokens in enumerate(tokenize(texts)):
            counted: dict[int, int] = {}
            for t in tokens:
                j = index.setdefault(t, len(index))
                counted[j] = counted.get(j, 0) + 1
            rows.extend([r] * len(counted))
            cols.extend(counted)
            vals.extend(counted.values())
        counts = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
            shape=(len(texts), len(index)),
        )
        return cls(counts, list(index))

    @classmethod
    def empty(cls, rows: int) -> TermMatrix:
        return cls(sparse.csr_matrix((rows, 0), dtype=np.float32), [])

    def save(self, folder: Path) -> None:
        sparse.save_npz(folder / "lexical.npz", self.counts, compressed=False)
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TermMatrix:
        counts = sparse.load_npz(folder / "lexical.npz").tocsr()
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(counts, vocab)
