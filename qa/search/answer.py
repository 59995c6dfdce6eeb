"""Extractive answers: the sentences of the top passages that best answer the question.

Each candidate sentence is a span of a cited passage (so of its article); it is scored by cosine
similarity between its embedding and the question's. The best one to three sentences above the
threshold form the answer, in article order, each with the numbers of the passages holding it.
Below the threshold the answer is None: nothing in the corpus answers the question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.embedders import Embedder
from index.sentences import split_sentences
from qa.contract import AnswerSentence, Citation


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    article_id: str
    start: int
    end: int
    citations: tuple[int, ...]  # every passage holding it (overlapping chunks share sentences)


def candidates(citations: list[Citation]) -> list[Candidate]:
    """The distinct sentences of the passages, in citation order."""
    found: dict[tuple[str, int, int], Candidate] = {}
    for c in citations:
        for s, e in split_sentences(c.quote):
            key = (c.article_id, c.start + s, c.start + e)
            if key not in found:
                holders = tuple(
                    d.n for d in citations if d.article_id == c.article_id and d.start <= key[1] and key[2] <= d.end
                )
                found[key] = Candidate(c.quote[s:e], c.article_id, key[1], key[2], holders)
    return list(found.values())


def extract(
    question_vector: np.ndarray,
    citations: list[Citation],
    embedder: Embedder,
    *,
    threshold: float,
    max_sentences: int = 3,
    margin: float = 0.1,
) -> list[AnswerSentence]:
    """The answer sentences, or [] when none scores at least `threshold`."""
    cands = candidates(citations)
    if not cands:
        return []
    vectors = embedder.embed_documents([c.text for c in cands])
    scores = vectors @ np.asarray(question_vector, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")
    best = float(scores[order[0]])
    if best < threshold:
        return []
    floor = max(threshold, best - margin)
    chosen = [cands[i] for i in order[:max_sentences] if scores[i] >= floor]
    score = {id(c): float(scores[i]) for i, c in enumerate(cands)}
    chosen.sort(key=lambda c: (c.citations[0], c.start))  # article order, best-ranked article first
    return [
        AnswerSentence(
            text=c.text,
            citations=list(c.citations),
            article_id=c.article_id,
            start=c.start,
            end=c.end,
            score=round(score[id(c)], 4),
        )
        for c in chosen
    ]
