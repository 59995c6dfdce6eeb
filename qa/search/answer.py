"""Extractive answers: the sentences of the top passages that answer the question.

Candidates are the distinct sentences of the passages read: the cited ones, and the rest of the top
article (`QAService.read_for_answer`; `shown_with` then cites only those the answer quotes). Two
scorers rank them:

- `CrossEncoderAnswers` (the default): a cheap lexical pre-ranking (the BM25 idf of the
  question's terms each sentence holds, less a little for each place its article ranks lower)
  keeps the best `pairs` sentences; a cross-encoder then reads the question with each of them,
  the article's title in front ("Title. Sentence"), as the sentence is understood in its
  article. The best sentence is the answer, with the sentence that follows it in the article
  (news sentences often lead in and then say it), and a second strong sentence when it scores
  within `margin` of the best. Whether to answer at all is decided by the best sentence's score
  plus `passage_weight` times the cross-encoder's score of the top passage read whole (a
  sentence can look like an answer out of context, a passage that does not hold one rarely does),
  the passage counting only for a sentence scoring `sentence_floor` itself.
  A question naming a number ("the 2006 Oscars", "the Xbox 360") that no cited passage of the
  answering article holds is not answered: the story of the 2005 ceremony is about the topic, and
  reads to the cross-encoder as an answer, but does not say who won in 2006. Nor is one given when
  the sentence that best fits the question (or one scoring close to it) says the fact is not known
  ("has yet to be revealed", "were not disclosed"), when the best one was written before the event
  the question asks about ("who won…?" against "…will compete in the London Marathon"), gives a
  figure for another period or year ("For the full-year…" to a question about the first quarter,
  "its first weekend" to one about the second), or holds nothing of the kind asked for (no figure
  for "how many…?", no time for "when…?"): the reason quotes it, with its citation number.
  The cross-encoder reads the question without a time expression that became a filter
  (`Query.words`), and a question about the current state ("still", "now", "yet") is answered
  from the article retrieval's latest stage put first, not from an older version of the story.
  A question asking for the story rather than a detail ("What happened to …?", "Any news on
  …?") gets the top article's first sentence too, when its opening passage is cited.
- `EmbeddingAnswers`: cosine between sentence and question embeddings (the earlier scorer).

Below the threshold (`QA_ANSWER_THRESHOLD`, calibrated per scorer) the answer is empty: nothing in
the corpus answers the question. Every answer sentence is verbatim, with exact offsets and the
numbers of the passages that hold it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from index.embedders import Embedder
from index.embedders.cross_encoder import with_title
from index.lexical import tokenize
from index.sentences import split_sentences
from qa.contract import NO_ANSWER, AnswerSentence, Citation
from qa.search.not_said import not_said
from qa.search.query import Query

Idf = Callable[[str], float]

# "What happened …?", "Any news on …?", "Where does … stand?": asking for the story, not a detail
# of it; a news article's first sentence is written to answer that.
OPEN_QUESTION = re.compile(
    r"^\W*(?:so,?\s+)?(?:what(?:'s|’s|s| is| has| was)?\s+"
    r"(?:happened|happening|going on|new|up with|the (?:latest|news|story|situation|state of play))"
    r"|any (?:news|updates?|word|developments?)\b|where (?:does|do|is|are) .+ stand|how (?:is|are) .+ going)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    article_id: str
    start: int
    end: int
    citations: tuple[int, ...]  # every passage holding it (overlapping chunks share sentences)
    title: str
    published: str | None
    following: Candidate | None = None  # the next sentence of the same passage, when there is one

    @property
    def rank(self) -> int:
        return self.citations[0]


def candidates(citations: Sequence[Citation]) -> list[Candidate]:
    """The distinct sentences of the passages, in citation order, each linked to the sentence
    after it in its passage."""
    found: dict[tuple[str, int, int], Candidate] = {}
    for c in citations:
        spans = split_sentences(c.quote)
        made: list[Candidate] = []
        for s, e in reversed(spans):  # last first, so each knows the one after it
            key = (c.article_id, c.start + s, c.start + e)
            holders = tuple(
                d.n for d in citations if d.article_id == c.article_id and d.start <= key[1] and key[2] <= d.end
            )
            after = made[-1] if made else None
            made.append(Candidate(c.quote[s:e], c.article_id, key[1], key[2], holders, c.title, c.published, after))
        for cand in reversed(made):
            found.setdefault((cand.article_id, cand.start, cand.end), cand)
    return list(found.values())


@dataclass(frozen=True)
class Answer:
    """The sentences that best answer, and how sure the scorer is: under the threshold, they are
    not an answer."""

    sentences: list[AnswerSentence]
    confidence: float
    reason: str | None = None  # why there is no answer, when the scorer can say
    quoted: int | None = None  # the citation the reason quotes, "[n]" at its end


NONE = Answer([], float("-inf"))


class Answerer(Protocol):
    threshold: float

    def choose(self, query: Query, citations: Sequence[Citation], idf: Idf) -> Answer: ...


def answered(answerer: Answerer, query: Query, citations: Sequence[Citation], idf: Idf) -> Answer:
    """The answerer's choice, without its sentences when it is not sure enough."""
    best = answerer.choose(query, citations, idf)
    return best if best.confidence >= answerer.threshold else replace(best, sentences=[])


