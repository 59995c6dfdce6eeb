"""The alerts' scorer in the read core: an article's best passage for a topic, its score from its
parts, the part of it an alert quotes (verbatim), and what counts as a copy."""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import Settings
from qa.search.collapse import NEAR_DUPLICATE, copy_of
from qa.search.topics import DENSE_WEIGHT, best_matches
from qa.service import QAService
from tests.conftest import WriteArticle, hash_service, index_now

FILLER = " ".join(f"Paragraph {n} says the weather stayed mild and the markets were quiet." for n in range(12))
TOPIC_SENTENCE = "Exporters of AI chips now need a licence to ship to Vietnam."


@pytest.fixture
def service(settings: Settings, write_article: WriteArticle) -> QAService:
    write_article("long.md", f"{FILLER} {TOPIC_SENTENCE} The rule starts in May. {FILLER}", title="A long day")
    write_article("other.md", "The home side won the cup final after a late goal.", title="Cup final")
    index_now(settings)
    return hash_service(settings)


def test_each_article_scores_its_best_passage_by_cosine_and_coverage(service: QAService) -> None:
    snap = service.snapshot()
    query = service.query("AI chip exporters")
    [match] = best_matches(snap, [query], ["long", "other", "missing"], threshold=0.2)
    assert match.hit.row.article_id == "long" and TOPIC_SENTENCE in match.hit.row.text
    passages = snap.passages(["long"])
    assert len(passages) > 1  # the best of several
    assert match.dense == pytest.approx(float(match.hit.vector @ query.vector), abs=1e-6)
    assert match.coverage == 1.0  # every term of the topic is in that passage
    assert match.hit.score == pytest.approx(DENSE_WEIGHT * match.dense + (1 - DENSE_WEIGHT) * match.coverage)
    scores = [m.hit.score for m in best_matches(snap, [query], ["long", "other"], threshold=-1.0)]
    assert scores[0] == match.hit.score and scores[1] < 0.2  # the cup final holds none of its words


def test_an_alert_quotes_the_sentence_that_matches_verbatim(service: QAService, settings: Settings) -> None:
    [match] = service.match_topics(["AI chip exporters"], ["long"], threshold=0.2)
    quote = match.hit.row.text
    assert quote.startswith(TOPIC_SENTENCE) and len(quote) <= 400
    text = (settings.corpus_dir / "long.md").read_text(encoding="utf-8").split("---\n\n", 1)[1]
    assert text[match.hit.row.start : match.hit.row.end] == quote


def test_a_copy_is_the_same_quote_or_a_near_identical_embedding() -> None:
    v = np.array([1.0, 0.0], dtype=np.float32)
    close = np.array([np.cos(0.1), np.sin(0.1)], dtype=np.float32)  # cosine 0.995
    apart = np.array([np.cos(0.5), np.sin(0.5)], dtype=np.float32)  # cosine 0.878
    assert float(close @ v) >= NEAR_DUPLICATE > float(apart @ v)
    assert copy_of("Some  text.\n", apart, ["other", "Some text."], [v, None]) == 1
    assert copy_of("New text.", close, ["Some text."], [v]) == 0
    assert copy_of("New text.", apart, ["Some text."], [v]) is None
