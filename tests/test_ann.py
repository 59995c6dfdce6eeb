"""Large-index mode: approximate search of large segments (index/ann.py, qa/search/ann.py).

Synthetic clustered unit vectors for the search itself; generated articles and the hashing
embedder where the writer is involved.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from index.ann import ANN_FILE, AnnConfig
from index.articles import ArticleMeta
from index.chunking import Chunk
from index.config import open_writer
from index.embedders import HashingEmbedder
from index.manifest import Manifest, SegmentEntry, read_manifest
from index.segments import read_segment, segment_dir, write_segment
from index.writer import IndexWriter
from qa.config import Settings
from qa.search.ann import AnnIndex, AnnParams
from qa.search.dense import ExactIndex
from qa.search.filters import Filters
from qa.search.segment import LoadedSegment
from qa.search.snapshot import IndexReader, Snapshot
from qa.service import QAService
from tests.conftest import dense

DIM = 64
ROWS = 20_000
PER_ARTICLE = 50  # rows of each synthetic article; the first 1% of articles have source "rare"
ANN = AnnConfig(min_rows=10_000)
PARAMS = AnnParams(min_rows=10_000)  # the default nprobe, rerank and exact fraction


def clustered(n: int, seed: int, centers: int = 100, spread: float = 1.0) -> np.ndarray:
    """Unit vectors around `centers` random directions (the same directions for every seed)."""
    c = np.random.default_rng(0).standard_normal((centers, DIM))
    rng = np.random.default_rng(seed)
    x = c[rng.integers(0, centers, n)] / np.sqrt(DIM) + spread * rng.standard_normal((n, DIM)) / np.sqrt(DIM)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic_segment(index_dir: Path, n: int, ann: AnnConfig) -> str:
    vectors = clustered(n, seed=1)
    rows = [Chunk(i, f"a{i // PER_ARTICLE}", i % PER_ARTICLE, 0, 1, f"passage {i}", f"h{i}") for i in range(n)]
    articles = [
        ArticleMeta(
            id=f"a{j}",
            title=f"article {j}",
            source="rare" if j < n // PER_ARTICLE // 100 else ("left" if j % 2 else "right"),
            published=f"2025-01-{1 + j % 28:02d}",
        )
        for j in range(n // PER_ARTICLE)
    ]
    return write_segment(index_dir, rows, vectors, articles, ann)


def snapshot(segment: LoadedSegment, deleted: set[int] | None = None) -> Snapshot:
    n = len(segment.rows)
    manifest = Manifest(
        version=1,
        model="synthetic",
        dim=DIM,
        chunker={},
        segments=(SegmentEntry(segment.name, n),),
        deleted={segment.name: frozenset(deleted)} if deleted else {},
    )
    return Snapshot(manifest, [segment])


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    index_dir = tmp_path_factory.mktemp("ann") / "index"
    return index_dir, synthetic_segment(index_dir, ROWS, ANN)


@pytest.fixture(scope="module")
def approximate(large: tuple[Path, str]) -> LoadedSegment:
    seg = LoadedSegment.load(*large, PARAMS)
    assert isinstance(seg.dense, AnnIndex)
    return seg


@pytest.fixture(scope="module")
def exact(large: tuple[Path, str]) -> LoadedSegment:
    segment = read_segment(*large)
    seg = LoadedSegment(segment, ExactIndex(segment.vectors))  # as every segment was searched before
    return seg


QUERIES = clustered(100, seed=2)


def rows_of(snap: Snapshot, q: np.ndarray, k: int = 10, filters: Filters | None = None) -> list[int]:
    return [h.index for h in dense(snap, q, k, filters)]


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / max(1, len(t)) for f, t in zip(found, truth, strict=True)]))


def test_large_segment_gets_an_ann_file_and_recall_is_high(
    large: tuple[Path, str], approximate: LoadedSegment, exact: LoadedSegment
) -> None:
    assert (segment_dir(*large) / ANN_FILE).is_file()
    ann, ref = snapshot(approximate), snapshot(exact)
    assert recall([rows_of(ann, q) for q in QUERIES], [rows_of(ref, q) for q in QUERIES]) >= 0.95
    vectors = approximate.vectors
    for q in QUERIES[:10]:  # scores are exact inner products, best first
        hits = dense(ann, q, 10)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert np.allclose(scores, [float(vectors[h.index] @ q) for h in hits], atol=1e-5)


def test_tombstoned_rows_are_never_returned(approximate: LoadedSegment, exact: LoadedSegment) -> None:
    rng = np.random.default_rng(3)
    dead = set(rng.choice(ROWS, ROWS // 5, replace=False).tolist())
    ann, ref = snapshot(approximate, dead), snapshot(exact, dead)
    found = [rows_of(ann, q, 20) for q in QUERIES]
    assert not dead & {i for f in found for i in f}
    assert recall(found, [rows_of(ref, q, 20) for q in QUERIES]) >= 0.95
    # a deleted row is not found even by its own vector
    victim = sorted(dead)[0]
    assert victim not in rows_of(ann, np.asarray(approximate.vectors[victim]), 5)


def test_selective_filter_scans_the_allowed_rows_exactly(
    approximate: LoadedSegment, exact: LoadedSegment, monkeypatch: pytest.MonkeyPatch
) -> None:
    rare = Filters(source="RARE")  # 1% of the rows
    assert approximate.columns.matching(rare).mean() == pytest.approx(0.01)
    ann, ref = snapshot(approximate, {0, 1}), snapshot(exact, {0, 1})
    monkeypatch.setattr(approximate.dense, "index", None)  # the fallback must not touch the approximate index
    for q in QUERIES[:20]:
        got, want = dense(ann, q, 10, rare), dense(ref, q, 10, rare)
        assert [h.index for h in got] == [h.index for h in want]
        assert np.allclose([h.score for h in got], [h.score for h in want], atol=1e-5)
        assert all(h.article.source == "rare" and h.index > 1 for h in got)


def test_broad_filter_goes_through_the_selector(approximate: LoadedSegment, exact: LoadedSegment) -> None:
    left = Filters(source="left", published_after="2025-01-05")
    ann, ref = snapshot(approximate), snapshot(exact)
    found = [dense(ann, q, 10, left) for q in QUERIES]
    assert all(h.article.source == "left" and str(h.article.published) >= "2025-01-05" for f in found for h in f)
    truth = [rows_of(ref, q, 10, left) for q in QUERIES]
    assert recall([[h.index for h in f] for f in found], truth) >= 0.95


def dense_before(segment: LoadedSegment, q: np.ndarray, k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
    """Snapshot.dense as it was before large-index mode, for one segment: IndexFlatIP + bitmap."""
    import faiss

    index = faiss.IndexFlatIP(DIM)
    index.add(np.ascontiguousarray(segment.vectors, dtype=np.float32))
    n = int(allowed.sum())
    params = None
    if n < len(allowed):
        selector = faiss.IDSelectorBitmap(np.packbits(allowed, bitorder="little"))  # type: ignore[call-arg,arg-type]
        params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    scores, idx = index.search(q.reshape(1, -1), min(k, n), params=params)
    hits = [(int(i), float(s)) for s, i in zip(scores[0], idx[0], strict=True) if i >= 0]
    rows = segment.rows
    return sorted(hits, key=lambda h: (-h[1], rows[h[0]].article_id, rows[h[0]].start))


def test_small_segment_has_no_ann_file_and_is_searched_exactly_as_before(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    name = synthetic_segment(index_dir, 2_000, ANN)
    assert not (segment_dir(index_dir, name) / ANN_FILE).exists()
    seg = LoadedSegment.load(index_dir, name, PARAMS)
    assert isinstance(seg.dense, ExactIndex)
    dead = set(range(0, 2_000, 7))
    snap = snapshot(seg, dead)
    for filters in (None, Filters(source="left")):
        allowed = snap.allowed(seg, filters)
        for q in QUERIES[:20]:
            got = [(h.index, h.score) for h in dense(snap, q, 10, filters)]
            assert got == dense_before(seg, q, 10, allowed)


def test_ann_file_is_ignored_when_the_mode_is_off(large: tuple[Path, str], exact: LoadedSegment) -> None:
    off = LoadedSegment.load(*large, AnnParams(min_rows=0))
    assert isinstance(off.dense, ExactIndex)
    for q in QUERIES[:5]:
        assert rows_of(snapshot(off), q) == rows_of(snapshot(exact), q)


# -- through the writer: generated articles, the hashing embedder -------------------------------

WORDS = [f"{a}{b}" for a in ("tal", "mor", "vin", "sup", "kel", "dra", "pon", "rix") for b in range(250)]


def write_articles(corpus: Path, first: int, count: int, name: str = "news.jsonl") -> None:
    """`count` articles of ~5 chunks each (the hash model's chunks hold ~250 words)."""
    rng = random.Random(first)
    with open(corpus / name, "w", encoding="utf-8") as f:
        for i in range(first, first + count):
            sentences = [" ".join(rng.choices(WORDS, k=16)).capitalize() + "." for _ in range(55)]
            source = "Wire" if i % 4 else "Ledger"
            article = {"id": f"n{i}", "title": f"Story {i}", "text": " ".join(sentences), "source": source}
            f.write(json.dumps(article) + "\n")


def exact_reader(index_dir: Path) -> Snapshot:
    return IndexReader(index_dir, AnnParams(min_rows=0)).refresh()


def test_reconcile_with_a_low_threshold_round_trips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus_dir: Path
) -> None:
    monkeypatch.setenv("QA_ANN_MIN_ROWS", "500")
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", model="hash", _env_file=None)
    assert settings.ann_min_rows == 500
    write_articles(corpus_dir, 0, 200)  # ~1,000 chunks: one segment
    open_writer(settings, HashingEmbedder()).reconcile(corpus_dir)
    manifest = read_manifest(settings.index_dir)
    assert [s.rows >= 500 for s in manifest.segments] == [True]
    assert (segment_dir(settings.index_dir, manifest.segments[0].name) / ANN_FILE).is_file()

    service = QAService(settings, HashingEmbedder())
    snap = service.snapshot()
    assert all(isinstance(seg.dense, AnnIndex) for seg in snap.segments)
    ref = exact_reader(settings.index_dir)
    rng = random.Random(5)
    queries = [service.embedder.embed_query(" ".join(rng.choices(WORDS, k=8))) for _ in range(30)]
    assert recall([rows_of(snap, q) for q in queries], [rows_of(ref, q) for q in queries]) >= 0.95
    ledger = Filters(source="ledger")
    assert all(h.article.source == "Ledger" for q in queries for h in dense(snap, q, 10, ledger))
    citations = service.search(" ".join(WORDS[:5]), 5).results
    assert citations and all(c.article_id.startswith("n") for c in citations)


