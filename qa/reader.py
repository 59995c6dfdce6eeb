"""Load the newest commit as an immutable Snapshot, and pick up newer commits cheaply.

Segments never change once written, so a refresh loads only the segments it has not seen and
re-uses the rest; a query holds on to the Snapshot it started with, whatever is committed meanwhile.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache, partial
from pathlib import Path

import numpy as np

from index.ann import ANN_FILE
from index.errors import CorruptIndex
from index.lexical import tokenize
from index.manifest import Manifest, read_manifest
from index.segments import ChunkRow, Segment, read_segment, segment_dir
from index.sentences import split_sentences
from qa.ann_search import AnnIndex, AnnParams
from qa.bm25 import BM25

log = logging.getLogger(__name__)
SENTENCE_CACHE_ROWS = 20_000  # rows of a segment whose sentence terms are kept (about 2.5 KB a row)


@dataclass(frozen=True, slots=True)
class Filters:
    """Metadata filters, applied before the top-k cut. Dates are ISO strings, bounds inclusive;
    an article without a date never passes a date filter. `source` matches case-insensitively."""

    source: str | None = None
    published_after: str | None = None
    published_before: str | None = None

    def __bool__(self) -> bool:
        return any((self.source, self.published_after, self.published_before))


@dataclass(frozen=True, slots=True)
class Hit:
    row: ChunkRow
    article: dict[str, str | None]
    score: float
    segment: LoadedSegment
    index: int  # row number in the segment

    @property
    def vector(self) -> np.ndarray:
        return np.asarray(self.segment.segment.vectors[self.index], dtype=np.float32)

    def rescored(self, score: float) -> Hit:
        return Hit(self.row, self.article, score, self.segment, self.index)


class LoadedSegment:
    """A segment with its FAISS index, shared by every snapshot that lists it: an exact
    `IndexFlatIP`, or for a large segment its approximate index (`ann`, qa/ann_search.py)."""

    def __init__(self, segment: Segment, ann: AnnIndex | None = None) -> None:
        import faiss

        self.segment = segment
        metas = [segment.articles[r.article_id] for r in segment.rows]
        self.row_source = np.array([(m.get("source") or "").casefold() for m in metas], dtype=str)
        self.row_published = np.array([m.get("published") or "" for m in metas], dtype=str)
        self.ann = ann
        self.index: faiss.IndexFlatIP | None = None
        if ann is None:
            vectors = np.ascontiguousarray(segment.vectors, dtype=np.float32)
            self.index = faiss.IndexFlatIP(vectors.shape[1])
            if len(vectors):
                self.index.add(vectors)
        counts = segment.terms.counts
        self.term_columns = counts.tocsc()
        self.term_ids = {t: j for j, t in enumerate(segment.terms.vocab)}
        self.doc_len = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
        # Rows never change: each row's sentences are split and tokenised once, when first reranked.
        # (The cache holds the rows, not self: no reference cycle keeps a dropped segment alive.)
        self.sentence_terms = lru_cache(maxsize=SENTENCE_CACHE_ROWS)(partial(_sentence_terms, segment.rows))

    @classmethod
    def load(cls, index_dir: Path, name: str, ann: AnnParams | None = None) -> LoadedSegment:
        """Read a segment; with its approximate index (vectors memory-mapped) when it has one and
        is large enough for `ann`. FileNotFoundError if it is gone."""
        ann = ann or AnnParams()
        path = segment_dir(index_dir, name) / ANN_FILE
        if path.is_file():
            segment = read_segment(index_dir, name, mmap=True)
            if ann.wanted(len(segment.rows)):
                return cls(segment, AnnIndex(path, segment.vectors, ann))
            return cls(segment)
        return cls(read_segment(index_dir, name))

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray, n_allowed: int, bitmap: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row numbers of the (at most) k best allowed rows by inner product. `allowed`:
        mask of the rows allowed, `n_allowed` its count, `bitmap` the same packed (None: all)."""
        import faiss

        if self.ann is not None:
            return self.ann.search(query, k, allowed, n_allowed, bitmap)
        assert self.index is not None
        params = None
        if bitmap is not None:
            selector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]  # stubs lack numpy overloads
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        scores, idx = self.index.search(q, min(k, n_allowed), params=params)
        keep = idx[0] >= 0
        return scores[0][keep], idx[0][keep]

    def hit(self, i: int, score: float) -> Hit:
        row = self.segment.rows[i]
        return Hit(row, self.segment.articles[row.article_id], score, self, i)

    @property
    def name(self) -> str:
        return self.segment.name

    def matching(self, filters: Filters) -> np.ndarray:
        """Rows whose article passes the filters."""
        mask = np.ones(len(self.segment.rows), dtype=bool)
        if filters.source:
            mask &= self.row_source == filters.source.casefold()
        if filters.published_after:
            mask &= (self.row_published != "") & (self.row_published >= filters.published_after)
        if filters.published_before:
            mask &= (self.row_published != "") & (self.row_published <= filters.published_before)
        return mask


def _sentence_terms(rows: list[ChunkRow], i: int) -> tuple[tuple[str, ...], ...]:
    """The distinct BM25 terms of each sentence of row i's passage, in order of first use
    (interned: rows share the strings)."""
    text = rows[i].text
    sentences = tokenize([text[a:b] for a, b in split_sentences(text)])
    return tuple(tuple(sys.intern(t) for t in dict.fromkeys(terms)) for terms in sentences)


