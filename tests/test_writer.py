from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.config import open_writer
from index.embedders import HashingEmbedder
from index.errors import IndexNotFound, ModelMismatch, WriterBusy
from index.manifest import read_manifest
from index.segments import SENTENCE_STARTS, SENTENCES, read_segment
from index.sentences import split_sentences
from qa.config import Settings
from qa.service import QAService
from tests.conftest import WriteArticle, live_rows


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed_documents(texts)


@pytest.fixture
def counting() -> CountingEmbedder:
    return CountingEmbedder()


def reconcile(settings: Settings, embedder: HashingEmbedder, **kw):  # type: ignore[no-untyped-def]
    return open_writer(settings, embedder).reconcile(settings.corpus_dir, **kw)


def search_ids(settings: Settings, query: str, k: int = 10) -> list[str]:
    return [c.article_id for c in QAService(settings, HashingEmbedder()).search(query, k).results]


def live_ids(index_dir: Path) -> list[tuple[str, int]]:
    return [(r.article_id, r.id) for r, _ in live_rows(index_dir)]


def test_plan_add_change_delete_unchanged(
    settings: Settings, counting: CountingEmbedder, write_article: WriteArticle, corpus_dir: Path
) -> None:
    write_article("a.md", "Apples are grown in orchards.")
    write_article("b.md", "Bananas ripen in warm weather.")
    write_article("c.md", "Cherries bloom in spring.")
    first = reconcile(settings, counting)
    assert sorted(a.id for a in first.plan.added) == ["a", "b", "c"]
    assert first.chunks_embedded == 3 and first.index_version >= 1

    write_article("b.md", "Bananas are now grown in greenhouses in Iceland.")
    (corpus_dir / "c.md").unlink()
    write_article("d.md", "Dates come from palm trees.")
    second = reconcile(settings, counting)
    assert [a.id for a in second.plan.added] == ["d"]
    assert [a.id for a in second.plan.changed] == ["b"]
    assert second.plan.deleted == ["c"]
    assert second.plan.unchanged == ["a"]
    assert second.chunks_embedded == 2
    assert second.index_version > first.index_version

    assert "c" not in search_ids(settings, "cherries bloom in spring")
    assert search_ids(settings, "greenhouses Iceland")[0] == "b"
    assert sorted(a for a, _ in live_ids(settings.index_dir)) == ["a", "b", "d"]


def test_second_run_without_change_embeds_nothing_and_commits_nothing(
    settings: Settings, counting: CountingEmbedder, write_article: WriteArticle
) -> None:
    write_article("a.md", "Rates were held steady by the central bank.")
    first = reconcile(settings, counting)
    n = len(counting.texts)
    again = reconcile(settings, counting)
    assert again.chunks_embedded == 0 and len(counting.texts) == n
    assert again.index_version == first.index_version
    assert again.plan.unchanged == ["a"]


def test_identical_texts_under_two_ids_are_embedded_once_and_returned_once(
    settings: Settings, counting: CountingEmbedder, write_article: WriteArticle
) -> None:
    body = "Syndicated story: the chip maker raised its forecast for the year."
    write_article("wire/one.md", body, title="Chip maker raises forecast")
    write_article("paper/two.md", body, title="Chip maker raises forecast")
    write_article("other.md", "Unrelated story about football.")
    result = reconcile(settings, counting)
    assert result.chunks_embedded == 2
    # each distinct passage once (title and quote), and each distinct sentence of it once
    assert sorted(counting.texts) == sorted(
        [
            "Chip maker raises forecast\n" + body,
            body,
            "Other\nUnrelated story about football.",
            "Unrelated story about football.",
        ]
    )
    hits = search_ids(settings, "chip maker forecast", k=5)
    assert hits.count("wire/one") + hits.count("paper/two") == 1


def test_unchanged_chunks_of_a_changed_article_are_not_re_embedded(
    settings: Settings, counting: CountingEmbedder, write_article: WriteArticle
) -> None:
    paragraphs = [" ".join(f"Paragraph {p} sentence {i} about markets." for i in range(25)) for p in range(4)]
    write_article("long.md", "\n\n".join(paragraphs))
    reconcile(settings, counting)
    before = len(counting.texts)
    assert before >= 3
    paragraphs[-1] = "A brand new closing paragraph."
    write_article("long.md", "\n\n".join(paragraphs))
    result = reconcile(settings, counting)
    assert [a.id for a in result.plan.changed] == ["long"]
    assert 0 < result.chunks_embedded < before


