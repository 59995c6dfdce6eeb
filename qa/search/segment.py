"""A segment as the reader holds it, shared by every snapshot that lists it: its rows and
articles, and what each stage searches it by (the dense index, the filter columns, the BM25
postings), each its own small object."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from index.ann import ANN_FILE
from index.segments import Segment, read_segment, segment_dir
from qa.search.ann import AnnIndex, AnnParams
from qa.search.bm25 import Postings
from qa.search.dense import DenseIndex, ExactIndex
from qa.search.filters import Filters
from qa.search.hits import Hit


class FilterColumns:
    """Each row's article source (case-folded) and date, for metadata filters."""

    def __init__(self, segment: Segment) -> None:
        metas = [segment.articles[r.article_id] for r in segment.rows]
        self.source = np.array([(m.source or "").casefold() for m in metas], dtype=str)
        self.published = np.array([m.published or "" for m in metas], dtype=str)

    def matching(self, filters: Filters) -> np.ndarray:
        """Rows whose article passes the filters."""
        mask = np.ones(len(self.source), dtype=bool)
        if filters.source:
            mask &= self.source == filters.source.casefold()
        if filters.published_after:
            mask &= (self.published != "") & (self.published >= filters.published_after)
        if filters.published_before:
            mask &= (self.published != "") & (self.published <= filters.published_before)
        return mask


class LoadedSegment:
    def __init__(self, segment: Segment, dense: DenseIndex) -> None:
        self.name = segment.name
        self.rows = segment.rows
        self.articles = segment.articles
        self.vectors = np.asarray(segment.vectors, dtype=np.float32)
        self.sentences = segment.sentences
        self.dense = dense
        self.columns = FilterColumns(segment)
        self.postings = Postings(segment.terms)

    @classmethod
    def load(cls, index_dir: Path, name: str, ann: AnnParams | None = None) -> LoadedSegment:
        """Read a segment; searched through its approximate index (vectors memory-mapped) when it
        has one and is large enough for `ann`. FileNotFoundError if it is gone."""
        ann = ann or AnnParams()
        path = segment_dir(index_dir, name) / ANN_FILE
        if path.is_file():
            segment = read_segment(index_dir, name, mmap=True)
            if ann.wanted(len(segment.rows)):
                return cls(segment, AnnIndex(path, segment.vectors, ann))
            return cls(segment, ExactIndex(segment.vectors))
        segment = read_segment(index_dir, name)
        return cls(segment, ExactIndex(segment.vectors))

    def __len__(self) -> int:
        return len(self.rows)

    @cached_property
    def _article_rows(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for i, row in enumerate(self.rows):
            rows.setdefault(row.article_id, []).append(i)
        return rows

    def rows_of(self, article_id: str) -> list[int]:
        """The rows of one article (live or not), in article order."""
        return self._article_rows.get(article_id, [])

    def terms_of(self, i: int) -> frozenset[str]:
        """The BM25 terms of row `i` (its title and passage, as BM25 reads them)."""
        counts = self.postings.counts
        return frozenset(self.postings.vocab[j] for j in counts.indices[counts.indptr[i] : counts.indptr[i + 1]])

    def hit(self, i: int, score: float) -> Hit:
        row = self.rows[i]
        return Hit(row, self.articles[row.article_id], score, self.name, i, self.vectors[i], self.sentences.of(i))
