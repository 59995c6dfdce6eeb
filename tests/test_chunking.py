from __future__ import annotations

from itertools import pairwise

import pytest

from index.articles import Article
from index.chunking import Chunker, ChunkerConfig
from index.embedders.sentence_transformers import bundled_model_path
from index.embedders.tokenizers import HFTokenizer, WordTokenizer
from index.loaders import load_corpus
from index.sentences import split_sentences
from tests.conftest import SAMPLE_CORPUS


@pytest.fixture(scope="module")
def model_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))


@pytest.fixture(scope="module")
def chunker(model_tokenizer) -> Chunker:  # type: ignore[no-untyped-def]
    return Chunker(HFTokenizer(model_tokenizer), ChunkerConfig(max_tokens=256, special_tokens=2, overlap=1), "m")


def model_reads(model_tokenizer, text: str) -> int:  # type: ignore[no-untyped-def]
    """Word pieces the model reads, special tokens included, untruncated."""
    model_tokenizer.no_truncation()
    return len(model_tokenizer.encode(text, add_special_tokens=True).ids)


def test_every_sample_chunk_quotes_its_article_exactly(chunker: Chunker, model_tokenizer) -> None:  # type: ignore[no-untyped-def]
    articles = load_corpus(SAMPLE_CORPUS).articles
    assert articles
    for article in articles:
        chunks = chunker.chunk(article)
        assert chunks, article.id
        for c, embedded in chunks:
            assert article.text[c.start : c.end] == c.text
            assert embedded.endswith(c.text) and article.title.split()[0] in embedded
            assert model_reads(model_tokenizer, embedded) <= 256


def test_chunks_cover_the_article_with_one_sentence_overlap(chunker: Chunker) -> None:
    sentences = [f"Sentence number {i} talks about the quarterly earnings of chip makers in detail." for i in range(60)]
    article = Article(id="a", title="Chips", text=" ".join(sentences))
    chunks = [e.chunk for e in chunker.chunk(article)]
    assert len(chunks) > 2
    spans = split_sentences(article.text)
    starts = {s for s, _ in spans}
    ends = {e for _, e in spans}
    for prev, nxt in pairwise(chunks):
        assert prev.start < nxt.start < prev.end  # overlap ...
        shared = [s for s in spans if nxt.start <= s[0] and s[1] <= prev.end]
        assert len(shared) == 1  # ... of exactly one sentence
    assert all(c.start in starts and c.end in ends for c in chunks)  # whole sentences
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)


def test_a_sentence_longer_than_the_model_reads_is_cut(chunker: Chunker, model_tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(f"word{i}" for i in range(900)) + "."
    article = Article(id="long", title="A very long sentence", text=text)
    chunks = chunker.chunk(article)
    assert len(chunks) > 3
    for c, embedded in chunks:
        assert text[c.start : c.end] == c.text
        assert model_reads(model_tokenizer, embedded) <= 256
    assert chunks[-1].chunk.end == len(text)


def test_a_long_title_is_shortened_for_embedding_and_never_quoted(chunker: Chunker, model_tokenizer) -> None:  # type: ignore[no-untyped-def]
    title = "Headline " * 80
    article = Article(id="t", title=title, text="Short body. Another sentence.")
    [(c, embedded)] = chunker.chunk(article)
    assert c.text == "Short body. Another sentence."
    shortened = embedded.removesuffix("\n" + c.text)
    assert title.startswith(shortened) and len(model_tokenizer.encode(shortened, add_special_tokens=False).ids) <= 32


def test_chunk_ids_are_stable_and_distinct() -> None:
    config = ChunkerConfig(max_tokens=40, special_tokens=2, overlap=0, max_title_tokens=4)
    chunker = Chunker(WordTokenizer(), config, "m")
    article = Article(id="a", title="T", text=" ".join(f"Sentence {i} is here." for i in range(30)))
    first = [e.chunk.id for e in chunker.chunk(article)]
    assert first == [e.chunk.id for e in chunker.chunk(article)]
    assert len(set(first)) == len(first)
    assert all(0 <= i < 2**63 for i in first)


def test_config_that_leaves_no_room_is_refused() -> None:
    with pytest.raises(ValueError, match="fewer than 16 tokens"):
        Chunker(WordTokenizer(), ChunkerConfig(max_tokens=40, special_tokens=2, max_title_tokens=32), "m")
