"""The answer stage: the sentence that answers beats the one that is only about the topic, the
answer is verbatim with exact offsets, and an unanswerable question gets no answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pytest

from index.config import open_writer
from index.embedders import HashingEmbedder
from index.embedders.cross_encoder import OnnxCrossEncoder
from qa.config import CROSS_ENCODER_THRESHOLD, Settings
from qa.contract import AnswerSentence, Citation
from qa.search.answer import (
    OPEN_QUESTION,
    Answer,
    Answerer,
    CrossEncoderAnswers,
    Idf,
    answered,
    candidates,
    shown_with,
)
from qa.search.not_said import ASKS_WHAT_HAPPENED, UNKNOWN, asked_for, not_said, other_time, preview, unmet_numbers
from qa.search.query import Query
from qa.service import READ_MORE, QAService
from tests.conftest import WriteArticle, query

DAVIS = (
    "Actor Ossie Davis has died in Miami at the age of 87, his family said. "
    "He starred in films by Spike Lee and was a civil rights campaigner. "
    "The eulogy at his funeral in New York was delivered by former President Bill Clinton. "
    "Thousands of people attended the service."
)
OSCARS = (
    "Hilary Swank won the best actress award at the 2005 Academy Awards in Los Angeles on Sunday. "
    "Million Dollar Baby, in which she plays a boxer, also took best picture."
)
CASTING = (
    "Julia Roberts is to voice the spider Charlotte in a film of the children's book Charlotte's Web. "
    "The actor who will voice Wilbur the pig has yet to be revealed. "
    "Filming starts in Australia in the spring."
)
AUCTION = (
    "A saxophone that belonged to Charlie Parker could fetch up to $1m at an auction in New York next month. "
    "The sale will also feature instruments of John Coltrane and Benny Goodman."
)
RATES = (
    "The central bank held interest rates at 3.5% on Wednesday. Officials signalled fewer cuts this year. "
    "Stocks of chip makers fell after the decision."
)


def cite(n: int, article_id: str, text: str, title: str, start: int = 0) -> Citation:
    return Citation(
        n=n, article_id=article_id, title=title, url=None, published=None, source=None,
        quote=text, start=start, end=start + len(text), score=1.0 / n,
    )  # fmt: skip


def answer_with(stage: Answerer, q: Query, citations: Sequence[Citation], idf: Idf) -> list[AnswerSentence]:
    """The sentences /ask would answer with: none when the stage is not sure enough."""
    return answered(stage, q, citations, idf).sentences


def no_idf(term: str) -> float:
    return 1.0


@pytest.fixture(scope="module")
def model() -> OnnxCrossEncoder:
    return OnnxCrossEncoder.packaged(max_tokens=128)


@pytest.fixture(scope="module")
def stage(model: OnnxCrossEncoder) -> CrossEncoderAnswers:
    """The answer stage as /ask runs it: the real cross-encoder at its stage threshold."""
    return CrossEncoderAnswers(model, threshold=CROSS_ENCODER_THRESHOLD)


def test_candidates_are_distinct_verbatim_sentences_linked_to_the_next() -> None:
    whole = cite(1, "davis", DAVIS, "Ossie Davis dies")
    tail = DAVIS[DAVIS.index("He starred") :]
    overlapping = cite(2, "davis", tail, "Ossie Davis dies", start=DAVIS.index("He starred"))
    cands = candidates([whole, overlapping])
    assert len(cands) == 4  # the overlap's sentences are not repeated
    for c in cands:
        assert DAVIS[c.start : c.end] == c.text
    assert cands[0].following is cands[1] and cands[-1].following is None
    assert cands[1].citations == (1, 2) and cands[0].citations == (1,)


@pytest.mark.slow
def test_the_answering_sentence_beats_a_topical_distractor(model: OnnxCrossEncoder) -> None:
    stage = CrossEncoderAnswers(model, threshold=-100.0)
    citations = [cite(1, "davis", DAVIS, "Ossie Davis dies aged 87"), cite(2, "rates", RATES, "Fed holds rates")]
    answer = answer_with(stage, query("Who delivered Ossie Davis's eulogy?"), citations, no_idf)
    assert answer and any("Bill Clinton" in s.text for s in answer)
    for s in answer:
        assert DAVIS[s.start : s.end] == s.text and s.citations == [1]


@pytest.mark.slow
def test_a_question_the_passages_do_not_answer_gets_no_answer(stage: CrossEncoderAnswers) -> None:
    citations = [cite(1, "rates", RATES, "Fed holds rates"), cite(2, "davis", DAVIS, "Ossie Davis dies aged 87")]
    assert answer_with(stage, query("Who won the Champions League final in Istanbul?"), citations, no_idf) == []
    assert answer_with(stage, query("What did the central bank do with interest rates?"), citations, no_idf)


@pytest.mark.slow
def test_a_question_naming_a_year_the_answering_article_does_not_is_not_answered(stage: CrossEncoderAnswers) -> None:
    """The story of the 2005 ceremony reads as an answer to the question about 2006 (the scorer
    does not count years); the year the article never names is what says it does not answer."""
    citations = [cite(1, "oscars", OSCARS, "Swank wins second Oscar")]
    said = answer_with(stage, query("who won best actress at the 2005 Oscars?"), citations, no_idf)
    assert said and "Hilary Swank" in said[0].text
    assert answer_with(stage, query("who won best actress at the 2006 Oscars?"), citations, no_idf) == []


@pytest.mark.slow
def test_when_the_best_fitting_sentence_says_it_is_not_known_the_answer_says_so(stage: CrossEncoderAnswers) -> None:
    """The question "who voices Wilbur?" reads best against the sentence saying nobody knows yet: the article's
    honest answer, given as the reason there is none, with its quote and number."""
    citations = [cite(1, "web", CASTING, "Roberts joins Charlotte's Web")]
    said = answered(stage, query("who is voicing Wilbur the pig in Charlotte's Web?"), citations, no_idf)
    assert said.sentences == [] and said.reason is not None
    assert "has yet to be revealed." in said.reason and said.reason.endswith("[1]")
    voiced = answer_with(stage, query("who is voicing Charlotte the spider?"), citations, no_idf)
    assert voiced and "Julia Roberts" in voiced[0].text


def test_a_not_known_sentence_refuses_when_it_scores_best_or_close_and_the_question_asks_for_the_fact() -> None:
    citations = [cite(1, "web", CASTING, "Web")]
    best = CrossEncoderAnswers(Fixed({"yet to be": 8.0, "Roberts": 6.0}), threshold=1.0, passage_weight=0.0)
    assert answered(best, query("q"), citations, no_idf).sentences == []
    asked_whether = answered(best, query("has the voice of Wilbur been announced?"), citations, no_idf)
    assert asked_whether.reason is None and any("yet to be revealed" in s.text for s in asked_whether.sentences)
    # "Julia Roberts is to voice Charlotte" reads best to "who is voicing Wilbur?", the sentence saying
    # nobody knows yet close behind it: that one is the article's answer, quoted with its number
    close = CrossEncoderAnswers(Fixed({"yet to be": 6.5, "Roberts": 8.0}), threshold=1.0, passage_weight=0.0)
    refused = answered(close, query("q"), citations, no_idf)
    assert refused.sentences == [] and refused.reason is not None and refused.quoted == 1
    assert refused.reason.endswith(
        "says \u201cThe actor who will voice Wilbur the pig has yet to be revealed.\u201d [1]"
    )
    far = CrossEncoderAnswers(Fixed({"yet to be": 5.0, "Roberts": 8.0}), threshold=1.0, passage_weight=0.0)
    kept = answered(far, query("q"), citations, no_idf)
    assert kept.reason is None and "Julia Roberts" in kept.sentences[0].text


@pytest.mark.slow
def test_a_preview_does_not_answer_what_happened(stage: CrossEncoderAnswers) -> None:
    """The question "what did it sell for?" reads best against the estimate given before the sale: the
    article does not say what happened, and the reason says so, quoting it."""
    citations = [cite(1, "sax", AUCTION, "Parker saxophone up for auction")]
    said = answered(stage, query("what did Charlie Parker's saxophone sell for at the auction?"), citations, no_idf)
    assert said.sentences == [] and said.reason is not None
    assert "written before it happened" in said.reason and "could fetch up to $1m" in said.reason
    expected = answer_with(stage, query("how much could Charlie Parker's saxophone fetch?"), citations, no_idf)
    assert expected and "$1m" in expected[0].text  # asked for the estimate, it is the answer


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("who won the men's race at the London Marathon?", True),
        ("how much did the painting actually fetch?", True),
        ("what did the saxophone end up selling for?", True),
        ("who's the new coach after Ranieri got the sack?", False),  # "got" is not what is asked
        ("what century did the name of the Rhine come from?", False),  # "name" is a noun there
        ("how much could the painting fetch?", False),
        ("what was the score when Ireland played China at Lansdowne Road?", True),
        ("which party came top in the schools' mock election?", True),
        ("what time did Ceplak run at the Erfurt meeting?", True),
        ("what was the name of the ship?", False),  # a name, not an outcome
    ],
)
def test_questions_asking_what_happened(question: str, asks: bool) -> None:
    assert bool(ASKS_WHAT_HAPPENED.search(question)) is asks


@pytest.mark.parametrize(
    ("sentence", "written_before"),
    [
        ("The collection could fetch up to £9m when it is auctioned.", True),
        ("Paula Radcliffe will compete in the London Marathon this year.", True),
        ("The contest is expected to be held in Kiev in May.", True),
        ("The spelling is due to the influence of Greek orthography.", False),  # SQuAD: "due to", because of
        ("The painting fetched £9m at Sotheby's.", False),
        ("The 29 March game will be the second time the Republic have played China.", True),
        ("Meanwhile, Ceplak will be looking to follow up last Saturday's win in Boston.", True),
        ("The final is due to be played in Istanbul in May.", True),
        ("Smith, who won the title last year, will defend it in June.", False),  # reports the outcome too
        ("Will Smith stars as a detective.", False),  # a name
        ("It was done against his will.", False),  # a noun
    ],
)
def test_sentences_written_before_the_event(sentence: str, written_before: bool) -> None:
    assert preview(sentence) is written_before


@pytest.mark.parametrize(
    ("sentence", "not_known"),
    [
        ("The actor who will voice Wilbur has yet to be revealed.", True),
        ("Sony has not yet announced when the PSP will be available in Europe.", True),
        ("Financial details of the deal were not disclosed.", True),
        ("He joined Chelsea for an undisclosed fee.", True),
        ("The company declined to say how much it paid.", True),
        ("VW said it had yet to make a final decision.", True),
        ("The cause of the fire remains unknown.", True),
        ("No date has yet been set for the hearing.", True),
        ("The winner is still unknown.", True),
        ("HP declined to comment on the lawsuit.", False),  # about commenting, not the fact asked for
        ("The fine was announced on Tuesday.", False),
        ("Shares rose 5% after the results were revealed.", False),
        ("Nobody knew him better than his brother.", False),
        ("Lacking a theory of quantum gravity, it is unclear how space-time behaves.", False),  # SQuAD: answered
        ("Its value was unknown in Newton's lifetime.", False),  # then, not now
    ],
)
def test_sentences_saying_the_fact_is_not_known(sentence: str, not_known: bool) -> None:
    assert bool(UNKNOWN.search(sentence)) is not_known


class Fixed:
    """A cross-encoder that scores by a table, to test the selection itself."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.seen: list[tuple[str, str]] = []

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.seen.extend(pairs)
        return np.array([next((v for k, v in self.scores.items() if k in text), -5.0) for _, text in pairs])


