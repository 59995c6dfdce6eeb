"""Load the newest commit as an immutable Snapshot, and pick up newer commits cheaply.

Segments never change once written, so a refresh loads only the segments it has not seen and
re-uses the rest; a query holds on to the Snapshot it started with, whatever is committed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from functools import cached_property
from pathlib import Path

import numpy as np

from index.articles import ArticleMeta
from index.errors import CorruptIndex
from index.manifest import Manifest, read_manifest
from qa.search.ann import AnnParams
from qa.search.bm25 import BM25
from qa.search.filters import Filters
from qa.search.hits import Hit
from qa.search.segment import LoadedSegment

log = logging.getLogger(__name__)


class Snapshot:
    """One commit: its segments and which of their rows are live."""

    def __init__(self, manifest: Manifest, segments: list[LoadedSegment]) -> None:
        self.manifest = manifest
        self.segments = segments
        self.live: dict[str, np.ndarray] = {}
        self._bitmaps: dict[str, np.ndarray] = {}  # FAISS selectors point into these arrays
        for seg in segments:
            mask = np.ones(len(seg), dtype=bool)
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
        return self.live[seg.name] & seg.columns.matching(filters) if filters else self.live[seg.name]

    def bitmap(self, seg: LoadedSegment, allowed: np.ndarray, filtered: bool) -> np.ndarray:
        """`allowed` packed for a FAISS selector (the commit's own when nothing is filtered)."""
        packed = None if filtered else self._bitmaps.get(seg.name)
        return packed if packed is not None else np.packbits(allowed, bitorder="little")

    def openings(self, article_ids: list[str]) -> list[Hit]:
        """The first live passage of each article, in the order of `article_ids`."""
        wanted = set(article_ids)
        segments = {self.manifest.articles[a].segment for a in wanted if a in self.manifest.articles}
        first: dict[str, Hit] = {}
        for seg in self.segments:
            if seg.name not in segments:
                continue
            live = self.live[seg.name]
            for i, row in enumerate(seg.rows):
                if (
                    row.article_id in wanted
                    and live[i]
                    and (row.article_id not in first or row.start < first[row.article_id].row.start)
                ):
                    first[row.article_id] = seg.hit(i, 0.0)
        return [first[a] for a in article_ids if a in first]

    def passages(self, article_ids: Collection[str]) -> list[Hit]:
        """Every live passage of those articles (score 0), article by article, each in article order."""
        hits: list[Hit] = []
        by_name = {seg.name: seg for seg in self.segments}
        for article_id in dict.fromkeys(article_ids):
            entry = self.manifest.articles.get(article_id)
            seg = by_name.get(entry.segment) if entry else None
            if seg is None:
                continue
            live = self.live[seg.name]
            hits.extend(seg.hit(i, 0.0) for i in seg.rows_of(article_id) if live[i])
        return hits

    @cached_property
    def articles(self) -> list[ArticleMeta]:
        """Every article of this commit, newest first (undated last), then by id."""
        by_segment = {seg.name: seg for seg in self.segments}
        metas = [
            by_segment[e.segment].articles[aid] for aid, e in self.manifest.articles.items() if e.segment in by_segment
        ]
        metas.sort(key=lambda m: m.id)
        metas.sort(key=lambda m: m.published or "", reverse=True)
        return metas

    @cached_property
    def dated(self) -> bool:
        """Whether any live article has a publication date: time in questions means nothing otherwise."""
        return any(bool((seg.columns.published[self.live[seg.name]] != "").any()) for seg in self.segments)

    @cached_property
    def bm25(self) -> BM25:
        return BM25([(seg.postings, self.live[seg.name]) for seg in self.segments])


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