def shown_with(answer: Answer, citations: list[Citation], read: Sequence[Citation]) -> tuple[Answer, list[Citation]]:
    """The answer and the citations it is shown with: `citations`, then those passages of `read`
    beyond them (the rest of the top article, read for the answer) that hold an answer sentence no
    passage of `citations` holds, or the quote of its reason, numbered on from `citations`."""
    k = len(citations)
    needed = [[n for n in s.citations if n <= k] or s.citations for s in answer.sentences]
    used = {n for ns in needed for n in ns} | {answer.quoted or 0}
    kept = [c for c in read[k:] if c.n in used]
    number = {c.n: n for n, c in enumerate(kept, start=k + 1)}
    sentences = [
        s.model_copy(update={"citations": [number.get(n, n) for n in ns]})
        for s, ns in zip(answer.sentences, needed, strict=True)
    ]
    reason, quoted = answer.reason, answer.quoted
    if reason is not None and quoted in number:
        reason, quoted = reason.removesuffix(f"[{quoted}]") + f"[{number[quoted]}]", number[quoted]
    shown = citations + [c.model_copy(update={"n": number[c.n]}) for c in kept]
    return replace(answer, sentences=sentences, reason=reason, quoted=quoted), shown


class CrossScorer(Protocol):
    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


@dataclass
class CrossEncoderAnswers:
    model: CrossScorer
    threshold: float
    pairs: int = 16  # sentences the cross-encoder reads, after the lexical pre-ranking
    rank_cost: float = 1.0  # pre-ranking: idf given up for each place a passage ranks lower
    margin: float = 2.0  # a second sentence joins the answer when it scores this close to the best
    passage_weight: float = 1.0  # weight of the top passage's score in the confidence
    sentence_floor: float = 2.0  # a best sentence scoring less gets no help from the passage's score

    def choose(self, query: Query, citations: Sequence[Citation], idf: Idf) -> Answer:
        cands = candidates(citations)
        if query.time is not None and query.time.latest:
            # A question about the current state: the retrieval's latest stage put first the newest
            # passage that answers; the older versions of the story say what was, not what is.
            cands = [c for c in cands if c.article_id == citations[0].article_id]
        if not cands:
            return NONE
        kept = self.shortlist(query, cands, idf)
        pairs = [(query.words, with_title(c.title, c.text)) for c in kept]
        if self.passage_weight:  # read in the same call, beside the sentences
            pairs.append((query.words, with_title(citations[0].title, citations[0].quote)))
        scores = self.model.score(pairs)
        passage = float(scores[len(kept)]) if self.passage_weight else 0.0
        scores = scores[: len(kept)]
        ranked = np.argsort(-scores, kind="stable")
        best = float(scores[ranked[0]])
        chosen = {(kept[ranked[0]].start, kept[ranked[0]].article_id): (kept[ranked[0]], best)}
        lead = kept[ranked[0]]
        if lead.following is not None:
            chosen.setdefault((lead.following.start, lead.article_id), (lead.following, best))
        runner = float(scores[ranked[1]]) if len(ranked) > 1 else float("-inf")
        close = kept[ranked[1]] if len(ranked) > 1 and runner >= best - self.margin else None
        if close is not None:
            chosen.setdefault((close.start, close.article_id), (close, runner))
        lede = _lede(cands, citations[0].article_id, citations) if OPEN_QUESTION.search(query.words) else None
        if lede is not None:
            chosen.setdefault((lede.start, lede.article_id), (lede, best))
        # The confidence, compared with `threshold`: the best sentence's score plus the top passage's,
        # weighted, when the sentence reads as an answer itself (a passage on the topic scores high
        # and would carry a sentence that is only about it); none when the question asks what the
        # closest article does not say.
        sentences = _in_article_order(list(chosen.values()))
        grounds = " ".join(f"{c.title} {c.quote}" for c in citations if c.article_id == lead.article_id)
        after = lead.following.text if lead.following else ""
        runner_up = (close.text, close.rank) if close is not None else None
        if why := not_said(query.words, lead.text, after, lead.rank, grounds, runner_up):
            return Answer(sentences, float("-inf"), f"{NO_ANSWER[:-1]}: the closest article {why[0]}", why[1])
        return Answer(sentences, best + self.passage_weight * passage if best >= self.sentence_floor else best)

    def shortlist(self, query: Query, cands: Sequence[Candidate], idf: Idf) -> list[Candidate]:
        """The `pairs` sentences the cross-encoder reads: the most idf of the question's terms,
        less `rank_cost` for each place their passage ranks lower."""
        terms = set(query.terms)
        weights = {t: idf(t) for t in terms}
        lexical = [sum(weights[t] for t in terms.intersection(tokenize([c.text])[0])) for c in cands]
        rank: dict[str, int] = {}
        for c in cands:
            rank[c.article_id] = min(c.rank, rank.get(c.article_id, c.rank))
        order = np.argsort(
            [-(v - self.rank_cost * (rank[c.article_id] - 1)) for v, c in zip(lexical, cands, strict=True)]
        )
        return [cands[i] for i in order[: self.pairs]]