def test_the_answer_is_the_best_sentence_with_the_one_after_it() -> None:
    stage = CrossEncoderAnswers(Fixed({"eulogy": 6.0}), threshold=1.0)
    [first, after] = answer_with(stage, query("eulogy"), [cite(1, "davis", DAVIS, "Davis")], no_idf)
    assert "eulogy" in first.text and after.text == "Thousands of people attended the service."
    assert first.score == 6.0 and after.start > first.end


def test_a_close_second_sentence_joins_and_a_weak_one_does_not() -> None:
    scores = {"eulogy": 6.0, "central bank": 5.0, "films": 1.5}
    citations = [cite(1, "davis", DAVIS, "Davis"), cite(2, "rates", RATES, "Rates")]
    texts = [
        s.text for s in answer_with(CrossEncoderAnswers(Fixed(scores), threshold=1.0), query("q"), citations, no_idf)
    ]
    assert any("central bank" in t for t in texts) and not any("films" in t for t in texts)
    assert texts.index(next(t for t in texts if "eulogy" in t)) < texts.index(next(t for t in texts if "bank" in t))


def test_the_answer_opens_with_the_best_sentence_even_from_a_lower_ranked_article() -> None:
    """A preview ranked first ("…was drawn in the bottom quarter") must not stand before the
    report that answers; the answering article's sentences keep their own order."""
    scores = {"central bank": 6.0, "eulogy": 5.0}
    citations = [cite(1, "davis", DAVIS, "Davis"), cite(2, "rates", RATES, "Rates")]
    said = answer_with(CrossEncoderAnswers(Fixed(scores), threshold=1.0), query("q"), citations, no_idf)
    assert [s.citations for s in said] == [[2], [2], [1]]
    assert "central bank" in said[0].text and said[1].start > said[0].end  # its next sentence, after it
    assert "eulogy" in said[2].text


