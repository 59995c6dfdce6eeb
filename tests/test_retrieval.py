"""BM25 against bm25s, fusion and collapsing, with the hashing embedder."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest
import Stemmer

from index.config import open_writer
from index.embedders import HashingEmbedder
from index.ids import titled
from index.lexical import tokenize
from qa.config import Settings
from qa.search import bm25
from qa.search.collapse import collapse
from qa.search.pipeline import Pipeline
from qa.search.snapshot import IndexReader
from qa.service import QAService
from tests.conftest import WriteArticle, dense, lexical, query

DOCS = {
    "rates": "The central bank held interest rates steady and signalled fewer rate cuts.",
    "chips": "Chip exporters need licences; chip shipments to Malaysia are checked for diversion.",
    "power": "Data centres need gigawatts of power, and gas turbines are sold out.",
    "fed": "Fed officials said rates would stay high while inflation stays above target.",
    "robots": "Warehouse robots pick parcels faster than people, the logistics firm said.",
    "cloud": "Cloud providers raised spending on data centres and chips again.",
}


def index_docs(settings: Settings, docs: dict[str, str], write_article: WriteArticle) -> None:
    for name, text in docs.items():
        write_article(f"{name}.md", text, title=name.title())
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)


def bm25s_scores(texts: list[str], query: str) -> list[float]:
    """The reference: bm25s's Lucene BM25 with our k1 and b, over its own tokenizer's terms."""
    retriever = bm25s.BM25(method="lucene", k1=bm25.K1, b=bm25.B)
    stemmer = Stemmer.Stemmer("english")
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    return [float(s) for s in retriever.get_scores(tokenize([query])[0])]


@pytest.mark.parametrize("query", ["interest rates cuts", "chips data centres", "power turbines sold", "zebra"])
def test_bm25_scores_equal_bm25s(settings: Settings, write_article: WriteArticle, query: str) -> None:
    index_docs(settings, DOCS, write_article)
    snap = IndexReader(settings.index_dir).refresh()
    ours = {h.row.article_id: h.score for h in lexical(snap, query, 10)}
    reference = bm25s_scores([titled(name.title(), text) for name, text in DOCS.items()], query)
    expected = {name: s for name, s in zip(DOCS, reference, strict=True) if s > 0}
    assert ours.keys() == expected.keys()
    for name, score in expected.items():
        assert ours[name] == pytest.approx(score, rel=1e-5)


def test_tokenize_equals_bm25s() -> None:
    texts = [
        "The Fed's rate-cut: 3 cuts in 2026, said Powell (again)!",
        "ÉCOLE Straße İstanbul ﬁnance naïve café x_y __init__ 日本語 ٣٤ ½",
        "a I it's THE and",
        "",
        "running runs ran; Generously generous generosity",
    ]
    stemmer = Stemmer.Stemmer("english")
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
    assert tokenize(texts) == [list(t) for t in expected]


def test_ties_at_the_cut_are_broken_by_article_across_segments(settings: Settings, write_article: WriteArticle) -> None:
    text = "Harbour tolls rose again in March."
    for name in ("b1", "a1"):
        write_article(f"{name}.md", text, title="Tolls")
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    for name in ("b2", "a2"):
        write_article(f"{name}.md", text, title="Tolls")
    write_article("other.md", "Ferries stopped in the harbour.", title="Ferries")
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    snap = IndexReader(settings.index_dir).refresh()
    assert len(snap.segments) == 2
    assert [h.row.article_id for h in lexical(snap, "harbour tolls", 3)] == ["a1", "a2", "b1"]
    vector = HashingEmbedder().embed_query(titled("Tolls", text))
    assert [h.row.article_id for h in dense(snap, vector, 3)] == ["a1", "a2", "b1"]


def test_bm25_statistics_ignore_deleted_rows(settings: Settings, write_article: WriteArticle, corpus_dir: Path) -> None:
    index_docs(settings, DOCS, write_article)
    (corpus_dir / "fed.md").unlink()
    (corpus_dir / "rates.md").unlink()
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    snap = IndexReader(settings.index_dir).refresh()
    assert [h.row.article_id for h in lexical(snap, "interest rates fed", 10)] == []
    remaining = {k: v for k, v in DOCS.items() if k not in {"fed", "rates"}}
    ours = {h.row.article_id: h.score for h in lexical(snap, "chips data centres", 10)}
    texts = [titled(n.title(), t) for n, t in remaining.items()]
    reference = dict(zip(remaining, bm25s_scores(texts, "chips data centres"), strict=True))
    for name, score in ours.items():
        assert score == pytest.approx(float(reference[name]), rel=1e-5)


@pytest.mark.parametrize("fusion", ["score", "rrf"])
def test_hybrid_finds_what_either_side_finds(settings: Settings, write_article: WriteArticle, fusion: str) -> None:
    index_docs(settings, DOCS, write_article)
    service = QAService(settings.model_copy(update={"fusion": fusion}), HashingEmbedder())
    _, hits = service.retrieve(service.query("warehouse robots parcels", 3))
    assert hits[0].row.article_id == "robots"
    assert len({h.row.article_id for h in hits}) == len(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_collapse_drops_overlapping_chunks_and_near_duplicates(settings: Settings, write_article: WriteArticle) -> None:
    long = " ".join(f"Sentence {i} about the chip export licence regime." for i in range(80))
    write_article("long.md", long, title="Licences")
    write_article("copy-a.md", "Syndicated: the chip export licence regime tightened today.", title="Wire")
    write_article("copy-b.md", "Syndicated: the chip export licence regime tightened today!", title="Wire")
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    snap = IndexReader(settings.index_dir).refresh()
    raw = lexical(snap, "chip export licence regime", 20)
    kept = collapse(raw, 20, near_duplicate=0.97)
    copies = [h for h in kept if h.row.article_id.startswith("copy")]
    assert len(copies) == 1  # same words, same title: one story
    spans = [(h.row.start, h.row.end) for h in kept if h.row.article_id == "long"]
    assert spans and all(
        a_end <= b_start for (_, a_end), (b_start, _) in zip(sorted(spans), sorted(spans)[1:], strict=False)
    )
    assert len(kept) < len(raw)


def test_methods_respect_filters_and_deletions(
    settings: Settings, write_article: WriteArticle, corpus_dir: Path
) -> None:
    index_docs(settings, DOCS, write_article)
    (corpus_dir / "chips.md").unlink()
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    snap = IndexReader(settings.index_dir).refresh()
    vector = HashingEmbedder().embed_query("chip licences Malaysia")
    pipeline = Pipeline(settings)
    for method in ("bm25", "dense", "hybrid"):
        hits = pipeline.run(snap, query("chip licences Malaysia", vector, 6), method)  # type: ignore[arg-type]
        assert "chips" not in {h.row.article_id for h in hits}, method
        assert np.all(np.isfinite([h.score for h in hits]))


def test_repeated_queries_are_embedded_once(settings: Settings, write_article: WriteArticle) -> None:
    index_docs(settings, DOCS, write_article)
    calls: list[str] = []

    class Counting(HashingEmbedder):
        def embed_query(self, text: str) -> np.ndarray:
            calls.append(text)
            return super().embed_query(text)

    service = QAService(settings, Counting())
    first = service.search("interest rates").results
    assert service.search("interest rates").results == first
    service.ask("interest rates")
    assert calls == ["interest rates"]


def test_a_segment_without_stored_term_counts_still_answers_lexically(
    settings: Settings, write_article: WriteArticle
) -> None:
    index_docs(settings, DOCS, write_article)
    for folder in (settings.index_dir / "segments").iterdir():  # as written before BM25 existed
        (folder / "lexical.npz").unlink()
        (folder / "vocab.json").unlink()
    snap = IndexReader(settings.index_dir).refresh()
    assert lexical(snap, "warehouse robots", 1)[0].row.article_id == "robots"


def test_a_damaged_segment_is_reported_not_retried(settings: Settings, write_article: WriteArticle) -> None:
    from index.errors import CorruptIndex

    index_docs(settings, DOCS, write_article)
    for folder in (settings.index_dir / "segments").iterdir():
        (folder / "chunks.jsonl").unlink()
    with pytest.raises(CorruptIndex, match=r"missing chunks\.jsonl.*qa index --rebuild"):
        IndexReader(settings.index_dir).refresh()