def test_dry_run_writes_nothing(settings: Settings, counting: CountingEmbedder, write_article: WriteArticle) -> None:
    write_article("a.md", "Some text.")
    result = reconcile(settings, counting, dry_run=True)
    assert [a.id for a in result.plan.added] == ["a"]
    assert not settings.index_dir.exists() and counting.texts == []
    with pytest.raises(IndexNotFound):
        read_manifest(settings.index_dir)


def test_rebuild_re_embeds_everything(
    settings: Settings, counting: CountingEmbedder, write_article: WriteArticle
) -> None:
    write_article("a.md", "Some text.")
    write_article("b.md", "Other text.")
    first = reconcile(settings, counting)
    result = reconcile(settings, counting, rebuild=True)
    assert sorted(a.id for a in result.plan.added) == ["a", "b"]
    assert result.chunks_embedded == 2 and result.index_version > first.index_version
    assert sorted(a for a, _ in live_ids(settings.index_dir)) == ["a", "b"]
    assert len(list((settings.index_dir / "segments").iterdir())) == 1


def test_another_model_is_refused_until_rebuild(settings: Settings, write_article: WriteArticle) -> None:
    write_article("a.md", "Some text.")
    reconcile(settings, HashingEmbedder(384))
    other = HashingEmbedder(128)
    with pytest.raises(ModelMismatch, match="qa index --rebuild"):
        reconcile(settings, other)
    with pytest.raises(ModelMismatch, match="qa index --rebuild"):
        QAService(settings, other).search("text")
    assert reconcile(settings, other, rebuild=True).index_version > 1
    assert QAService(settings, other).search("text").results[0].article_id == "a"


def test_a_second_writer_is_refused_while_the_lock_is_held(settings: Settings, write_article: WriteArticle) -> None:
    write_article("a.md", "Some text.")
    writer = open_writer(settings, HashingEmbedder())
    with writer.lock(), pytest.raises(WriterBusy, match="--wait"):
        open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    assert writer.reconcile(settings.corpus_dir).index_version == 1


def test_an_unreadable_file_keeps_its_indexed_articles(
    settings: Settings, write_article: WriteArticle, corpus_dir: Path
) -> None:
    write_article("a.md", "Apples grow in orchards.")
    write_article("b.md", "Bananas grow in warm places.")
    reconcile(settings, HashingEmbedder())
    (corpus_dir / "b.md").write_bytes("---\ntitle: B\n---\nBananas \xe9t\xe9.".encode("latin-1"))
    result = reconcile(settings, HashingEmbedder())
    assert result.plan.kept == ["b"] and result.plan.deleted == []
    assert [s.path for s in result.plan.skipped] == ["b.md"]
    assert "b" in search_ids(settings, "bananas warm")


def test_many_batches_are_merged_and_still_answer(
    tmp_path: Path, write_article: WriteArticle, corpus_dir: Path
) -> None:
    settings = Settings(
        corpus_dir=corpus_dir, index_dir=tmp_path / "ix", model="hash", batch_articles=2, _env_file=None
    )
    for i in range(30):
        write_article(f"n{i:02d}.md", f"Story {i} mentions the keyword topic{i} and markets.")
    result = reconcile(settings, HashingEmbedder())
    manifest = read_manifest(settings.index_dir)
    assert len(manifest.segments) <= 8
    assert len({s.name for s in manifest.segments}) == len(list((settings.index_dir / "segments").iterdir()))
    assert result.index_version == manifest.version
    rows = live_ids(settings.index_dir)
    assert sorted(a for a, _ in rows) == sorted(f"n{i:02d}" for i in range(30))
    assert len({cid for _, cid in rows}) == len(rows)
    assert search_ids(settings, "story 17 topic17")[0] == "n17"


def test_changing_the_chunker_re_chunks_without_re_embedding_same_texts(
    tmp_path: Path, write_article: WriteArticle, corpus_dir: Path, counting: CountingEmbedder
) -> None:
    write_article("a.md", "One sentence only.")
    s1 = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "ix", model="hash", chunk_overlap=1, _env_file=None)
    reconcile(s1, counting)
    s2 = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "ix", model="hash", chunk_overlap=0, _env_file=None)
    result = reconcile(s2, counting)
    assert [a.id for a in result.plan.changed] == ["a"]
    assert result.chunks_embedded == 0
    assert json.loads((tmp_path / "ix" / "manifest.json").read_text())["chunker"]["overlap"] == 0