def test_only_the_pre_ranked_sentences_are_read_and_the_title_leads_each() -> None:
    model = Fixed({})
    stage = CrossEncoderAnswers(model, threshold=-100.0, pairs=2, passage_weight=0.0)
    answer_with(stage, query("eulogy funeral"), [cite(1, "davis", DAVIS, "Davis dies")], lambda t: 2.0)
    assert len(model.seen) == 2
    assert model.seen[0][1].startswith("Davis dies. ") and "eulogy" in model.seen[0][1]


def test_a_number_must_be_in_the_answering_articles_passages_not_in_another_article() -> None:
    stage = CrossEncoderAnswers(Fixed({"best actress": 9.0}), threshold=4.0, passage_weight=0.0)
    oscars = cite(1, "oscars", OSCARS, "Swank wins")
    assert stage.choose(query("best actress 2005"), [oscars], no_idf).confidence == 9.0
    elsewhere = cite(2, "other", "The 2006 ceremony is in March.", "Dates")  # not the article that answers
    refused = answered(stage, query("best actress 2006 or 2007"), [oscars, elsewhere], no_idf)
    assert refused.sentences == [] and refused.reason is not None and refused.reason.endswith("mention 2006 or 2007.")
    assert answered(stage, query("best actress 2005"), [oscars], no_idf).reason is None
    later = cite(2, "oscars", "The film had 7 nominations.", "Swank wins", start=len(OSCARS) + 1)
    assert stage.choose(query("best actress, the film of 7 nominations"), [oscars, later], no_idf).confidence == 9.0


