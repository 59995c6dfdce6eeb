"""A candidate passage as it moves through the stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.articles import ArticleMeta
from index.chunking import Chunk
from qa.contract import Citation


@dataclass(frozen=True, slots=True)
class Hit:
    row: Chunk
    article: ArticleMeta
    score: float  # what the last stage ranked by
    segment: str  # the segment's name; (segment, index) identifies the row in a snapshot
    index: int  # row number in the segment
    vector: np.ndarray  # the row's embedding (a view of the segment's vectors)
    sentences: np.ndarray  # its quote's sentences' embeddings, float16 [n, dim] (a view; n may be 0)

    @property
    def key(self) -> tuple[str, int]:
        return (self.segment, self.index)

    def rescored(self, score: float) -> Hit:
        return Hit(self.row, self.article, score, self.segment, self.index, self.vector, self.sentences)


def ranking(h: Hit) -> tuple[float, str, int]:
    """Best first; ties by article id, then position in the article: a stable order."""
    return (-h.score, h.row.article_id, h.row.start)


def cite(hits: list[Hit], start: int = 1) -> list[Citation]:
    """The hits as numbered citations (from `start`), in rank order."""
    return [
        Citation(
            n=n,
            article_id=h.row.article_id,
            title=h.article.title or h.row.article_id,
            url=h.article.url,
            published=h.article.published,
            source=h.article.source,
            quote=h.row.text,
            start=h.row.start,
            end=h.row.end,
            score=round(h.score, 4),
        )
        for n, h in enumerate(hits, start=start)
    ]