def test_merge_writes_a_rebuilt_ann_index(tmp_path: Path, corpus_dir: Path) -> None:
    index_dir = tmp_path / "index"
    writer = IndexWriter(index_dir, HashingEmbedder(), batch_articles=60, max_segments=1, ann=AnnConfig(min_rows=500))
    write_articles(corpus_dir, 0, 250)  # five batches of ~300 rows, each under the threshold: merged into one
    writer.reconcile(corpus_dir)
    first = read_manifest(index_dir).segments
    assert len(first) == 1 and first[0].rows >= 500
    assert (segment_dir(index_dir, first[0].name) / ANN_FILE).is_file()

    write_articles(corpus_dir, 0, 200)  # 50 articles deleted (tombstones) ...
    write_articles(corpus_dir, 1000, 70, "more.jsonl")  # ... and a new batch: merged with the first segment
    writer.reconcile(corpus_dir)
    manifest = read_manifest(index_dir)
    (merged,) = manifest.segments
    assert merged.name != first[0].name and not manifest.deleted
    import faiss

    ann = faiss.read_index(str(segment_dir(index_dir, merged.name) / ANN_FILE))
    assert ann.ntotal == merged.rows == len(read_segment(index_dir, merged.name).rows)
    kept = {r.article_id for r in read_segment(index_dir, merged.name).rows}
    assert kept == {f"n{i}" for i in range(200)} | {f"n{i}" for i in range(1000, 1070)}

    snap = IndexReader(index_dir, AnnParams(min_rows=500)).refresh()
    assert isinstance(snap.segments[0].dense, AnnIndex)
    ref = exact_reader(index_dir)
    queries = [np.asarray(ref.segments[0].vectors[i]) for i in range(0, merged.rows, 97)]
    assert recall([rows_of(snap, q) for q in queries], [rows_of(ref, q) for q in queries]) >= 0.95