def test_ask_says_which_number_the_closest_article_does_not_mention(
    settings: Settings, write_article: WriteArticle
) -> None:
    write_article("oscars.md", OSCARS, title="Swank wins")
    open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir)
    service = QAService(settings, HashingEmbedder())
    service.answerer = CrossEncoderAnswers(Fixed({"best actress": 9.0}), threshold=4.0, passage_weight=0.0)
    refused = service.ask("who won best actress at the 2006 Oscars?")
    assert refused.sentences == [] and refused.citations
    assert refused.message == "Nothing in the corpus answers this question: the closest article does not mention 2006."
    said = service.ask("who won best actress at the 2005 Oscars?")
    assert said.sentences and said.message is None


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("who did the Dutch beat in the Euro 88 final?", "won the 1988 European Championship"),
        ("her 5,000m record time?", "set a 5000m indoor record"),
        ("when does the PlayStation 3 go on sale?", "the PlayStation three is due"),
        ("which firm makes the $100 laptop's chip?", "the $100 laptop will use"),
        ("who came 2nd?", "she was second"),  # an ordinal is not a number to find
    ],
)
def test_a_number_is_found_in_its_other_written_forms(question: str, text: str) -> None:
    assert unmet_numbers(question, text) == []


@pytest.mark.parametrize(
    ("question", "text", "unmet"),
    [
        ("who won best actress at the 2006 Oscars?", "the 2005 Academy Awards", ["2006"]),
        ("how much will the Xbox 360 cost?", "the next Xbox costs 3,600 yen", ["360"]),
        ("version 1.5 or 2.0?", "Firefox 1.0 was released; 2.0 is next", ["1.5"]),
        ("how many threes in 3 games?", "a threefold rise", ["3"]),
    ],
)
def test_a_number_the_text_does_not_hold_is_unmet(question: str, text: str, unmet: list[str]) -> None:
    assert unmet_numbers(question, text) == unmet


