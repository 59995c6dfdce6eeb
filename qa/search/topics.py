"""How well new articles match followed topics, for alerts: each article's best passage by an
absolute score, so that one threshold means the same for every topic, article and commit.

The parts are those of the retrieval questions use: the topic parsed as a question is parsed
(`Query`: its BM25 terms and its query embedding), the passages' stored vectors and BM25 terms (the
title with the passage, as both read it), and the commit's BM25 idf. /search's fused score is
min-max normalised over its candidates, so it ranks but cannot be compared with a threshold; here
a passage scores `dense_weight * cosine + (1 - dense_weight) * coverage`, where coverage is the
share of the topic's idf mass among the passage's terms (1: it holds every word of the topic).
The weight and the threshold were chosen with bench/calibrate_alerts.py (README, "Topic alerts").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.lexical import tokenize
from index.sentences import split_sentences
from qa.search.hits import Hit
from qa.search.query import Query
from qa.search.snapshot import Snapshot

DENSE_WEIGHT = 0.7  # chosen by bench/calibrate_alerts.py
ALERT_THRESHOLD = 0.63  # for bge-small-en-v1.5, the default model: bench/calibrate_alerts.py
FOCUS_CHARS = 400  # the part of a matching passage an alert quotes


@dataclass(frozen=True, slots=True)
class TopicMatch:
    topic: int  # position of the topic in the list matched
    hit: Hit  # the article's best passage for it; `score` is the match score
    dense: float  # its cosine to the topic
    coverage: float  # the share of the topic's idf mass it holds


def row_scores(snap: Snapshot, topics: Sequence[Query], hits: Sequence[Hit]) -> tuple[np.ndarray, np.ndarray]:
    """(cosine, coverage) of every topic (rows) with every passage (columns)."""
    if not topics or not hits:
        return np.zeros((len(topics), len(hits))), np.zeros((len(topics), len(hits)))
    vectors = np.stack([h.vector for h in hits]).astype(np.float32, copy=False)
    queries = np.stack([np.asarray(q.vector, dtype=np.float32) for q in topics])
    dense = queries @ vectors.T
    by_name = {seg.name: seg for seg in snap.segments}
    passage_terms = [by_name[h.segment].terms_of(h.index) for h in hits]
    idf = snap.bm25.idf
    coverage = np.zeros(dense.shape, dtype=np.float64)
    for t, q in enumerate(topics):
        weights = {term: idf(term) for term in set(q.terms)}
        total = sum(weights.values())
        if total <= 0:
            continue
        for j, terms in enumerate(passage_terms):
            coverage[t, j] = sum(w for term, w in weights.items() if term in terms) / total
    return dense.astype(np.float64), coverage


def best_matches(
    snap: Snapshot,
    topics: Sequence[Query],
    article_ids: Collection[str],
    threshold: float,
    dense_weight: float = DENSE_WEIGHT,
) -> list[TopicMatch]:
    """For each topic, each article whose best passage scores at least `threshold`, with that
    passage; best first within a topic."""
    hits = snap.passages(article_ids)
    dense, coverage = row_scores(snap, topics, hits)
    combined = dense_weight * dense + (1.0 - dense_weight) * coverage
    found: list[TopicMatch] = []
    for t in range(len(topics)):
        best: dict[str, int] = {}
        for j, h in enumerate(hits):
            aid = h.row.article_id
            if aid not in best or combined[t, j] > combined[t, best[aid]]:
                best[aid] = j
        picked = [j for j in best.values() if combined[t, j] >= threshold]
        picked.sort(key=lambda j: (-combined[t, j], hits[j].row.article_id))
        found.extend(
            TopicMatch(t, hits[j].rescored(float(combined[t, j])), float(dense[t, j]), float(coverage[t, j]))
            for j in picked
        )
    return found


def focused(hit: Hit, topic: Query, idf: Callable[[str], float], limit: int = FOCUS_CHARS) -> Hit:
    """The hit with its passage narrowed to what an alert quotes: the sentence holding the most
    of the topic's idf mass (the first when none holds any), and the sentences after it while
    they fit `limit` characters; verbatim, with the article's offsets."""
    text = hit.row.text
    spans = split_sentences(text)
    if len(text) <= limit or not spans:
        return hit
    terms = set(topic.terms)
    weight = [sum(idf(t) for t in terms.intersection(words)) for words in tokenize([text[a:b] for a, b in spans])]
    first = int(np.argmax(weight)) if max(weight) > 0 else 0
    last = first
    while last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= limit:
        last += 1
    a, b = spans[first][0], spans[last][1]
    row = replace(hit.row, start=hit.row.start + a, end=hit.row.start + b, text=text[a:b])
    return replace(hit, row=row)
