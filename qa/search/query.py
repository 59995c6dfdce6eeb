"""A question parsed once: what every stage of the read core reads, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.lexical import tokenize
from qa.search.filters import Filters


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[str, ...]  # BM25 terms (index.lexical.tokenize)
    vector: np.ndarray  # the question's embedding, L2-normalised, read-only
    k: int  # passages wanted
    filters: Filters | None = None

    @classmethod
    def parse(cls, text: str, embed: Callable[[str], np.ndarray], k: int, filters: Filters | None = None) -> Query:
        return cls(text, tuple(tokenize([text])[0]), embed(text), k, filters or None)
