#!/usr/bin/env python3
"""Check datasets/news_qa/questions.jsonl against the source articles (stdlib only).

Run from the repository root:  python3 datasets/news_qa/check.py
Optional: --articles PATH (BBC articles.jsonl), --seeds DIR (folder holding the seed .txt files),
--questions PATH, --prefixes ANSWERABLE,UNANSWERABLE (the id prefixes, nq-,nu- by default). Defaults
look for ../shared beside the checkout (as the project's tests do). Another set in this format is
checked with it too:  python3 datasets/news_qa/check.py --questions datasets/news_dev/questions.jsonl
--prefixes nd-,nx-

Exit code 0 when every check passes, 1 when any problem is found, 2 when an input is missing.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared"  # datasets/news_qa -> datasets -> main -> <parent>/shared
CATEGORIES = {"business", "entertainment", "politics", "sport", "tech", "seed"}
SEED_PREFIX = "seed/"


def load_articles(path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                a = json.loads(line)
                texts[a["_id"]] = a["text"]
    return texts


def seed_text(seeds: Path, article_id: str) -> str | None:
    p = seeds / (article_id[len(SEED_PREFIX) :] + ".txt")
    return p.read_text(encoding="utf-8") if p.is_file() else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    ap.add_argument("--articles", type=Path, default=SHARED / "data" / "bbc_news" / "articles.jsonl")
    ap.add_argument("--seeds", type=Path, default=SHARED / "seeds")
    ap.add_argument("--prefixes", default="nq-,nu-", help="id prefixes of answerable and unanswerable questions")
    args = ap.parse_args()
    yes, no = args.prefixes.split(",")

    for p in (args.questions, args.articles):
        if not p.is_file():
            print(f"missing input: {p}", file=sys.stderr)
            return 2

    texts = load_articles(args.articles)
    same_body: dict[str, list[str]] = collections.defaultdict(list)
    for aid, t in texts.items():
        same_body[t].append(aid)

    problems: list[str] = []
    rows: list[dict] = []
    raw = args.questions.read_bytes()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        print(f"questions file is not UTF-8: {e}", file=sys.stderr)
        return 1
    for n, line in enumerate(lines, 1):
        if not line.strip():
            problems.append(f"line {n}: blank line")
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: invalid JSON ({e})")

    ids = collections.Counter(r.get("id") for r in rows)
    for qid, c in ids.items():
        if c > 1:
            problems.append(f"{qid}: id used {c} times")
    questions = collections.Counter((r.get("question") or "").strip().lower() for r in rows)
    for q, c in questions.items():
        if c > 1:
            problems.append(f"question text repeated {c} times: {q!r}")

    counts: collections.Counter = collections.Counter()
    seed_cache: dict[str, str | None] = {}
    for r in rows:
        qid = r.get("id", "?")
        answers, article_ids, cat = r.get("answers"), r.get("article_ids"), r.get("category")
        if not isinstance(r.get("question"), str) or not r["question"].strip():
            problems.append(f"{qid}: empty question")
        if cat not in CATEGORIES:
            problems.append(f"{qid}: unknown category {cat!r}")
        if not isinstance(answers, list) or not isinstance(article_ids, list):
            problems.append(f"{qid}: answers and article_ids must be lists")
            continue
        answerable = bool(answers)
        kind = "answerable" if answerable else "unanswerable"
        counts[(cat, kind)] += 1
        if not str(qid).startswith(yes if answerable else no):
            problems.append(f"{qid}: id prefix does not match kind ({kind}: {yes} answerable, {no} unanswerable)")

        if not answerable:
            if article_ids:
                problems.append(f"{qid}: unanswerable question lists article_ids")
            if not str(r.get("note", "")).strip():
                problems.append(f"{qid}: unanswerable question has no note")
            continue

        if not article_ids:
            problems.append(f"{qid}: answerable question has no article_ids")
            continue
        if len(set(article_ids)) != len(article_ids):
            problems.append(f"{qid}: article_ids has repeats")
        bodies: list[str] = []
        for aid in article_ids:
            if aid.startswith(SEED_PREFIX):
                if aid not in seed_cache:
                    seed_cache[aid] = seed_text(args.seeds, aid)
                t = seed_cache[aid]
                if t is None:
                    problems.append(f"{qid}: seed article {aid} not found in {args.seeds}")
                    continue
                bodies.append(t)
            elif aid in texts:
                bodies.append(texts[aid])
                missing_dups = [d for d in same_body[texts[aid]] if d not in article_ids]
                if missing_dups:
                    problems.append(f"{qid}: {aid} has exact duplicate(s) {missing_dups} not in article_ids")
            else:
                problems.append(f"{qid}: article id {aid!r} does not exist")
        for a in answers:
            if not isinstance(a, str) or not a.strip():
                problems.append(f"{qid}: empty answer string")
            elif not any(a in b for b in bodies):
                problems.append(f"{qid}: answer {a!r} not found verbatim in the text of {article_ids}")
            elif "\n" in a:
                problems.append(f"{qid}: answer {a!r} spans a line break")

    cats = sorted({c for c, _ in counts})
    print(f"{'category':<15}{'answerable':>12}{'unanswerable':>14}{'total':>8}")
    for c in cats:
        a, u = counts[(c, "answerable")], counts[(c, "unanswerable")]
        print(f"{c:<15}{a:>12}{u:>14}{a + u:>8}")
    ta = sum(v for (c, k), v in counts.items() if k == "answerable")
    tu = sum(v for (c, k), v in counts.items() if k == "unanswerable")
    print(f"{'all':<15}{ta:>12}{tu:>14}{ta + tu:>8}")

    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print("\nOK: ids unique, article ids exist, exact duplicates listed, every gold answer found verbatim.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