class SentencesOnly(Fixed):
    """Scores a sentence by the table and a whole passage (several sentences) low."""

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        sentence = super().score(pairs)
        return np.where([text.count(". ") > 2 for _, text in pairs], -8.0, sentence)


def test_a_strong_sentence_in_a_passage_that_does_not_answer_is_not_an_answer() -> None:
    citations = [cite(1, "davis", DAVIS, "Davis dies")]
    trusting = CrossEncoderAnswers(SentencesOnly({"eulogy": 6.0}), threshold=4.0, passage_weight=0.0)
    assert answer_with(trusting, query("eulogy"), citations, no_idf)
    checking = CrossEncoderAnswers(SentencesOnly({"eulogy": 6.0}), threshold=4.0, passage_weight=1.0)
    assert answer_with(checking, query("eulogy"), citations, no_idf) == []
    assert checking.choose(query("eulogy"), citations, no_idf).confidence == 6.0 - 8.0


RESULTS = (
    "Carmaker Ford made a net profit of $3.5bn in 2004, its best year since 2000. "
    "For the full year, revenue rose 4% to $171bn. "
    "It expects profits in 2005 to be lower."
)


def test_a_figure_for_another_period_or_year_is_not_the_answer() -> None:
    """The sentence with the figure reads as the answer to any profit question: for the first
    quarter, or for 2005, it is not one, and the reason quotes it."""
    stage = CrossEncoderAnswers(Fixed({"net profit": 8.0}), threshold=1.0, passage_weight=0.0)
    citations = [cite(1, "ford", RESULTS, "Ford profits")]
    assert answered(stage, query("how much did Ford make in 2004?"), citations, no_idf).sentences
    for asked in ("what was Ford's profit in the first quarter?", "how much did Ford make in 2005?"):
        refused = answered(stage, query(asked), citations, no_idf)
        assert refused.sentences == [] and refused.reason is not None
        assert refused.reason.endswith("is about another period: \u201c" + RESULTS.split(". ")[0] + ".\u201d [1]")


@pytest.mark.parametrize(
    ("question", "sentence", "other"),
    [
        ("Q1 profit?", "For the full-year, TimeWarner posted a profit of $3.36bn.", True),
        ("profit for the full year to March 2005?", "Ryanair reported a drop in quarterly profit.", True),
        ("first-half sales?", "Annual sales rose 5%.", True),
        ("net income in the first quarter of 2005?", "Net income for 2004 was $3.5bn.", True),
        ("fourth-quarter profit?", "Third-quarter profit rose, and in the fourth quarter it fell.", False),
        ("yards in the fourth quarter?", "There was no scoring in the third quarter.", False),  # one kind: a game
        ("profit in 2004?", "Profit in 2004 was $1bn, up from 2003.", False),
        ("In 2013-14, who finished first?", "NBC finished the 2014 season first.", False),  # a season is two years
        ("the only year since 2005 with no series?", "No full series was filmed in 2009.", False),  # asks for a year
        ("when did it open in 2004?", "It opened in March 2003.", False),
        ("how much did it make in 2004?", "It made $5m last year.", False),  # no year said: not another one
        ("who was first in 2013-14?", "NBC finished first for the first time since 2004.", False),  # compared with
        ("net income in 2005?", "Net income for 2004 was $3.5bn, up from 2003.", True),
        ("how much did Robots take in its second weekend?", "Robots took $36.5m on its first weekend.", True),
        (
            "takings in its second weekend?",
            "It took $20m in its second weekend and $36.5m in its first weekend.",
            False,
        ),
        ("which team had the first kickoff?", "Denver took the opening kickoff.", False),  # "opening" is first
        ("who won the second round?", "She won for the first time.", False),  # "first time" names no series
    ],
)
def test_another_period_or_year(question: str, sentence: str, other: bool) -> None:
    assert other_time(question, sentence) is other


