"""`qa eval DATASET_DIR`: the command line of the evaluator."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR = 0, 1
METRICS = ["ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "queries_per_s"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="retrieval quality on a BEIR-layout dataset (nDCG@10, recall, MRR), or answers on a question set",
    )
    p.add_argument(
        "dataset",
        type=Path,
        help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/) or a question set (questions.jsonl, dataset.json)",
    )
    p.add_argument("--split", default="test", help="qrels split (default test)")
    p.add_argument("--methods", default="bm25,dense,hybrid", help="comma-separated: bm25, dense, hybrid")
    p.add_argument("--json", action="store_true", help='print {"dataset","queries","methods":{…}}')
    p.add_argument("--max-queries", type=int, default=None, help="evaluate a fixed random sample of queries")
    p.add_argument("--failures", action="store_true", help="question sets: list each question answered wrongly")
    p.add_argument("--as-of", help="time sets: the reference day the dates are materialised for (default today)")
    p.add_argument("--answer-sample", type=int, default=500, help="questions checked for answer_in_sentences")
    p.add_argument("--cache-dir", type=Path, default=Path(".qa-cache"), help="embedding cache folder")
    p.add_argument("--fusion", choices=["score", "rrf"], help="override QA_FUSION")
    p.add_argument("--dense-weight", type=float, help="override QA_DENSE_WEIGHT")
    p.add_argument("--rrf-k", type=int, help="override QA_RRF_K")
    p.add_argument("--sentence-weight", type=float, help="override QA_SENTENCE_WEIGHT (0: no sentence reranking)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.config import Settings
    from qa.eval.evaluator import evaluate
    from qa.eval.questions import is_question_set
    from qa.eval.timeset import is_time_set
    from qa.search.candidates import METHODS

    if is_time_set(args.dataset):
        return _time(args, Settings())
    if is_question_set(args.dataset):
        return _questions(args, Settings())
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if unknown := [m for m in methods if m not in METHODS]:
        print(f"qa: unknown method {', '.join(unknown)}; choose from {', '.join(METHODS)}", file=sys.stderr)
        return EXIT_ERROR
    if not (args.dataset / "corpus.jsonl").is_file():
        print(f"qa: {args.dataset} is not a BEIR folder (no corpus.jsonl)", file=sys.stderr)
        return EXIT_ERROR
    overrides = {
        k: v
        for k, v in (
            ("fusion", args.fusion),
            ("dense_weight", args.dense_weight),
            ("rrf_k", args.rrf_k),
            ("sentence_weight", args.sentence_weight),
        )
        if v is not None
    }
    report = evaluate(
        args.dataset,
        Settings().model_copy(update=overrides),
        split=args.split,
        methods=methods,
        cache_dir=args.cache_dir,
        max_queries=args.max_queries,
        answer_sample=args.answer_sample,
        progress=not args.quiet and not args.json and sys.stderr.isatty(),
    )
    if args.json:
        print(json.dumps(report.to_json()))
        return EXIT_OK
    print(f"{report.dataset}: {report.queries} queries")
    print(f"{'method':<8}" + "".join(f"{m:>12}" for m in METRICS))
    for name, values in report.methods.items():
        print(f"{name:<8}" + "".join(f"{values.get(m, 0):>12.4f}" for m in METRICS))
    for name, values in report.methods.items():
        if "answer_in_sentences" in values:
            print(
                f"{name}: answer_in_sentences {values['answer_in_sentences']:.4f} "
                f"on {int(values['answer_questions'])} questions"
            )
    return EXIT_OK


def _questions(args: argparse.Namespace, settings: Any) -> int:
    from qa.eval.questions import evaluate_questions

    report = evaluate_questions(
        args.dataset,
        settings,
        cache_dir=args.cache_dir,
        sample=args.max_queries,
        progress=not args.quiet and not args.json and sys.stderr.isatty(),
    )
    if args.json:
        print(json.dumps(report.to_json() if args.failures else {"dataset": report.dataset, "metrics": report.metrics}))
        return EXIT_OK
    print(f"{report.dataset}:")
    for name, value in report.metrics.items():
        print(f"  {name:<24}{value:>10.4g}")
    if args.failures:
        for f in report.failures:
            print(f"  {f['id']} {f['kind']}: {f['question']!r} (gold {f['gold']}) -> {f['answer']!r}")
    return EXIT_OK


def _time(args: argparse.Namespace, settings: Any) -> int:
    import datetime as dt

    from qa.eval.timeset import evaluate_time

    now = dt.date.fromisoformat(args.as_of) if args.as_of else None
    report = evaluate_time(args.dataset, settings, now=now, cache_dir=args.cache_dir)
    if args.json:
        print(json.dumps(report.to_json() if args.failures else {"dataset": report.dataset, "now": report.now,
                                                                  "metrics": report.metrics}))  # fmt: skip
        return EXIT_OK
    print(f"{report.dataset} as of {report.now}:")
    print(f"  {'kind':<10}{'questions':>10}{'top1':>8}{'answer':>8}")
    for kind, m in report.metrics.items():
        if kind != "all":
            print(f"  {kind:<10}{int(m['questions']):>10}{m['top1']:>8.3f}{m['answer_contains']:>8.3f}")
    print(f"  /search p50 {report.metrics['all']['search_ms_p50']} ms")
    if args.failures:
        for miss in report.misses:
            said = f"{miss['got']} (expected {miss['expected']})" if miss["miss"] == "top1" else repr(miss["answer"])
            print(f"  {miss['id']} {miss['kind']} {miss['miss']}: {miss['question']!r} -> {said}")
    return EXIT_OK
