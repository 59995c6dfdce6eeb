"""One passage per span, quote and story: the best of passages that overlap in one article, quote
the same text, or are near-duplicates by embedding (syndicated copies of one story)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.search.hits import Hit

NEAR_DUPLICATE = 0.97  # cosine at or above which two passages are one story


def collapse(hits: list[Hit], k: int, near_duplicate: float = NEAR_DUPLICATE) -> list[Hit]:
    """The first k hits that neither overlap a better hit of the same article, nor repeat its
    quote, nor are near-duplicates of it by embedding."""
    kept: list[Hit] = []
    quotes: set[str] = set()
    spans: dict[str, list[tuple[int, int]]] = {}
    vectors: np.ndarray | None = None
    for h in hits:
        quote = flat(h.row.text)
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


def flat(quote: str) -> str:
    """A quote with its white space collapsed: two copies of one text compare equal."""
    return " ".join(quote.split())


def copy_of(
    quote: str, vector: np.ndarray, quotes: Sequence[str], vectors: Sequence[np.ndarray | None],
    near_duplicate: float = NEAR_DUPLICATE,
) -> int | None:  # fmt: skip
    """The position of the first earlier passage this one repeats, by the rules `collapse` drops
    passages by (the same quote, or an embedding at least `near_duplicate` close), or None."""
    mine = flat(quote)
    for i, (q, v) in enumerate(zip(quotes, vectors, strict=True)):
        if flat(q) == mine or (v is not None and len(v) == len(vector) and float(v @ vector) >= near_duplicate):
            return i
    return None