def test_an_answer_from_the_rest_of_the_article_cites_its_passage_numbered_after_the_others() -> None:
    top = cite(1, "davis", DAVIS[: DAVIS.index("The eulogy")], "Davis")
    rest = cite(2, "davis", DAVIS[DAVIS.index("The eulogy") :], "Davis", start=DAVIS.index("The eulogy"))
    unread = cite(3, "davis", "Filler that answers nothing.", "Davis", start=len(DAVIS) + 1)
    other = cite(2, "rates", RATES, "Rates")  # the next cited passage, from another article
    read = [top, rest.model_copy(update={"n": 3}), unread.model_copy(update={"n": 4})]
    stage = CrossEncoderAnswers(Fixed({"eulogy": 9.0}), threshold=1.0, passage_weight=0.0)
    shown_answer, shown = shown_with(
        answered(stage, query("eulogy"), [top, other, *read[1:]], no_idf), [top, other], [top, other, *read[1:]]
    )
    assert [c.n for c in shown] == [1, 2, 3] and shown[2].start == rest.start and shown[2].quote == rest.quote
    assert all(s.citations == [3] for s in shown_answer.sentences) and "eulogy" in shown_answer.sentences[0].text
    # a sentence a shown passage already holds needs no other; a reason's quote is renumbered with its passage
    quoted = Answer([], float("-inf"), "…: the closest article says \u201cX\u201d [4]", 4)
    renumbered, shown = shown_with(quoted, [top, other], [top, other, *read[1:]])
    assert [c.n for c in shown] == [1, 2, 3] and shown[2].quote == unread.quote
    assert renumbered.reason is not None and renumbered.reason.endswith("\u201d [3]") and renumbered.quoted == 3
    assert shown_with(Answer([], 0.0), [top, other], [top, other, *read[1:]])[1] == [top, other]


def test_ask_reads_the_rest_of_the_top_article_and_cites_the_passage_that_answers(
    settings: Settings, write_article: WriteArticle
) -> None:
    """The passage that matches the question best is often not the one that answers it: the answer
    comes from the top article's other passages too, each quoted exactly."""
    filler = " ".join(f"Mourners in town number {i} laid flowers outside his home on Sunday." for i in range(12))
    text = DAVIS.replace("The eulogy", filler + " The eulogy")
    write_article("davis.md", text, title="Ossie Davis dies")
    write_article("rates.md", RATES, title="Rates held")
    local = settings.model_copy(update={"chunk_tokens": 64, "top_k": 1})
    open_writer(local, HashingEmbedder()).reconcile(local.corpus_dir)
    service = QAService(local, HashingEmbedder())
    service.answerer = CrossEncoderAnswers(Fixed({"former President": 9.0}), threshold=1.0, passage_weight=0.0)
    said = service.ask("Ossie Davis actor died Miami family")
    assert len(said.citations) == 2 and said.citations[1].n == 2
    assert all(c.article_id == "davis" for c in said.citations) and "former President" not in said.citations[0].quote
    assert "Bill Clinton" in said.answer and said.sentences[0].citations == [2]
    for c in said.citations:
        assert text[c.start : c.end] == c.quote
    assert service.search("Ossie Davis actor died Miami family").results == said.citations[:1]


def test_of_a_long_top_article_the_passages_nearest_its_top_one_are_read(
    settings: Settings, write_article: WriteArticle
) -> None:
    text = " ".join(f"Paragraph {i} of the long report says the count reached {i} today." for i in range(200))
    write_article("long.md", text, title="Long report")
    local = settings.model_copy(update={"chunk_tokens": 64, "top_k": 1})
    open_writer(local, HashingEmbedder()).reconcile(local.corpus_dir)
    service = QAService(local, HashingEmbedder())
    snap = service.snapshot()
    passages = snap.passages(["long"])
    assert len(passages) > READ_MORE + 2
    top = service.search("Paragraph 100 of the long report says the count reached 100").results
    read = service.read_for_answer(snap, top)
    assert len(read) == 1 + READ_MORE and [c.n for c in read] == list(range(1, READ_MORE + 2))
    starts = [c.start for c in read[1:]]
    assert starts == sorted(starts) and top[0].start not in starts
    farthest = max(abs(s - top[0].start) for s in starts)
    others = [h.row.start for h in passages if h.row.start not in starts and h.row.start != top[0].start]
    assert others and all(abs(s - top[0].start) >= farthest for s in others)


