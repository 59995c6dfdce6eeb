"""Time questions (datasets/news_time): does the search pick the right dated version of a story?

A set is a folder with `stories.jsonl` (invented articles, each with `age_days`: published that many
days before the reference time), `questions.jsonl` (`question`, which may hold `{d:N:FMT}`: the date
N days before the reference time in strftime's FMT; `kind`: latest, relative, absolute or content;
`expected`: the article id; `answers`: strings that stand in it alone) and `dataset.json`, which
names the real articles the stories are mixed into (`mix`: a JSON Lines file, how many, the seed).
Dates are materialised for the reference time (`now`, default today), every question goes through
`QAService.search` and `ask` with that `now`, and the report gives per kind the share whose first
result is the expected article (`top1`) and whose answer holds one of its strings; `misses`
lists each question that missed either, and which.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.embedders.cache import CachedEmbedder
from index.fsutil import read_jsonl
from qa.config import Settings
from qa.eval.indexing import index_articles

KINDS = ("latest", "relative", "absolute", "content")
PLACEHOLDER = re.compile(r"\{d:(\d+):([^}]*)\}")


@dataclass(frozen=True)
class TimeReport:
    dataset: str
    now: str
    metrics: dict[str, dict[str, float]]
    misses: list[dict[str, Any]]

    def to_json(self) -> dict[str, object]:
        return {"dataset": self.dataset, "now": self.now, "metrics": self.metrics, "misses": self.misses}


def is_time_set(folder: Path) -> bool:
    return (folder / "stories.jsonl").is_file() and (folder / "questions.jsonl").is_file()


def materialise(text: str, now: dt.date) -> str:
    return PLACEHOLDER.sub(lambda m: (now - dt.timedelta(days=int(m.group(1)))).strftime(m.group(2)), text)


def corpus(folder: Path, now: dt.date) -> list[dict[str, Any]]:
    """The stories dated for `now`, mixed into the real articles `dataset.json` names."""
    stories = [
        {
            "id": s["id"],
            "title": s["title"],
            "text": s["text"],
            "source": s.get("source"),
            "published": (now - dt.timedelta(days=int(s["age_days"]))).isoformat(),
        }
        for s in read_jsonl(folder / "stories.jsonl")
    ]
    spec = (
        json.loads((folder / "dataset.json").read_text(encoding="utf-8")) if (folder / "dataset.json").is_file() else {}
    )
    mix = spec.get("mix")
    if not mix:
        return stories
    path = (folder / mix["path"]).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path}, named in {folder / 'dataset.json'}, does not exist")
    real = read_jsonl(path)
    picked = random.Random(mix.get("seed", 0)).sample(real, min(int(mix.get("articles", 300)), len(real)))
    return stories + [{"id": r.get("id") or r["_id"], "title": r.get("title") or "", "text": r["text"]} for r in picked]


def evaluate_time(
    folder: Path,
    settings: Settings,
    *,
    now: dt.date | None = None,
    cache_dir: Path = Path(".qa-cache"),
    progress: bool = False,
) -> TimeReport:
    folder = Path(folder)
    day = now or dt.date.today()
    embedder = CachedEmbedder(settings.embedder_config().load(), cache_dir / "embeddings.sqlite3")
    questions = read_jsonl(folder / "questions.jsonl")
    outcomes: list[tuple[dict[str, Any], bool, bool, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="qa-eval-time-") as tmp:
            service = index_articles(corpus(folder, day), Path(tmp), settings, embedder, progress)
            for q in questions:
                text = materialise(q["question"], day)
                t0 = time.perf_counter()
                found = service.search(text, 5, now=day)
                took = (time.perf_counter() - t0) * 1000
                first = found.results[0].article_id if found.results else None
                answer = service.ask(text, now=day).answer
                outcomes.append(
                    (
                        {**q, "question": text, "got": first, "answer": answer},
                        first == q["expected"],
                        _holds(answer, q),
                        took,
                    )
                )
    finally:
        embedder.close()
    metrics: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        mine = [o for o in outcomes if o[0]["kind"] == kind]
        if mine:
            metrics[kind] = {
                "questions": float(len(mine)),
                "top1": round(sum(o[1] for o in mine) / len(mine), 4),
                "answer_contains": round(sum(o[2] for o in mine) / len(mine), 4),
            }
    ms = [o[3] for o in outcomes]
    metrics["all"] = {
        "questions": float(len(outcomes)),
        "search_ms_p50": round(statistics.median(ms), 1) if ms else 0.0,
    }
    misses: list[dict[str, Any]] = []
    for q, right_article, holds, _ in outcomes:
        shown = {k: q[k] for k in ("id", "kind", "question", "expected", "got", "answer")}
        misses += [{**shown, "miss": miss} for miss, ok in (("top1", right_article), ("answer", holds)) if not ok]
    return TimeReport(folder.name, day.isoformat(), metrics, misses)


def _holds(answer: str | None, q: dict[str, Any]) -> bool:
    return answer is not None and any(a in answer for a in q.get("answers") or ())
