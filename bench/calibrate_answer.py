"""Calibrate the /ask "nothing answers this" threshold on SQuAD v1.1 dev.

Indexes the paragraphs of half of SQuAD's articles (every other article title), then asks
questions about those articles (the answer is in the corpus) and about the other half (it is
not). For each threshold on the best answer-sentence score it prints the precision and recall of
"no answer", and the share of answered in-corpus questions whose answer sentences hold a gold
answer. Run: .venv/bin/python bench/calibrate_answer.py [--questions 300]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

from qa.config import Settings
from qa.eval.beir import Query, load_beir
from qa.service import QAService

SQUAD = REPO.parent / "shared" / "data" / "squad_v1.1_dev" / "beir"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SQUAD)
    parser.add_argument("--questions", type=int, default=300, help="questions of each kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"SQuAD data not found at {args.data}")
        return 2
    data = load_beir(args.data)
    titles = sorted({q.metadata["article_title"] for q in data.queries.values()})
    indexed = set(titles[::2])
    article_of = {q.metadata["passage_id"]: q.metadata["article_title"] for q in data.queries.values()}
    docs = [d for d in data.documents.values() if article_of.get(d.id) in indexed]
    rng = random.Random(args.seed)
    inside = [q for q in data.queries.values() if q.metadata["article_title"] in indexed]
    outside = [q for q in data.queries.values() if q.metadata["article_title"] not in indexed]
    inside, outside = rng.sample(inside, args.questions), rng.sample(outside, args.questions)

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        with open(corpus / "squad.jsonl", "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"id": d.id, "title": d.title, "text": d.text}) + "\n")
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", answer_threshold=-1.0, _env_file=None)
        service = QAService(settings)
        t0 = time.perf_counter()
        service.reindex()
        print(f"indexed {len(docs)} paragraphs of {len(indexed)} articles in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        best_in, hit_in = _ask_all(service, inside)
        best_out, _ = _ask_all(service, outside)
        print(f"asked {2 * args.questions} questions in {time.perf_counter() - t0:.0f} s")

    scores = np.array(best_in + best_out)
    truth_no_answer = np.array([False] * len(best_in) + [True] * len(best_out))
    print(
        f"\n{'threshold':>9} {'P(no answer)':>13} {'R(no answer)':>13} {'F1':>6} {'answered in-corpus':>19} "
        f"{'gold in sentences':>18}"
    )
    best = (0.0, 0.0)
    for t in np.arange(0.20, 0.66, 0.025):
        said_none = scores < t
        tp = int((said_none & truth_no_answer).sum())
        precision = tp / max(1, int(said_none.sum()))
        recall = tp / int(truth_no_answer.sum())
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        answered = [h for s, h in zip(best_in, hit_in, strict=True) if s >= t]
        gold = sum(answered) / max(1, len(answered))
        print(f"{t:9.3f} {precision:13.3f} {recall:13.3f} {f1:6.3f} {len(answered) / len(best_in):19.3f} {gold:18.3f}")
        best = max(best, (f1, float(t)))
    print(f"\nbest F1 {best[0]:.3f} at threshold {best[1]:.3f}")
    return 0


def _ask_all(service: QAService, queries: list[Query]) -> tuple[list[float], list[bool]]:
    best, hit = [], []
    for q in queries:
        result = service.ask(q.text)
        best.append(max((s.score for s in result.sentences), default=-1.0))
        text = " ".join(s.text for s in result.sentences)
        hit.append(any(a in text for a in q.metadata.get("answers", [])))
    return best, hit


if __name__ == "__main__":
    sys.exit(main())