@dataclass
class EmbeddingAnswers:
    embedder: Embedder
    threshold: float
    max_sentences: int = 3
    margin: float = 0.1

    def choose(self, query: Query, citations: Sequence[Citation], idf: Idf) -> Answer:
        cands = candidates(citations)
        if not cands:
            return NONE
        vectors = self.embedder.embed_documents([c.text for c in cands])
        scores = vectors @ np.asarray(query.vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        floor = max(self.threshold, best - self.margin)
        chosen = [(cands[i], float(scores[i])) for i in order[: self.max_sentences] if scores[i] >= floor]
        return Answer(_in_article_order(chosen or [(cands[order[0]], best)]), best)


def _lede(cands: Sequence[Candidate], article_id: str, citations: Sequence[Citation]) -> Candidate | None:
    """The article's first sentence, when a cited passage holds the article's opening."""
    if not any(c.article_id == article_id and c.start == 0 for c in citations):
        return None
    return min((c for c in cands if c.article_id == article_id), key=lambda c: c.start, default=None)


def _in_article_order(chosen: list[tuple[Candidate, float]]) -> list[AnswerSentence]:
    """The article holding the best sentence first (the answer opens with what answers best; of
    equals, the better-ranked article), and each article's sentences in the order it has them."""
    best: dict[str, float] = {}
    rank: dict[str, int] = {}
    for c, score in chosen:
        best[c.article_id] = max(score, best.get(c.article_id, score))
        rank[c.article_id] = min(c.rank, rank.get(c.article_id, c.rank))
    chosen.sort(key=lambda cs: (-best[cs[0].article_id], rank[cs[0].article_id], cs[0].start))
    return [
        AnswerSentence(
            text=c.text,
            citations=list(c.citations),
            article_id=c.article_id,
            start=c.start,
            end=c.end,
            score=round(score, 4),
            published=c.published,
        )
        for c, score in chosen
    ]
