"""Load the newest commit as an immutable Snapshot, and pick up newer commits cheaply.

Segments never change once written, so a refresh loads only the segments it has not seen and
re-uses the rest; a query holds on to the Snapshot it started with, whatever is committed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import CorruptIndex
from index.manifest import Manifest, read_manifest
from index.segments import ChunkRow, Segment, read_segment

log = logging.getLogger(__name__)


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


class LoadedSegment:
    """A segment with its FAISS index, shared by every snapshot that lists it."""

    def __init__(self, segment: Segment) -> None:
        import faiss

        self.segment = segment
        metas = [segment.articles[r.article_id] for r in segment.rows]
        self.row_source = np.array([(m.get("source") or "").casefold() for m in metas], dtype=str)
        self.row_published = np.array([m.get("published") or "" for m in metas], dtype=str)
        vectors = np.ascontiguousarray(segment.vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(vectors)

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

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k best live chunks passing `filters`, by inner product, with identical quotes
        collapsed to the best one. Filters restrict the search itself, so they never cost hits."""
        import faiss

        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        searchable = []
        for seg in self.segments:
            bitmap = self._bitmaps.get(seg.name)
            allowed = self.live[seg.name]
            if filters:
                allowed = allowed & seg.matching(filters)
                bitmap = np.packbits(allowed, bitorder="little")
            n = int(allowed.sum())
            if n:
                params = None
                if bitmap is not None:  # faiss's stubs lack the numpy-array overloads
                    selector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]
                    params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
                searchable.append((seg, n, params, bitmap))
        want = k
        while True:
            hits = []
            for seg, n, params, _bitmap in searchable:
                scores, idx = seg.index.search(q, min(want, n), params=params)
                for score, i in zip(scores[0], idx[0], strict=True):
                    if i >= 0:
                        row = seg.segment.rows[i]
                        hits.append(Hit(row, seg.segment.articles[row.article_id], float(score)))
            hits.sort(key=lambda h: (-h.score, h.row.article_id, h.row.start))
            distinct = _collapse(hits)
            if len(distinct) >= k or all(want >= n for _, n, _, _ in searchable):
                return distinct[:k]
            want *= 2


def _collapse(hits: list[Hit]) -> list[Hit]:
    """Keep the first of hits whose quotes are identical (syndicated copies, duplicate ids)."""
    seen: set[str] = set()
    out = []
    for h in hits:
        key = " ".join(h.row.text.split())
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


class IndexReader:
    """Opens snapshots of one index folder; thread-safe; keeps loaded segments between commits."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
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
        return seg if seg is not None else LoadedSegment(read_segment(self.index_dir, name))
