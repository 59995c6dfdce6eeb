"""Calibrate the /ask "nothing answers this" threshold, on SQuAD v1.1 dev and on datasets/news_qa.

SQuAD: indexes the paragraphs of half of SQuAD's articles (every other article title), then asks
questions about those articles (the answer is in the corpus) and about the other half (it is not).
Near misses: indexes all of SQuAD but the paragraphs that answer some of its questions, and asks
those (their article's other paragraphs stay: the topic is covered, the answer is not) beside
questions whose paragraphs stay. News: indexes the BBC articles and the seed article and asks the
hand-written questions, the unanswerable ones being about topics the corpus covers. For each threshold on the answerer's
confidence it prints the precision and recall of "no answer", and the share of answerable
questions whose answer sentences hold a gold answer (of those answered, and of all).

    .venv/bin/python bench/calibrate_answer.py [--questions 300] [--sets squad,near,news]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

from index.embedders.cache import CachedEmbedder
from qa.config import Settings
from qa.eval.beir import BeirDataset, load_beir
from qa.eval.beir import Query as BeirQuery
from qa.eval.questions import load_question_set
from qa.search.hits import cite
from qa.service import QAService

SQUAD = REPO.parent / "shared" / "data" / "squad_v1.1_dev" / "beir"
NEWS = REPO / "datasets" / "news_qa"
Asked = list[tuple[str, list[str]]]  # (question, gold answers: none when unanswerable)


def squad(questions: int, seed: int) -> tuple[list[dict[str, str]], Asked]:
    data = load_beir(SQUAD)
    titles = sorted({q.metadata["article_title"] for q in data.queries.values()})
    indexed = set(titles[::2])
    article_of = _article_of(data)
    docs = _paragraphs(data, lambda pid: article_of.get(pid) in indexed)
    rng = random.Random(seed)
    inside = rng.sample([q for q in data.queries.values() if q.metadata["article_title"] in indexed], questions)
    outside = rng.sample([q for q in data.queries.values() if q.metadata["article_title"] not in indexed], questions)
    return docs, _asked(inside, outside)


def squad_near(questions: int, seed: int) -> tuple[list[dict[str, str]], Asked]:
    """Near misses: the whole of SQuAD indexed but the paragraphs that answer some questions, whose
    article's other paragraphs stay (the topic is covered, the answer is not: no paragraph left of
    that article holds a gold string); the answerable questions' paragraphs stay whole."""
    data = load_beir(SQUAD)
    pool = sorted(data.queries.values(), key=lambda q: q.id)
    random.Random(seed).shuffle(pool)
    removed: set[str] = set()
    for q in pool:  # twice the paragraphs needed: some answers stand in a paragraph left
        if len(removed) == 2 * questions:
            break
        removed.add(q.metadata["passage_id"])
    docs = _paragraphs(data, lambda pid: pid not in removed)
    article_of = _article_of(data)
    left: dict[str, list[str]] = {}
    for d in docs:
        left.setdefault(article_of.get(d["id"], ""), []).append(d["text"])
    near = [
        q
        for q in pool
        if q.metadata["passage_id"] in removed
        and not any(a in t for t in left.get(q.metadata["article_title"], []) for a in q.metadata["answers"])
    ][:questions]
    inside = [q for q in pool if q.metadata["passage_id"] not in removed][:questions]
    return docs, _asked(inside, near)


def _article_of(data: BeirDataset) -> dict[str, str]:
    """The SQuAD article (its title) of each paragraph id."""
    return {q.metadata["passage_id"]: q.metadata["article_title"] for q in data.queries.values()}


def _paragraphs(data: BeirDataset, keep: Callable[[str], bool]) -> list[dict[str, str]]:
    return [{"id": d.id, "title": d.title, "text": d.text} for d in data.documents.values() if keep(d.id)]


def _asked(answerable: Sequence[BeirQuery], unanswerable: Sequence[BeirQuery]) -> Asked:
    return [(q.text, list(q.metadata["answers"])) for q in answerable] + [(q.text, []) for q in unanswerable]


def news() -> tuple[list[dict[str, str]], Asked]:
    data = load_question_set(NEWS)
    return data.corpus, [(q.text, list(q.answers)) for q in data.questions]


