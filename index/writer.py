"""The single writer: reconcile the corpus folder with the newest commit.

`reconcile` plans added / changed / deleted / unchanged articles by content hash, embeds only the
chunks whose embedded text has no stored vector yet, writes each batch of articles as a new
segment and commits it (so a long run that crashes keeps what it committed), then merges small
segments and removes files no commit refers to. One writer at a time, by an advisory lock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.ann import AnnConfig
from index.articles import Article, ArticleMeta
from index.chunking import Chunk, ChunkerConfig
from index.embedders import Embedder
from index.errors import DiskFull, IndexNotFound, WriterBusy
from index.fsutil import locked, out_of_space
from index.ingest import Embedded, Ingest, LocalIngest, Vectors
from index.loaders import DEFAULT_MAX_BYTES, Corpus, Skipped, load_corpus
from index.manifest import ArticleEntry, Manifest, SegmentEntry, commit_manifest, read_manifest
from index.progress import IngestProgress
from index.segments import Segment, SentenceVectors, read_segment, remove_leftovers, remove_unreferenced, write_segment

log = logging.getLogger(__name__)

LOCK_FILE = "write.lock"


@dataclass(frozen=True)
class Plan:
    added: list[Article] = field(default_factory=list)
    changed: list[Article] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # indexed, but their file is unreadable now
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.deleted)


@dataclass(frozen=True)
class ReconcileResult:
    plan: Plan
    chunks_embedded: int
    index_version: int
    dry_run: bool = False


class IndexWriter:
    """Built by `index.config.open_writer` from settings; tests build small ones directly."""

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        chunker_config: ChunkerConfig | None = None,
        ingest: Ingest | None = None,
        *,
        batch_articles: int = 256,
        max_segments: int = 8,
        ann: AnnConfig | None = None,
        progress: bool = False,
        retire_grace_s: float = 0.0,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.chunker_config = chunker_config or ChunkerConfig(
            max_tokens=embedder.max_tokens, special_tokens=embedder.special_tokens
        )
        self.batch_articles = batch_articles
        self.max_segments = max_segments
        self.ann = ann or AnnConfig()  # segments written large enough get an approximate index
        self.progress = progress
        self.retire_grace_s = retire_grace_s  # keep unreferenced segments this long (replicas)
        # Where chunking and embedding run: here by default, or on a cluster (index.ray_ingest).
        self.ingest = ingest or LocalIngest(embedder, self.chunker_config)

    def close(self) -> None:
        """Release what the ingest holds (a Ray connection and its workers)."""
        self.ingest.close()

    # -- locking -------------------------------------------------------------------------------

    @contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the single-writer lock; WriterBusy at once if taken, unless `wait`."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        path = self.index_dir / LOCK_FILE

        def busy() -> WriterBusy:
            holder = path.read_text(errors="replace").strip() or "unknown"
            return WriterBusy(
                f"another writer (pid {holder}) is indexing {self.index_dir}; try again when it is done, or pass --wait"
            )

        with locked(path, wait=wait, busy=busy) as fd:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield

    # -- planning ------------------------------------------------------------------------------

    def current(self) -> Manifest:
        """The newest commit, or an empty one for a new index."""
        chunker = self.chunker_config.as_dict()
        try:
            manifest = read_manifest(self.index_dir)
        except IndexNotFound:
            return Manifest.empty(self.embedder.name, self.embedder.dim, chunker)
        manifest.check_model(self.embedder.name, self.embedder.dim)
        return manifest

    def plan(self, corpus: Corpus, manifest: Manifest) -> Plan:
        rechunk = manifest.chunker != self.chunker_config.as_dict()
        plan = Plan(skipped=corpus.skipped)
        present = set()
        for article in corpus.articles:
            present.add(article.id)
            entry = manifest.articles.get(article.id)
            if entry is None:
                plan.added.append(article)
            elif rechunk or entry.hash != article.content_hash:
                plan.changed.append(article)
            else:
                plan.unchanged.append(article.id)
        unreadable = corpus.unreadable_files
        for article_id, entry in sorted(manifest.articles.items()):
            if article_id in present:
                continue
            (plan.kept if entry.path in unreadable else plan.deleted).append(article_id)
        return plan

    # -- writing -------------------------------------------------------------------------------

    def reconcile(
        self,
        corpus_dir: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        rebuild: bool = False,
        dry_run: bool = False,
        wait: bool = False,
    ) -> ReconcileResult:
        """Bring the index in line with the corpus folder. Safe to run at any time."""
        if dry_run:
            corpus = load_corpus(Path(corpus_dir), max_bytes)
            base = self._base(rebuild)
            return ReconcileResult(self.plan(corpus, base), 0, base.version, dry_run=True)
        with self.lock(wait):
            if leftovers := remove_leftovers(self.index_dir):
                log.info("removed %d temporary files of an earlier write that did not finish", len(leftovers))
            corpus = load_corpus(Path(corpus_dir), max_bytes)
            base = self._base(rebuild)
            plan = self.plan(corpus, base)
            try:
                # A rebuild commits once at the end: readers keep the old index until the new one is whole.
                return self.apply(plan, base, reuse_vectors=not rebuild, single_commit=rebuild)
            except OSError as e:
                if not out_of_space(e, self.index_dir):
                    raise
                version = self._committed_version()  # what failed removed its own temporary files
                raise DiskFull(
                    f"no space left on the device of {self.index_dir} ({e.strerror or e}); the last commit "
                    f"(index version {version}) is intact: free some space and run `qa index` again"
                ) from e

    def _committed_version(self) -> int:
        """The last commit's version; 0 when there is none or it cannot be read (an unreadable or
        mismatched index is exactly what --rebuild is for)."""
        try:
            return read_manifest(self.index_dir).version
        except Exception:
            return 0

    def _base(self, rebuild: bool) -> Manifest:
        if not rebuild:
            return self.current()
        version = self._committed_version()
        return Manifest.empty(self.embedder.name, self.embedder.dim, self.chunker_config.as_dict(), version)

    def apply(
        self, plan: Plan, base: Manifest, *, reuse_vectors: bool = True, single_commit: bool = False
    ) -> ReconcileResult:
        """Carry out `plan` on top of `base`, committing after each batch of articles (or once, at
        the end, with `single_commit`). The caller holds the lock."""
        todo = plan.added + plan.changed
        read: dict[str, Segment] = {}  # the segments this run reads, each read once
        manifest = base
        if not plan.has_changes and manifest.version > 0:
            self._cleanup(manifest)
            return ReconcileResult(plan, 0, manifest.version)

        stored = _VectorStore(self.index_dir, manifest if reuse_vectors else None, read)
        embedded = 0
        deleted = {k: set(v) for k, v in manifest.deleted.items()}
        articles = dict(manifest.articles)
        for article_id in plan.deleted:
            self._tombstone(articles.pop(article_id), article_id, deleted, read)

        batches = [todo[i : i + self.batch_articles] for i in range(0, len(todo), self.batch_articles)]
        segments = list(manifest.segments)
        progress = IngestProgress(len(todo), self.ingest, bar=self.progress)
        done = self.ingest.run(batches, stored, progress.update)
        for n, batch in enumerate(batches or [[]], start=1):
            if batch:
                result = next(done)
                rows, (vectors, sentences) = result.rows, stored.vectors_for(result)
                embedded += len(result.new)
                name = write_segment(self.index_dir, rows, vectors, [a.meta() for a in batch], self.ann, sentences)
                stored.written(name, rows)
                segments.append(SegmentEntry(name, len(rows)))
                for article in batch:
                    old = articles.get(article.id)
                    if old is not None:
                        self._tombstone(old, article.id, deleted, read)
                    articles[article.id] = ArticleEntry(article.content_hash, name, article.path)
            if single_commit and n < len(batches):
                continue
            manifest = commit_manifest(
                self.index_dir,
                manifest.next(
                    chunker=self.chunker_config.as_dict(),
                    segments=tuple(segments),
                    deleted={k: frozenset(v) for k, v in deleted.items() if v},
                    articles=dict(articles),
                ),
            )
            log.info("committed index version %d (%d live chunks)", manifest.version, manifest.live_chunks)
        progress.close()
        manifest = self.merge(manifest)
        self._cleanup(manifest)
        return ReconcileResult(plan, embedded, manifest.version)

    def _tombstone(
        self,
        entry: ArticleEntry,
        article_id: str,
        deleted: dict[str, set[int]],
        read: dict[str, Segment],
    ) -> None:
        rows = _segment(self.index_dir, entry.segment, read).rows
        dead = deleted.setdefault(entry.segment, set())
        dead.update(i for i, r in enumerate(rows) if r.article_id == article_id)

    # -- merging and clean-up ------------------------------------------------------------------

    def merge(self, manifest: Manifest) -> Manifest:
        """Merge the smallest segments while there are more than `max_segments`, and rewrite
        segments that are mostly deleted rows. Commits the result; vectors are copied, not
        re-embedded."""
        live = {s.name: s.rows - len(manifest.deleted.get(s.name, ())) for s in manifest.segments}
        victims = {s.name for s in manifest.segments if s.rows and live[s.name] * 2 < s.rows}
        by_size = sorted(manifest.segments, key=lambda s: live[s.name])
        excess = len(manifest.segments) - self.max_segments
        if excess > 0:
            victims.update(s.name for s in by_size[: excess + 1])
        if not victims:
            return manifest
        rows: list[Chunk] = []
        vectors: list[np.ndarray] = []
        sentences: list[np.ndarray] = []
        metas: list[ArticleMeta] = []
        for name in sorted(victims, key=lambda n: [s.name for s in manifest.segments].index(n)):
            seg = read_segment(self.index_dir, name, mmap=True, lexical=False)
            dead = manifest.deleted.get(name, frozenset())
            keep = [i for i in range(len(seg.rows)) if i not in dead]
            rows.extend(seg.rows[i] for i in keep)
            vectors.append(np.asarray(seg.vectors[keep]))
            sentences.extend(np.asarray(seg.sentences.of(i)) for i in keep)
            metas.extend(
                m
                for aid, m in seg.articles.items()
                if manifest.articles.get(aid, None) and manifest.articles[aid].segment == name
            )
        segments = [s for s in manifest.segments if s.name not in victims]
        articles = dict(manifest.articles)
        if rows:
            matrix = np.concatenate(vectors)
            merged = write_segment(
                self.index_dir, rows, matrix, metas, self.ann, SentenceVectors.stack(sentences, matrix.shape[1])
            )
            segments.append(SegmentEntry(merged, len(rows)))
            for aid, entry in manifest.articles.items():
                if entry.segment in victims:
                    articles[aid] = ArticleEntry(entry.hash, merged, entry.path)
        deleted = {k: v for k, v in manifest.deleted.items() if k not in victims}
        merged_manifest = commit_manifest(
            self.index_dir, manifest.next(segments=tuple(segments), deleted=deleted, articles=articles)
        )
        log.info("merged %d segments into one (index version %d)", len(victims), merged_manifest.version)
        return merged_manifest

    def _cleanup(self, manifest: Manifest) -> None:
        removed = remove_unreferenced(self.index_dir, {s.name for s in manifest.segments}, self.retire_grace_s)
        if removed:
            log.debug("removed %d unreferenced segment folders", len(removed))


class _VectorStore:
    """Stored vectors by embed hash, over the segments of a commit plus those this run wrote (read
    back from their segment, memory-mapped, rather than held in memory for the whole run). As a
    collection it holds the hashes that need no embedding."""

    def __init__(self, index_dir: Path, manifest: Manifest | None, read: dict[str, Segment]) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.read = read  # shared with the writer's tombstoning: a segment is read once a run
        self._stored: dict[str, tuple[str, int]] | None = None
        self._written: dict[str, tuple[str, int]] = {}  # embedded by this run: where it was written

    @property
    def _where(self) -> dict[str, tuple[str, int]]:
        if self._stored is None:
            self._stored = {}
            for seg in self.manifest.segments if self.manifest else ():
                for i, row in enumerate(_segment(self.index_dir, seg.name, self.read).rows):
                    self._stored.setdefault(row.embed_hash, (seg.name, i))
        return self._stored

    def __contains__(self, h: object) -> bool:
        return h in self._written or h in self._where

    def __iter__(self) -> Iterator[str]:
        yield from self._written
        yield from (h for h in self._where if h not in self._written)

    def __len__(self) -> int:
        return len(self._written) + sum(1 for h in self._where if h not in self._written)

    def vectors_for(self, done: Embedded) -> tuple[np.ndarray, SentenceVectors]:
        """A vector for each row of `done`, and its sentences: those it embedded, or stored ones."""
        found = [done.new[r.embed_hash] if r.embed_hash in done.new else self._vectors(r.embed_hash) for r in done.rows]
        passages = np.stack([v.passage for v in found]).astype(np.float32, copy=False)
        return passages, SentenceVectors.stack([v.sentences for v in found], passages.shape[1])

    def written(self, name: str, rows: Sequence[Chunk]) -> None:
        """`rows` were written as segment `name`: later batches take the vectors of a text they
        share from there."""
        for i, row in enumerate(rows):
            self._written.setdefault(row.embed_hash, (name, i))

    def _vectors(self, h: str) -> Vectors:
        name, i = self._written[h] if h in self._written else self._where[h]
        seg = _segment(self.index_dir, name, self.read)
        return Vectors(np.asarray(seg.vectors[i]), np.asarray(seg.sentences.of(i)))


def _segment(index_dir: Path, name: str, cache: dict[str, Segment]) -> Segment:
    """The segment, its vectors memory-mapped, read once into `cache`."""
    if name not in cache:
        cache[name] = read_segment(index_dir, name, mmap=True, lexical=False)
    return cache[name]
