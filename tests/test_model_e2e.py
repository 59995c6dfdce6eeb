"""End to end with the real default models: index corpus/ and ask in other words."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.config import open_writer
from index.loaders import load_corpus
from qa.config import Settings
from qa.service import QAService
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    settings = Settings(corpus_dir=SAMPLE_CORPUS, index_dir=tmp_path_factory.mktemp("index"), _env_file=None)
    embedder = settings.embedder_config().load()
    result = open_writer(settings, embedder).reconcile(settings.corpus_dir)
    assert result.chunks_embedded > 0 and not result.plan.skipped
    return QAService(settings, embedder)


def test_paraphrased_question_finds_the_anthropic_article_first(service: QAService) -> None:
    result = service.search(
        "Is the company that makes Claude negotiating with the White House over its upcoming system?", 3
    )
    assert result.results[0].article_id == "ai-policy/anthropic-administration-talks"


def test_every_citation_quotes_its_article(service: QAService) -> None:
    articles = {a.id: a for a in load_corpus(Path(SAMPLE_CORPUS)).articles}
    for question in (
        "How much power do data centres need?",
        "What did the central bank decide on rates?",
        "Who led the funding round?",
    ):
        result = service.search(question, 5)
        assert len(result.results) == 5
        for c in result.results:
            assert articles[c.article_id].text[c.start : c.end] == c.quote
            assert c.title == articles[c.article_id].title and c.url == articles[c.article_id].url
        assert [c.n for c in result.results] == [1, 2, 3, 4, 5]
        assert result.results == sorted(result.results, key=lambda c: -c.score)