def test_a_retired_segment_is_kept_for_the_grace_period_then_removed(
    settings: Settings, write_article: WriteArticle
) -> None:
    import os

    from index.segments import RETIRED, SEGMENTS

    graced = settings.model_copy(update={"retire_grace_s": 60.0})
    write_article("a.md", "Apples are grown in orchards.")
    reconcile(graced, HashingEmbedder(), rebuild=False)
    first = {s.name for s in read_manifest(settings.index_dir).segments}
    reconcile(graced, HashingEmbedder(), rebuild=True)  # a new segment replaces the old one
    folders = {p.name for p in (settings.index_dir / SEGMENTS).iterdir()}
    assert first <= folders and first.isdisjoint(s.name for s in read_manifest(settings.index_dir).segments)
    (old,) = first
    marker = settings.index_dir / SEGMENTS / old / RETIRED
    assert marker.exists()  # retired, still readable by a replica on the previous commit

    reconcile(graced, HashingEmbedder())
    assert (settings.index_dir / SEGMENTS / old).is_dir()  # within the grace period
    os.utime(marker, (marker.stat().st_atime - 61, marker.stat().st_mtime - 61))
    reconcile(graced, HashingEmbedder())
    assert not (settings.index_dir / SEGMENTS / old).exists()


def test_every_row_keeps_its_sentences_vectors_through_reuse_and_merges(
    tmp_path: Path, write_article: WriteArticle, corpus_dir: Path
) -> None:
    settings = Settings(
        corpus_dir=corpus_dir, index_dir=tmp_path / "ix", model="hash", batch_articles=2, _env_file=None
    )
    for i in range(20):  # ten batches: more segments than the writer keeps, so some are merged
        write_article(f"n{i:02d}.md", f"Story {i} opens here. It mentions topic{i}. Markets closed higher on day {i}.")
    embedder = HashingEmbedder()
    reconcile(settings, embedder)
    # n03 changes (its source) but not its text: its vectors are taken from the segment holding them
    write_article("n03.md", "Story 3 opens here. It mentions topic3. Markets closed higher on day 3.", source="Wire")
    assert reconcile(settings, embedder).chunks_embedded == 0
    manifest = read_manifest(settings.index_dir)
    assert len(manifest.segments) < 11
    checked = 0
    for entry in manifest.segments:
        seg = read_segment(settings.index_dir, entry.name, lexical=False)
        for i, row in enumerate(seg.rows):
            sentences = [row.text[a:b] for a, b in split_sentences(row.text)]
            expected = embedder.embed_documents(sentences)
            assert seg.sentences.of(i).dtype == np.float16
            np.testing.assert_allclose(seg.sentences.of(i).astype(np.float32), expected, atol=2e-3)
            checked += 1
    assert checked == manifest.live_chunks + sum(len(d) for d in manifest.deleted.values())


def test_a_segment_written_without_sentence_vectors_still_reads_and_answers(
    settings: Settings, write_article: WriteArticle
) -> None:
    write_article("a.md", "The harbour bridge opened in March. Tolls rose.")
    write_article("b.md", "Bananas ripen in warm weather.")
    reconcile(settings, HashingEmbedder())
    for folder in (settings.index_dir / "segments").iterdir():  # as an index of an earlier version
        (folder / SENTENCES).unlink()
        (folder / SENTENCE_STARTS).unlink()
    seg = read_segment(settings.index_dir, read_manifest(settings.index_dir).segments[0].name)
    assert all(len(seg.sentences.of(i)) == 0 for i in range(len(seg.rows)))
    assert search_ids(settings, "when did the harbour bridge open")[0] == "a"


def test_a_text_embedded_in_an_earlier_batch_of_the_run_is_taken_from_its_segment(
    tmp_path: Path, write_article: WriteArticle, corpus_dir: Path, counting: CountingEmbedder
) -> None:
    settings = Settings(
        corpus_dir=corpus_dir, index_dir=tmp_path / "ix", model="hash", batch_articles=1, _env_file=None
    )
    body = "Syndicated story: the chip maker raised its forecast. Shares rose."
    write_article("a/one.md", body, title="Chip maker")
    write_article("b/two.md", "Unrelated story about football.")
    write_article("c/three.md", body, title="Chip maker")  # a later batch, the same embedded text
    result = reconcile(settings, counting)
    assert result.chunks_embedded == 2
    rows = {r.article_id: r for r, _ in live_rows(settings.index_dir)}
    assert set(rows) == {"a/one", "b/two", "c/three"}
    manifest = read_manifest(settings.index_dir)
    by_article = {}
    for entry in manifest.segments:
        seg = read_segment(settings.index_dir, entry.name, lexical=False)
        by_article.update({r.article_id: (seg.vectors[i], seg.sentences.of(i)) for i, r in enumerate(seg.rows)})
    np.testing.assert_array_equal(by_article["a/one"][0], by_article["c/three"][0])
    np.testing.assert_array_equal(by_article["a/one"][1], by_article["c/three"][1])
    assert len(by_article["c/three"][1]) == 2
