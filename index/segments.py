"""Immutable segments: one folder an ingest batch (or merge), never changed once written.

    segments/<name>/vectors.npy    float32 [rows, dim], L2-normalised embeddings
    segments/<name>/sentences.npy  float16 [sentences, dim], each row's sentences embedded alone,
                                   with sentence_starts.npy: row i's are [starts[i], starts[i + 1])
    segments/<name>/chunks.jsonl   one row a vector: chunk id, article id, offsets, quote, embed hash
    segments/<name>/articles.jsonl citation metadata of the articles whose chunks are here
    segments/<name>/lexical.npz    rows x terms counts for BM25, with vocab.json (index/lexical.py)
    segments/<name>/ann.faiss      only in a large segment: its approximate index (index/ann.py)

A segment is written under a temporary name, fsynced and renamed into place; it becomes live only
when a manifest that lists it is committed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.ann import AnnConfig, write_ann
from index.articles import ArticleMeta
from index.chunking import Chunk
from index.errors import CorruptIndex
from index.fsutil import fsync_dir, fsync_file, read_jsonl
from index.ids import titled
from index.lexical import TermMatrix

SEGMENTS = "segments"
SENTENCES, SENTENCE_STARTS = "sentences.npy", "sentence_starts.npy"
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class SentenceVectors:
    """The embeddings of each row's sentences (its quote split by `index.sentences`), one matrix
    for a segment: row i's are `matrix[starts[i]:starts[i + 1]]`. A row written before sentences
    were embedded has none (a segment of an older index: `qa index --rebuild` embeds them)."""

    matrix: np.ndarray  # float16 [sentences, dim]: half the size, and a dot product needs no more
    starts: np.ndarray  # int64 [rows + 1]

    def of(self, i: int) -> np.ndarray:
        return self.matrix[self.starts[i] : self.starts[i + 1]]

    def __len__(self) -> int:
        return len(self.starts) - 1

    @classmethod
    def stack(cls, per_row: Sequence[np.ndarray], dim: int) -> SentenceVectors:
        counts = np.array([len(m) for m in per_row], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        matrix = np.concatenate([np.zeros((0, dim), dtype=np.float16), *per_row]).astype(np.float16, copy=False)
        return cls(matrix, starts)

    @classmethod
    def none(cls, rows: int, dim: int) -> SentenceVectors:
        return cls(np.zeros((0, dim), dtype=np.float16), np.zeros(rows + 1, dtype=np.int64))


@dataclass(frozen=True)
class Segment:
    name: str
    rows: list[Chunk]
    vectors: np.ndarray
    articles: dict[str, ArticleMeta]
    terms: TermMatrix
    sentences: SentenceVectors


def term_matrix(rows: list[Chunk], articles: dict[str, ArticleMeta]) -> TermMatrix:
    """What BM25 indexes for each chunk: like the embedded text, the title and the passage."""
    return TermMatrix.build([titled(articles[r.article_id].title, r.text) for r in rows])


def new_segment_name() -> str:
    return f"seg-{time.time_ns() // 1_000_000:x}-{secrets.token_hex(3)}"


def segment_dir(index_dir: Path, name: str) -> Path:
    return index_dir / SEGMENTS / name


def write_segment(
    index_dir: Path,
    rows: list[Chunk],
    vectors: np.ndarray,
    articles: list[ArticleMeta],
    ann: AnnConfig | None = None,
    sentences: SentenceVectors | None = None,
) -> str:
    """Write a new segment durably and return its name; with an approximate index when `ann`
    asks for one at this many rows."""
    if len(rows) != len(vectors):
        raise ValueError(f"{len(rows)} rows but {len(vectors)} vectors")
    if sentences is None:
        sentences = SentenceVectors.none(len(rows), vectors.shape[1] if vectors.ndim == 2 else 0)
    if len(sentences) != len(rows):
        raise ValueError(f"{len(rows)} rows but sentence vectors for {len(sentences)}")
    name = new_segment_name()
    parent = index_dir / SEGMENTS
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f"{TMP_PREFIX}{name}"
    tmp.mkdir()
    try:
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(tmp / SENTENCES, np.ascontiguousarray(sentences.matrix, dtype=np.float16))
        np.save(tmp / SENTENCE_STARTS, np.ascontiguousarray(sentences.starts, dtype=np.int64))
        _write_jsonl(tmp / "chunks.jsonl", [asdict(r) for r in rows])
        _write_jsonl(tmp / "articles.jsonl", [a.to_json() for a in articles])
        term_matrix(rows, {a.id: a for a in articles}).save(tmp)
        if ann is not None:
            write_ann(tmp, vectors, ann)
        for f in tmp.iterdir():
            fsync_file(f)
        fsync_dir(tmp)
        os.rename(tmp, parent / name)
    except BaseException:  # a full disk, say: the half-written folder must not hold the last free bytes
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(parent)
    return name


def remove_leftovers(index_dir: Path) -> list[str]:
    """Temporary files and folders of writes that never finished (a killed or failed writer):
    called by the writer that holds the lock, so none of them is still being written."""
    found = [*index_dir.glob(".*.tmp-*"), *(index_dir / SEGMENTS).glob(f"{TMP_PREFIX}*")]
    for path in found:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return [p.name for p in found]


def read_segment(index_dir: Path, name: str, *, mmap: bool = False, lexical: bool = True) -> Segment:
    """Load a segment (without its term matrix when `lexical` is false); FileNotFoundError if it is
    gone (merged away by a newer commit)."""
    folder = segment_dir(index_dir, name)
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    try:
        vectors = np.load(folder / "vectors.npy", mmap_mode="r" if mmap else None)
        if (folder / SENTENCE_STARTS).exists():
            matrix = np.load(folder / SENTENCES, mmap_mode="r" if mmap else None)
            sentences = SentenceVectors(matrix, np.load(folder / SENTENCE_STARTS))
        else:  # written before sentences were embedded
            sentences = SentenceVectors.none(len(vectors), vectors.shape[1])
        rows = [Chunk(**r) for r in read_jsonl(folder / "chunks.jsonl")]
        articles = {a.id: a for a in map(ArticleMeta.from_json, read_jsonl(folder / "articles.jsonl"))}
        terms = None
        if lexical:  # a segment written before BM25 existed gets its term counts computed now
            terms = TermMatrix.load(folder) if (folder / "lexical.npz").exists() else term_matrix(rows, articles)
    except FileNotFoundError as e:  # the folder is there, a file of it is not: damage, not a merge
        raise CorruptIndex(f"segment {name} is missing {Path(str(e.filename)).name}; run `qa index --rebuild`") from e
    except (ValueError, TypeError, KeyError) as e:
        raise CorruptIndex(f"segment {name} cannot be read: {e}") from e
    if len(rows) != len(vectors) or (terms is not None and terms.counts.shape[0] != len(rows)):
        raise CorruptIndex(f"segment {name} has {len(rows)} rows but {len(vectors)} vectors")
    if len(sentences) != len(rows) or sentences.starts[-1] != len(sentences.matrix):
        raise CorruptIndex(f"segment {name} has {len(rows)} rows but sentence vectors for {len(sentences)}")
    return Segment(name, rows, vectors, articles, terms or TermMatrix.empty(len(rows)), sentences)


RETIRED = ".retired"  # in a segment folder no commit refers to: since when (its mtime)


def remove_unreferenced(index_dir: Path, keep: set[str], grace_s: float = 0.0) -> list[str]:
    """Delete segment folders (and leftovers of crashed writes) that no commit refers to.

    With `grace_s`, a segment is first marked retired and only deleted once it has been retired
    that long: replicas on shared storage may still be reading the commit that listed it."""
    parent = index_dir / SEGMENTS
    if not parent.is_dir():
        return []
    removed = []
    now = time.time()
    for child in parent.iterdir():
        if child.name in keep:
            continue
        if grace_s > 0 and not child.name.startswith(TMP_PREFIX):  # a crashed write was never listed
            marker = child / RETIRED
            try:
                if now - marker.stat().st_mtime < grace_s:
                    continue
            except FileNotFoundError:
                marker.touch()
                continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child.name)
    return removed


def _write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
