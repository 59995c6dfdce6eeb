"""Metric code checked by hand and against pytrec_eval (the implementation BEIR uses)."""

import math
import random

import pytest

from qa.eval.metrics import METRICS, mrr_at, ndcg_at, recall_at


def test_ndcg_by_hand() -> None:
    qrels = {"a": 1, "b": 1}
    # relevant at ranks 1 and 3: DCG = 1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3)
    assert ndcg_at(["a", "x", "b"], qrels, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at(["a", "b"], qrels, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], qrels, 10) == 0.0
    # graded: gain 2 at rank 2, gain 1 at rank 1
    assert ndcg_at(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg_at(["x", "a"], qrels, 1) == 0.0


def test_recall_and_mrr_by_hand() -> None:
    qrels = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["x", "a", "c"], qrels, 1) == 0.0
    assert recall_at(["x", "a", "c"], qrels, 2) == 0.5
    assert recall_at(["b", "a"], qrels, 5) == 1.0
    assert mrr_at(["x", "c", "b"], qrels, 10) == pytest.approx(1 / 3)
    assert mrr_at(["x", "y", "b"], qrels, 2) == 0.0


def test_against_pytrec_eval_on_a_run() -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval", reason="pytrec-eval-terrier is a dev dependency")
    rng = random.Random(3)
    docs = [f"d{i}" for i in range(300)]
    qrels = {f"q{j}": {d: rng.choice([1, 1, 2]) for d in rng.sample(docs, rng.randint(1, 4))} for j in range(60)}
    run = {q: rng.sample(docs, 120) for q in qrels}
    evaluator = pytrec_eval.RelevanceEvaluator(
        qrels, {"ndcg_cut.10", "recall.1", "recall.5", "recall.10", "recall.100", "recip_rank"}
    )
    # pytrec_eval ranks by score: give strictly decreasing scores in our order.
    scored = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in run.items()}
    reference = evaluator.evaluate(scored)
    names = {
        "ndcg@10": "ndcg_cut_10",
        "recall@1": "recall_1",
        "recall@5": "recall_5",
        "recall@10": "recall_10",
        "recall@100": "recall_100",
    }
    for q, ranked in run.items():
        for ours, theirs in names.items():
            assert METRICS[ours](ranked, qrels[q]) == pytest.approx(reference[q][theirs], abs=1e-4), (q, ours)
        # pytrec_eval's recip_rank has no cut-off; within the first 10 it must agree with MRR@10.
        rr = reference[q]["recip_rank"]
        assert METRICS["mrr@10"](ranked, qrels[q]) == pytest.approx(rr if rr >= 0.1 else 0.0, abs=1e-4)
