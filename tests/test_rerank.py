"""Reranking stages: the sentence-match reranker, and a real (tiny, locally built) cross-encoder."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from index.embedders import HashingEmbedder
from index.embedders.sentence_transformers import bundled_model_path
from index.errors import IndexStoreError
from qa.config import Settings
from qa.search.hits import Hit
from qa.search.pipeline import Pipeline
from qa.search.rerank import CrossEncoder, SentenceMatch, SentenceVectorMatch
from qa.search.snapshot import IndexReader, Snapshot
from tests.conftest import WriteArticle, index_now, lexical, query

HARBOUR = "harbour bridge tolls March"


def harbour_hits(settings: Settings, write_article: WriteArticle) -> tuple[Snapshot, list[Hit]]:
    """Three passages as fused, worst last: "scattered" has every question word, but spread over
    sentences, and is first; "focused" has them in one sentence, and comes second."""
    write_article("scattered.md", "The harbour opened. A bridge was built. Tolls rose in March. Ferries stopped.")
    write_article("focused.md", "Nothing else here. The harbour bridge tolls rose in March. More filler text.")
    write_article("other.md", "A harbour story with little else in it.")
    index_now(settings)
    snap = IndexReader(settings.index_dir).refresh()
    by_id = {h.row.article_id: h for h in lexical(snap, HARBOUR, 10)}
    return snap, [by_id["scattered"].rescored(1.0), by_id["focused"].rescored(0.95), by_id["other"].rescored(0.0)]


def test_sentence_match_lifts_the_passage_whose_one_sentence_holds_the_question(
    settings: Settings, write_article: WriteArticle
) -> None:
    snap, fused = harbour_hits(settings, write_article)
    reranked = SentenceMatch(weight=0.6).rerank(query(HARBOUR), fused, snap.bm25)
    assert [h.row.article_id for h in reranked] == ["focused", "scattered", "other"]
    tied = fused[:2]
    assert SentenceMatch(weight=0.0).rerank(query("harbour bridge"), tied, snap.bm25) == tied


def test_sentence_vector_match_lifts_the_passage_with_the_sentence_closest_to_the_question(
    settings: Settings, write_article: WriteArticle
) -> None:
    snap, fused = harbour_hits(settings, write_article)
    question = HARBOUR
    q = query(question, HashingEmbedder().embed_query(question))
    assert [len(h.sentences) for h in fused[:2]] == [4, 3]  # made at indexing
    reranked = SentenceVectorMatch(weight=0.3).rerank(q, fused, snap.bm25)
    assert [h.row.article_id for h in reranked] == ["focused", "scattered", "other"]
    assert SentenceVectorMatch(weight=0.0).rerank(q, fused, snap.bm25) == fused
    # A passage, not a question (more terms than a question has), is left as fused.
    long = query(" ".join([question] * 7), q.vector)
    assert SentenceVectorMatch(weight=0.3, max_terms=24).rerank(long, fused, snap.bm25) == fused
    # Without sentence vectors (an index written before them) a passage's own vector stands in.
    bare = [replace(h, sentences=h.sentences[:0]) for h in fused]
    expected = sorted(bare[:2], key=lambda h: -float(h.vector @ q.vector))[0].row.article_id
    assert SentenceVectorMatch(weight=5.0).rerank(q, bare, snap.bm25)[0].row.article_id == expected


def test_cross_encoder_from_a_local_folder_reranks(
    settings: Settings, write_article: WriteArticle, tmp_path: Path
) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path / "tiny-cross-encoder"
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, num_labels=1
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(bundled_model_path() / name, folder / name)
    write_article("a.md", "Apples grow in orchards.")
    write_article("b.md", "Bananas ripen in the sun.")
    index_now(settings)
    snap = IndexReader(settings.index_dir).refresh()
    hits = lexical(snap, "apples bananas", 10)
    reranker = CrossEncoder(str(folder))
    reranked = reranker.rerank(query("apples bananas"), hits, snap.bm25)
    expected = reranker.model.predict([("apples bananas", f"{h.article.title}. {h.row.text}") for h in hits])
    assert sorted(h.score for h in reranked) == pytest.approx(sorted(float(s) for s in expected), abs=1e-5)
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    # Configured through settings, it runs inside the hybrid pipeline.
    vector = HashingEmbedder().embed_query("apples")
    pipeline = Pipeline(settings.model_copy(update={"reranker": str(folder)}))
    out = pipeline.run(snap, query("apples bananas", vector, 2))
    assert {h.row.article_id for h in out} == {"a", "b"}


def test_a_reranker_path_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match="QA_RERANKER"):
        CrossEncoder(str(tmp_path / "missing"))


@pytest.mark.slow
def test_the_packaged_cross_encoder_reranks_the_answering_passage_first(
    settings: Settings, write_article: WriteArticle
) -> None:
    write_article("a.md", "The harbour authority said ferries would run again from Monday.", title="Ferries")
    write_article("b.md", "Tolls on the harbour bridge rose by 10% in March, the council said.", title="Tolls")
    index_now(settings)
    snap = IndexReader(settings.index_dir).refresh()
    hits = lexical(snap, "harbour", 10)
    reranked = CrossEncoder("ms-marco", depth=5).rerank(query("How much did the bridge tolls go up?"), hits, snap.bm25)
    assert reranked[0].row.article_id == "b" and reranked[0].score > reranked[1].score