STRIKE_OLD = "Dock workers remain on strike. 31 ships are waiting outside the port."
STRIKE_NEW = "Dock workers have voted to end the strike. The last ships were cleared on Monday."


def dated(n: int, article_id: str, text: str, published: str) -> Citation:
    return cite(n, article_id, text, "Dock strike").model_copy(update={"published": published})


def test_a_question_about_now_is_answered_from_the_newest_version_retrieval_put_first() -> None:
    """The older version's sentence reads as the better answer to the words ("still on strike"),
    but the story has moved on: the answer comes from the article the latest stage put first."""
    citations = [dated(1, "strike-2", STRIKE_NEW, "2026-11-30"), dated(2, "strike-1", STRIKE_OLD, "2026-10-01")]
    scores = {"remain on strike": 9.0, "voted to end": 5.0}
    stage = CrossEncoderAnswers(Fixed(scores), threshold=1.0, passage_weight=0.0)
    latest = parsed("is the dock strike still going on?", dt.date(2026, 12, 1))
    assert latest.time is not None and latest.time.latest
    assert {s.article_id for s in answer_with(stage, latest, citations, no_idf)} == {"strike-2"}
    plain = query("is the dock strike still going on?")  # read without a day: the words alone decide
    assert "remain on strike" in answer_with(stage, plain, citations, no_idf)[0].text


def test_the_scorer_reads_the_question_without_the_time_expression_that_became_a_window() -> None:
    model = Fixed({"strike": 6.0})
    stage = CrossEncoderAnswers(model, threshold=1.0)
    q = parsed("What happened in the dock strike yesterday?", dt.date(2026, 12, 1))
    assert q.filters is not None and q.filters.published_after == "2026-11-30"
    answer_with(stage, q, [dated(1, "strike-2", STRIKE_NEW, "2026-11-30")], no_idf)
    assert model.seen and all("yesterday" not in question and "dock strike" in question for question, _ in model.seen)


def parsed(text: str, day: dt.date) -> Query:
    return Query.parse(text, lambda _: np.zeros(1, dtype=np.float32), 5, now=day)


def test_a_question_asking_for_the_story_gets_the_top_articles_opening_sentence() -> None:
    """The scorer prefers a detail; "What happened …?" asks for the story, which the first
    sentence of a news article tells. A question about a detail gets the detail alone."""
    scores = {"Thousands": 6.0, "died in Miami": 1.0}
    stage = CrossEncoderAnswers(Fixed(scores), threshold=1.0, passage_weight=0.0)
    citations = [cite(1, "davis", DAVIS, "Davis dies"), cite(2, "rates", RATES, "Rates")]
    story = [s.text for s in answer_with(stage, query("What happened to Ossie Davis?"), citations, no_idf)]
    assert story[0] == DAVIS[: DAVIS.index(" He starred")] and "Thousands of people attended the service." in story
    detail = [s.text for s in answer_with(stage, query("How many people came to the service?"), citations, no_idf)]
    assert not any("died in Miami" in t for t in detail)
    later = DAVIS.index("The eulogy")
    only_later = [cite(1, "davis", DAVIS[later:], "Davis dies", start=later)]  # its opening not cited
    assert all(s.start >= later for s in answer_with(stage, query("What happened to Ossie Davis?"), only_later, no_idf))


@pytest.mark.parametrize(
    "question",
    [
        "What happened to the Aurel-2 launch?",
        "whats happening with the dock strike",
        "So, what's going on with Norvale Bank?",
        "what's the latest on the Halden Crossing?",
        "Any news on the Tessaro merger?",
        "any updates about the measles outbreak?",
        "Where does the Reddick case stand?",
        "how is the recount going?",
    ],
)
def test_questions_asking_for_the_story_are_told_apart(question: str) -> None:
    assert OPEN_QUESTION.search(question)


