"""Question sets written by hand (datasets/news_qa): does `/ask` answer, and say so honestly when
it cannot?

A set is a folder with `questions.jsonl` (`question`, `answers`: gold strings, `article_ids`:
where they stand; an unanswerable question has neither) and `dataset.json`, which names the
corpus files the questions were written against (paths relative to the folder; JSON Lines of
articles, or one text file whose first lines are a keyword line and the title). The corpus is
indexed through the same write side as `qa index`, every question is asked through the same
`QAService.ask` as `POST /ask`, and the report gives:

- `answer_contains_gold`: share of answerable questions whose answer holds a gold string;
- `no_answer_precision` / `no_answer_recall`: of the questions answered "nothing found", the share
  that is truly unanswerable; of the unanswerable ones, the share answered so;
- `article_mrr@10`, `article_in_top5`: where the first citation of a gold article ranks;
- `gold_in_top3`: share of answerable questions with a gold string in one of the top 3 passages;
- `ask_ms_p50` / `ask_ms_p99` and the answer stage's own time.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.embedders.cache import CachedEmbedder
from index.fsutil import read_jsonl
from qa.config import Settings
from qa.contract import AskResult
from qa.eval.indexing import index_articles
from qa.service import QAService


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]
    article_ids: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: list[Question]
    corpus: list[dict[str, Any]]  # articles: id, title, text


@dataclass
class Outcome:
    question: Question
    result: AskResult
    ms: float

    @property
    def answered(self) -> bool:
        return self.result.answer is not None

    @property
    def gold_in_answer(self) -> bool:
        text = " ".join(s.text for s in self.result.sentences)
        return any(a in text for a in self.question.answers)

    def article_rank(self) -> int | None:
        for c in self.result.citations:
            if c.article_id in self.question.article_ids:
                return c.n
        return None


@dataclass
class QuestionReport:
    dataset: str
    metrics: dict[str, float]
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"dataset": self.dataset, "metrics": self.metrics, "failures": self.failures}


def is_question_set(folder: Path) -> bool:
    return (folder / "questions.jsonl").is_file() and (folder / "dataset.json").is_file()


def load_question_set(folder: Path) -> QuestionSet:
    folder = Path(folder)
    spec = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    questions = [
        Question(q["id"], q["question"], tuple(q.get("answers") or ()), tuple(q.get("article_ids") or ()))
        for q in read_jsonl(folder / "questions.jsonl")
    ]
    corpus: list[dict[str, Any]] = []
    for source in spec["corpus"]:
        path = (folder / source["path"]).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{path}, named in {folder / 'dataset.json'}, does not exist")
        corpus.extend(_articles(path, source))
    return QuestionSet(folder.name, questions, corpus)


def _articles(path: Path, source: dict[str, Any]) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [
            {"id": r.get("id") or r["_id"], "title": r.get("title") or "", "text": r["text"]} for r in read_jsonl(path)
        ]
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    body = lines[1:]  # the first line is the file's keyword line
    while body and not body[0].strip():
        body.pop(0)
    return [{"id": source["id"], "title": body[0].strip(), "text": "\n".join(body[1:]).strip()}]


def evaluate_questions(
    folder: Path,
    settings: Settings,
    *,
    cache_dir: Path = Path(".qa-cache"),
    sample: int | None = None,
    ids: set[str] | None = None,
    distractors: int | None = None,
    progress: bool = False,
) -> QuestionReport:
    """`sample`: a fixed random sample of the questions; `ids`: only these questions.
    `distractors`: index only the articles the questions cite plus that many others drawn at
    random (a small, fixed subset for CI), instead of the whole corpus."""
    data = load_question_set(folder)
    questions = [q for q in data.questions if ids is None or q.id in ids]
    if sample is not None and sample < len(questions):
        questions = random.Random(0).sample(questions, sample)
    corpus = data.corpus
    if distractors is not None:
        keep = {a for q in questions for a in q.article_ids}
        others = [a["id"] for a in corpus if a["id"] not in keep]
        keep |= set(random.Random(1).sample(others, min(distractors, len(others))))
        corpus = [a for a in corpus if a["id"] in keep]
    embedder = CachedEmbedder(settings.embedder_config().load(), cache_dir / "embeddings.sqlite3")
    try:
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
            service = index_articles(corpus, Path(tmp), settings, embedder, progress)
            outcomes = [_ask(service, q) for q in questions]
    finally:
        embedder.close()
    return QuestionReport(data.name, _metrics(outcomes), _failures(outcomes))


def _ask(service: QAService, q: Question) -> Outcome:
    t0 = time.perf_counter()
    result = service.ask(q.text)
    return Outcome(q, result, (time.perf_counter() - t0) * 1000)


def _metrics(outcomes: list[Outcome]) -> dict[str, float]:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    said_none = [o for o in outcomes if not o.answered]
    ranks = [o.article_rank() for o in answerable]
    ms = sorted(o.ms for o in outcomes)

    def share(items: list[Any], n: int) -> float:
        return round(len(items) / n, 4) if n else 0.0

    return {
        "questions": float(len(outcomes)),
        "answerable": float(len(answerable)),
        "unanswerable": float(len(unanswerable)),
        "answer_contains_gold": share([o for o in answerable if o.gold_in_answer], len(answerable)),
        "answered_contains_gold": share(
            [o for o in answerable if o.answered and o.gold_in_answer], len([o for o in answerable if o.answered])
        ),
        "no_answer_precision": share([o for o in said_none if not o.question.answerable], len(said_none)),
        "no_answer_recall": share([o for o in unanswerable if not o.answered], len(unanswerable)),
        "article_mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / max(1, len(answerable)), 4),
        "article_in_top5": share([r for r in ranks if r and r <= 5], len(answerable)),
        "gold_in_top3": share(
            [o for o in answerable if any(a in c.quote for c in o.result.citations[:3] for a in o.question.answers)],
            len(answerable),
        ),
        "ask_ms_p50": round(statistics.median(ms), 1) if ms else 0.0,
        "ask_ms_p99": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1) if ms else 0.0,
    }


def _failures(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """What went wrong, question by question: for reading, not for tuning against."""
    out = []
    for o in outcomes:
        q = o.question
        if q.answerable and not o.gold_in_answer:
            kind = "no answer given" if not o.answered else "answer misses the gold"
        elif not q.answerable and o.answered:
            kind = "answered an unanswerable question"
        else:
            continue
        out.append({"id": q.id, "kind": kind, "question": q.text, "gold": list(q.answers), "answer": o.result.answer})
    return out
