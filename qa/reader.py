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
class Hit:
    row: ChunkRow
    article: dict[str, str | None]
    score: float


class LoadedSegment:
    """A segment with its FAISS index, shared by every snapshot that lists it."""

    def __init__(self, segment: Segment) -> None:
        import faiss

        self.segment = segment
        vectors = np.ascontiguousarray(segment.vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            self.index.add(vectors)

    @property
    def name(self) -> str:
        return self.segment.name


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

    def dense(self, query: np.ndarray, k: int) -> list[Hit]:
        """The k best live chunks by inner product, identical quotes collapsed to the best one."""
        import faiss

        want = k
        while True:
            hits = []
            q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
            for seg in self.segments:
                live = self.live[seg.name]
                n_live = int(live.sum())
                if n_live == 0:
                    continue
                bitmap = self._bitmaps.get(seg.name)
                params = None
                if bitmap is not None:  # faiss's stubs lack the numpy-array overloads
                    selector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]
                    params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
                scores, idx = seg.index.search(q, min(want, n_live), params=params)
                for score, i in zip(scores[0], idx[0], strict=True):
                    if i >= 0:
                        row = seg.segment.rows[i]
                        hits.append(Hit(row, seg.segment.articles[row.article_id], float(score)))
            hits.sort(key=lambda h: (-h.score, h.row.article_id, h.row.start))
            distinct = _collapse(hits)
            if len(distinct) >= k or len(hits) < want:
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