class Snapshot:
    """One commit: its segments and which of their rows are live."""

    def __init__(self, manifest: Manifest, segments: list[LoadedSegment]) -> None:
        self.manifest = manifest
        self.segments = segments
        self.live: dict[str, np.ndarray] = {}
        self._bitmaps: dict[str, np.ndarray] = {}  # FAISS selectors point into these arrays
        for seg in segments:
            mask = np.ones(len(seg.segment.rows), dtype=bool)
            dead = manifest.deleted.get(seg.name)
            if dead:
                mask[list(dead)] = False
                self._bitmaps[seg.name] = np.packbits(mask, bitorder="little")
            self.live[seg.name] = mask

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def article_count(self) -> int:
        return len(self.manifest.articles)

    @property
    def chunk_count(self) -> int:
        return self.manifest.live_chunks

    def allowed(self, seg: LoadedSegment, filters: Filters | None) -> np.ndarray:
        """Live rows of the segment that pass the filters."""
        return self.live[seg.name] & seg.matching(filters) if filters else self.live[seg.name]

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k best live chunks passing `filters` by inner product: exact search, or for large
        segments approximate search re-scored exactly (qa/ann_search.py). Filters restrict the
        search itself, so they never cost hits."""
        found: list[tuple[LoadedSegment, np.ndarray, np.ndarray]] = []
        for seg in self.segments:
            allowed = self.allowed(seg, filters)
            n = int(allowed.sum())
            if n == 0:
                continue
            bitmap = None
            if n < len(allowed):
                bitmap = self._bitmaps.get(seg.name) if not filters else None
                if bitmap is None:
                    bitmap = np.packbits(allowed, bitorder="little")
            scores, idx = seg.search(query, k, allowed, n, bitmap)
            found.append((seg, scores, idx))
        return _top(found, k)

    def lexical(
        self, query: str, k: int, filters: Filters | None = None, scores: dict[LoadedSegment, np.ndarray] | None = None
    ) -> list[Hit]:
        """The k best live chunks passing `filters` by BM25 over this commit's live rows
        (`scores`: from `lexical_scores`, when the caller has them already)."""
        found: list[tuple[LoadedSegment, np.ndarray, np.ndarray]] = []
        for seg, bm25 in (scores or self.lexical_scores(query)).items():
            candidates = np.flatnonzero(self.allowed(seg, filters) & (bm25 > 0))
            if len(candidates) > k:
                candidates = candidates[np.argpartition(-bm25[candidates], k - 1)[:k]]
            found.append((seg, bm25[candidates], candidates))
        return _top(found, k)

    def lexical_scores(self, query: str) -> dict[LoadedSegment, np.ndarray]:
        """BM25 score of every row of every segment (callers mask deleted rows)."""
        terms = tokenize([query])[0]
        return {seg: self.bm25.scores(seg, terms) for seg in self.segments}

    @cached_property
    def bm25(self) -> BM25:
        return BM25(self.segments, self.live)


def _top(found: list[tuple[LoadedSegment, np.ndarray, np.ndarray]], k: int) -> list[Hit]:
    """The k best of the (segment, scores, rows) found, by score, then article id and start. Hits
    are made only for rows scoring at least the k-th best score: the others cannot make the cut."""
    if not found:
        return []
    scores = np.concatenate([s for _, s, _ in found])
    floor = np.partition(scores, len(scores) - k)[len(scores) - k] if len(scores) > k else -np.inf
    hits: list[Hit] = []
    for seg, seg_scores, rows in found:
        keep = seg_scores >= floor
        hits.extend(seg.hit(i, s) for s, i in zip(seg_scores[keep].tolist(), rows[keep].tolist(), strict=True))
    hits.sort(key=lambda h: (-h.score, h.row.article_id, h.row.start))
    return hits[:k]


class IndexReader:
    """Opens snapshots of one index folder; thread-safe; keeps loaded segments between commits."""

    def __init__(self, index_dir: Path, ann: AnnParams | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.ann = ann or AnnParams()
        self._segments: dict[str, LoadedSegment] = {}
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        """The newest loaded snapshot (loads the newest commit on first call)."""
        snap = self._snapshot
        return snap if snap is not None else self.refresh()

    def loaded(self) -> Snapshot | None:
        """The current snapshot, without touching the disk; None before the first load."""
        return self._snapshot

    def refresh(self) -> Snapshot:
        """Load the newest commit if it is newer than the current snapshot."""
        with self._lock:
            for attempt in range(5):
                manifest = read_manifest(self.index_dir)
                current = self._snapshot
                if current is not None and current.version == manifest.version:
                    return current
                try:
                    segments = [self._load(s.name) for s in manifest.segments]
                except FileNotFoundError:
                    # A newer commit merged those segments away between our two reads: retry.
                    log.debug("segment vanished while loading version %d (try %d)", manifest.version, attempt)
                    continue
                self._segments = {s.name: s for s in segments}
                self._snapshot = Snapshot(manifest, segments)
                log.info("loaded index version %d", manifest.version)
                return self._snapshot
        raise CorruptIndex(f"segments of {self.index_dir} kept vanishing while loading; is a writer looping?")

    def _load(self, name: str) -> LoadedSegment:
        seg = self._segments.get(name)
        return seg if seg is not None else LoadedSegment.load(self.index_dir, name, self.ann)