@pytest.mark.parametrize(
    "question",
    ["Who runs Norvale Bank now?", "How many ships are waiting?", "what did the regulator fine Brightfold?"],
)
def test_questions_asking_for_a_detail_are_not_asking_for_the_story(question: str) -> None:
    assert not OPEN_QUESTION.search(question)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("when are Aguilera and Bratman getting married?", "time"),
        ("what year was the Duchy of Cornwall created?", "time"),
        ("how many copies did the single sell?", "figure"),
        ("how much did the saxophone fetch?", "figure"),
        ("so what's Holmes's best time over 800m?", "figure"),
        ("what does UK Online's broadband cost a month?", "price"),
        ("what was the score in Cardiff?", "score"),
        ("what was the verdict in the Otis Ferry case?", "verdict"),
        ("what was the result of the North East assembly referendum?", "result"),
        ("what was the result of the inquiry?", None),  # not a vote: its result is anything
        ("who won the Booker prize?", None),  # a name can be written any way: not checked
        ("When the law is the target of a protest, what is this called?", None),  # asks for a name
        ("what did Apple say about the Mac mini?", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str | None) -> None:
    asked = asked_for(question)
    assert (asked[0] if asked else None) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        ("when are Aguilera and Bratman getting married?", "Pop star Aguilera is to marry Bratman, 26.", False),
        ("when are Aguilera and Bratman getting married?", "The couple will marry in June.", True),
        ("when are committees set up?", "Committees are established at the beginning of each session.", True),
        ("When did Luther wake?", "At 1 a.m. he awoke with chest pain.", True),
        (
            "how many of the fifteen points were agreed?",
            "Agreement was achieved on fourteen points out of fifteen.",
            True,
        ),
        ("how many kinds of fiction did Tesla shape?", "Tesla is a theme in several types of science fiction.", True),
        ("how much did Texas win in damages?", "The suit names two men who run three companies.", False),
        ("how much more does indoor parking cost?", "Indoor bays can cost up to 250% more.", True),
        ("what does the broadband service cost a month?", "It is 16 times faster than the average.", False),
        ("what does the broadband service cost a month?", "It costs \u00a339.99 a month.", True),
        ("what was the final score?", "The Panthers held on to win 31\u201324.", True),
        ("what was the score when Wales met Ireland?", "Ireland have not lost in Cardiff since 1983.", False),
        ("what was the verdict in the Ferry case?", "They were charged under the Public Order Act.", False),
        ("what was the verdict in the Ferry case?", "All eight were found not guilty on Friday.", True),
        ("what was the verdict in the Ferry case?", "The jury cleared Ferry of the charge.", True),
        ("what was the result of the referendum?", "Ballot papers for the referendum have disappeared.", False),
        ("what was the result of the referendum?", "Voters rejected the plan by 78% to 22%.", True),
        ("What was the result of the 1967 referendum?", "In 1967, voters approved the plan.", True),  # SQuAD
    ],
)
def test_a_best_sentence_holding_nothing_of_the_kind_asked_for_is_not_an_answer(
    question: str, sentence: str, holds: bool
) -> None:
    why = not_said(question, sentence, "", 2, sentence)
    assert (why is None) is holds
    if not holds:
        assert why is not None and why[0].startswith("gives no ") and why[0].endswith(f"\u201c{sentence}\u201d [2]")
        assert why[1] == 2


def test_the_kind_asked_for_may_stand_in_the_sentence_after_the_best() -> None:
    """News sentences lead in, then say it: the sentence after the best is read with it."""
    stage = CrossEncoderAnswers(Fixed({"is to marry": 9.0}), threshold=1.0, passage_weight=0.0)
    wedding = "Pop star Aguilera is to marry Bratman, her agent said. They plan a wedding in June."
    said = answered(
        stage, query("when are Aguilera and Bratman getting married?"), [cite(1, "w", wedding, "W")], no_idf
    )
    assert said.reason is None and [s.text for s in said.sentences][-1] == "They plan a wedding in June."
    engaged = (
        "Pop star Aguilera is to marry Bratman, her agent said. The pair have been together for more than two years."
    )
    refused = answered(
        stage, query("when are Aguilera and Bratman getting married?"), [cite(1, "w", engaged, "W")], no_idf
    )
    assert refused.sentences == [] and refused.reason is not None and "gives no time" in refused.reason