def run(name: str, docs: list[dict[str, str]], asked: Asked, settings: Settings) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        with open(corpus / "articles.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
        local = settings.model_copy(update={"corpus_dir": corpus, "index_dir": Path(tmp) / "index"})
        embedder = CachedEmbedder(local.embedder_config().load(), REPO / ".qa-cache" / "embeddings.sqlite3")
        service = QAService(local, embedder)
        t0 = time.perf_counter()
        service.writer().reconcile(corpus, max_bytes=1 << 40)
        service.refresh()
        print(f"\n== {name}: indexed {len(docs)} articles in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        confidence, gold = [], []
        for text, answers in asked:
            query = service.query(text)
            snap, hits = service.retrieve(query)
            chosen = service.answerer.choose(query, service.read_for_answer(snap, cite(hits)), snap.bm25.idf)
            confidence.append(chosen.confidence)
            said = " ".join(s.text for s in chosen.sentences)
            gold.append(bool(answers) and any(a in said for a in answers))
        print(f"asked {len(asked)} questions in {time.perf_counter() - t0:.0f} s")
        embedder.close()
    table(np.array(confidence), np.array([not a for _, a in asked]), np.array(gold), service.answerer.threshold)


def table(confidence: np.ndarray, unanswerable: np.ndarray, gold: np.ndarray, current: float) -> None:
    finite = confidence[np.isfinite(confidence)]
    grid = sorted({*np.round(np.quantile(finite, np.linspace(0.02, 0.7, 18)), 1), round(current, 2)})
    print(f"{'threshold':>9} {'P(no answer)':>13} {'R(no answer)':>13} {'F1':>6} {'gold/answered':>14} {'gold/all':>9}")
    for t in grid:
        said_none = confidence < t
        precision, recall = no_answer_pr(said_none, unanswerable)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        answered = ~said_none & ~unanswerable
        per_answered = gold[answered].mean() if answered.any() else 0.0
        per_all = (gold & ~said_none)[~unanswerable].mean()
        mark = "  <- the default" if t == round(current, 2) else ""
        print(f"{t:9.2f} {precision:13.3f} {recall:13.3f} {f1:6.3f} {per_answered:14.3f} {per_all:9.3f}{mark}")
    print(f"ROC AUC of the confidence (answerable above unanswerable): {auc(confidence, unanswerable):.3f}")
    reach = ", ".join(f"R {r:.1f}: P {best_precision(confidence, unanswerable, r):.3f}" for r in (0.5, 0.8, 0.9))
    print(f"best precision of 'no answer' at a threshold reaching recall {reach}")


def auc(confidence: np.ndarray, unanswerable: np.ndarray) -> float:
    """P(an answerable question's confidence > an unanswerable one's), ties counting half."""
    yes, no = confidence[~unanswerable], confidence[unanswerable]
    if not len(yes) or not len(no):
        return float("nan")
    above = (yes[:, None] > no[None, :]).sum() + 0.5 * (yes[:, None] == no[None, :]).sum()
    return float(above / (len(yes) * len(no)))


def no_answer_pr(said_none: np.ndarray, unanswerable: np.ndarray) -> tuple[float, float]:
    """Precision and recall of saying "no answer" where `said_none`."""
    tp = int((said_none & unanswerable).sum())
    return tp / max(1, int(said_none.sum())), tp / max(1, int(unanswerable.sum()))


def best_precision(confidence: np.ndarray, unanswerable: np.ndarray, recall: float) -> float:
    """The highest precision of "no answer" over the thresholds whose recall is at least `recall`."""
    reached = (no_answer_pr(confidence <= t, unanswerable) for t in np.unique(confidence))
    return max((p for p, r in reached if r >= recall), default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=300, help="SQuAD questions of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sets", default="squad,near,news", help="comma-separated: squad, near, news")
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    sets = {s.strip() for s in args.sets.split(",")}
    squad_sets = {
        "squad": ("SQuAD v1.1 dev, half the articles indexed", squad),
        "near": ("SQuAD v1.1 dev, answering paragraphs left out (near misses)", squad_near),
    }
    for key, (name, make) in squad_sets.items():
        if key in sets:
            if SQUAD.is_dir():
                run(name, *make(args.questions, args.seed), settings)
            else:
                print(f"SQuAD data not found at {SQUAD}")
    if "news" in sets:
        try:
            run("datasets/news_qa over the BBC articles", *news(), settings)
        except FileNotFoundError as e:
            print(f"news questions: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
