"""Regression floors on the hand-written news question sets, with the real default models,
through the same index and `ask` as `POST /ask`: a fixed subset of datasets/news_qa, and the
whole of datasets/news_time (questions about time, read against a fixed day).

The subset: every third answerable question and every other unanswerable one, their articles and
200 other BBC articles. The floors sit a little below what the subset measured when they were set
(README, "Answers"): they catch a regression, they are not the targets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from qa.config import Settings
from qa.eval.questions import evaluate_questions, load_question_set
from qa.eval.timeset import evaluate_time
from tests.conftest import REPO, needs_shared_data

pytestmark = [pytest.mark.slow, pytest.mark.shared_data, needs_shared_data]

NEWS_QA = REPO / "datasets" / "news_qa"
NEWS_TIME = REPO / "datasets" / "news_time"
# measured 0.9286, 1.0, 1.0 and 0.8421 when last set (56 answerable, 19 unanswerable questions; the
# recall was 0.7895 before the future-tense preview check and the verdict and vote-result kinds of
# qa/search/not_said.py, 0.6842 before the not-known and preview checks, 0.7368 before the period
# check and the sentence floor)
FLOOR = {"answer_contains_gold": 0.85, "article_in_top5": 0.95, "no_answer_precision": 0.8, "no_answer_recall": 0.75}


def test_answers_on_a_fixed_subset_of_the_news_questions(tmp_path: Path) -> None:
    questions = load_question_set(NEWS_QA).questions
    answerable = [q.id for q in questions if q.answerable][::3]
    unanswerable = [q.id for q in questions if not q.answerable][::2]
    settings = Settings(_env_file=None, model_cache_dir=tmp_path / "models")
    report = evaluate_questions(
        NEWS_QA, settings, cache_dir=tmp_path / "cache", ids=set(answerable + unanswerable), distractors=200
    )
    print(json.dumps(report.metrics, indent=1))
    m = report.metrics
    assert m["answerable"] == len(answerable) and m["unanswerable"] == len(unanswerable)
    for name, floor in FLOOR.items():
        assert m[name] >= floor, (name, m[name], report.failures)


# measured at 2026-12-01 when set: top-1 1.0 for latest, relative and absolute, 0.952 for content;
# answer holds gold 0.889, 0.962, 0.842, 0.905 (README, "Time")
TIME_FLOOR = {
    "latest": {"top1": 0.9, "answer_contains": 0.8},
    "relative": {"top1": 0.9, "answer_contains": 0.8},
    "absolute": {"top1": 0.9, "answer_contains": 0.75},
    "content": {"top1": 0.85, "answer_contains": 0.8},
}


def test_questions_about_time_find_and_answer_from_the_right_version(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, model_cache_dir=tmp_path / "models")
    report = evaluate_time(NEWS_TIME, settings, now=dt.date(2026, 12, 1), cache_dir=tmp_path / "cache")
    print(json.dumps(report.metrics, indent=1))
    for kind, floors in TIME_FLOOR.items():
        for name, floor in floors.items():
            assert report.metrics[kind][name] >= floor, (kind, name, report.metrics[kind][name], report.misses)
    for kind in TIME_FLOOR:  # --failures lists every question that missed, and what it missed
        m = report.metrics[kind]
        for name, miss in (("top1", "top1"), ("answer_contains", "answer")):
            listed = [x for x in report.misses if x["kind"] == kind and x["miss"] == miss]
            assert len(listed) == round((1 - m[name]) * m["questions"]), (kind, miss, listed)
