#!/usr/bin/env python3
"""Check (and optionally materialise) the news_time evaluation set.

Usage:
    python3 datasets/news_time/check.py [--now YYYY-MM-DD] [--days N] [--out DIR] [-v]

Standard library only. Exit code 0 when every check passes, 1 otherwise.

What it verifies
  * stories.jsonl: required fields and types, unique ids of the form time/<story>-<n>,
    3-4 versions per story with distinct ages, 120-300 words per text, and no absolute
    dates, years, weekday names or relative day words ("yesterday", "last week", ...)
    in titles or texts (they would contradict a moving reference time).
  * questions.jsonl: required fields, unique ids, known kind, the expected article exists,
    1-2 answers that occur verbatim in the expected text and (case-insensitively) in no
    other version of the same story, every {d:N:FMT} placeholder parses and renders.
  * per kind:
      latest   - no placeholder/window; expected is the strictly newest version of its story
      relative - either an explicit "window": {"from_days": A, "to_days": B} (ages B..A,
                 inclusive) or one "since {d:N:FMT}" placeholder (from the start of that
                 day/month/year up to now)
      absolute - exactly one placeholder; the window is derived from its format
                 (day: that day +-1; month: that calendar month; year: that calendar year;
                 a month or day without %Y matches that month/day in any year)
      content  - no placeholder, no window and no time words at all
    and, for every reference time `now` in the sweep (default: every day from now-365 to
    now+365, plus the weeks around the next 29 February), exactly the expected version of
    the story falls inside the window the question names.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("latest", "relative", "absolute", "content")
PLACEHOLDER = re.compile(r"\{d:(\d+):([^{}]+)\}")
ALLOWED_DIRECTIVES = {"%Y", "%B", "%b", "%d", "%-d"}
DIRECTIVE = re.compile(r"%-?[A-Za-z%]")
STORY_ID = re.compile(r"^time/([a-z0-9]+(?:-[a-z0-9]+)*)-(\d+)$")

MONTHS = list(calendar.month_name)[1:]
WEEKDAYS = list(calendar.day_name)
# Forbidden in article titles and texts.
TEXT_FORBIDDEN = [
    (re.compile(r"\b(" + "|".join(MONTHS) + r")\b"), "month name"),
    (re.compile(r"\b(" + "|".join(WEEKDAYS) + r")s?\b", re.I), "weekday name"),
    (re.compile(r"\b(1[89]|2[01])\d\d\b"), "year"),
    (re.compile(r"\b(yesterday|today|tonight|tomorrow|ago)\b", re.I), "relative day word"),
    (
        re.compile(r"\b(last|next|this|coming)\s+(week|weekend|month|year|morning|evening|night)\b", re.I),
        "relative period",
    ),
    (re.compile(r"\b(earlier|later)\s+this\b", re.I), "relative period"),
]
# Forbidden in content questions: anything that points at time.
TIME_WORDS = re.compile(
    r"\b(latest|recent|recently|now|nowadays|current|currently|still|yet|today|tonight|yesterday|"
    r"tomorrow|days?|weeks?|weekend|months?|years?|ago|last|since|past|earlier|later|first|"
    r"initially|originally|newest|oldest|update[sd]?|anymore|moment|lately|"
    + "|".join(MONTHS + WEEKDAYS)
    + r")\b|\d{4}|\{d:",
    re.I,
)
# A latest question must say that it asks for the present state.
LATEST_CUES = re.compile(
    r"\b(latest|now|current|currently|still|yet|these days|at the moment|most recent|so far|"
    r"in the end|any more|anymore|today)\b",
    re.I,
)


def load_jsonl(path: Path, errors: list[str]) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{path.name}:{n}: invalid JSON: {e}")
                continue
            if not isinstance(row, dict):
                errors.append(f"{path.name}:{n}: not an object")
                continue
            rows.append(row)
    return rows


def render(question: str, now: dt.date) -> str:
    def sub(m: re.Match) -> str:
        return (now - dt.timedelta(days=int(m.group(1)))).strftime(m.group(2))

    return PLACEHOLDER.sub(sub, question)


def shift_year(d: dt.date, k: int) -> dt.date:
    y = d.year + k
    if d.month == 2 and d.day == 29 and not calendar.isleap(y):
        return dt.date(y, 2, 28)
    return d.replace(year=y)


def fmt_unit(fmt: str) -> tuple[str, bool]:
    """(unit, has_year) for a placeholder format: unit is 'day', 'month' or 'year'."""
    dirs = set(DIRECTIVE.findall(fmt))
    has_year = "%Y" in dirs
    if dirs & {"%d", "%-d"}:
        return "day", has_year
    if dirs & {"%B", "%b"}:
        return "month", has_year
    return "year", has_year


def placeholder_window(age: int, fmt: str, since: bool, now: dt.date):
    """Predicate date -> bool for the window named by a {d:age:fmt} placeholder."""
    t = now - dt.timedelta(days=age)
    unit, has_year = fmt_unit(fmt)
    if since:
        start = {"day": t, "month": t.replace(day=1), "year": dt.date(t.year, 1, 1)}[unit]
        return lambda d: start <= d <= now
    if unit == "day":
        if has_year:
            return lambda d: abs((d - t).days) <= 1
        return lambda d: any(abs((d - shift_year(t, k)).days) <= 1 for k in range(-4, 5))
    if unit == "month":
        if has_year:
            return lambda d: (d.year, d.month) == (t.year, t.month)
        return lambda d: d.month == t.month
    return lambda d: d.year == t.year


def sweep_dates(base: dt.date, days: int) -> list[dt.date]:
    half = days // 2
    dates = {base + dt.timedelta(days=i) for i in range(-half, days - half)}
    y = base.year
    while not calendar.isleap(y):
        y += 1
    leap = dt.date(y, 2, 29)
    dates |= {leap + dt.timedelta(days=i) for i in range(-35, 36)}
    return sorted(dates)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--now", help="reference date YYYY-MM-DD (default: today)")
    ap.add_argument(
        "--days", type=int, default=731, help="number of reference days swept around --now (default 731, two years)"
    )
    ap.add_argument("--out", help="write materialised stories/questions for --now into this directory")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every question with its window")
    args = ap.parse_args()
    now = dt.date.fromisoformat(args.now) if args.now else dt.date.today()

    errors: list[str] = []
    stories = load_jsonl(HERE / "stories.jsonl", errors)
    questions = load_jsonl(HERE / "questions.jsonl", errors)

    # ------------------------------------------------------------------ stories
    by_id: dict[str, dict] = {}
    by_story: dict[str, list[dict]] = defaultdict(list)
    for s in stories:
        sid = s.get("id")
        for key, typ in (("id", str), ("story", str), ("title", str), ("text", str), ("source", str)):
            if not isinstance(s.get(key), typ) or not s.get(key):
                errors.append(f"story {sid}: missing or empty {key!r}")
        age = s.get("age_days")
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            errors.append(f"story {sid}: age_days must be an integer >= 0")
            continue
        if sid in by_id:
            errors.append(f"story {sid}: duplicate id")
            continue
        m = STORY_ID.match(sid or "")
        if not m or m.group(1) != s.get("story"):
            errors.append(f"story {sid}: id must be time/<story>-<n> with <story> == {s.get('story')!r}")
        by_id[sid] = s
        by_story[s.get("story")].append(s)
        words = len(s.get("text", "").split())
        if not 120 <= words <= 300:
            errors.append(f"story {sid}: {words} words (want 120-300)")
        for field in ("title", "text"):
            for rx, what in TEXT_FORBIDDEN:
                hit = rx.search(s.get(field, ""))
                if hit:
                    errors.append(f"story {sid}: {what} {hit.group(0)!r} in {field}")
    for name, vs in by_story.items():
        if not 3 <= len(vs) <= 4:
            errors.append(f"story group {name}: {len(vs)} versions (want 3-4)")
        ages = [v["age_days"] for v in vs]
        if len(set(ages)) != len(ages):
            errors.append(f"story group {name}: versions share an age {sorted(ages)}")

    # ---------------------------------------------------------------- questions
    seen_q: set[str] = set()
    checkable: list[tuple[dict, list[dict], object]] = []  # (question, versions, window spec)
    for q in questions:
        qid = q.get("id")
        text = q.get("question")
        kind = q.get("kind")
        if not isinstance(qid, str) or not qid:
            errors.append(f"question {q}: missing id")
            continue
        if qid in seen_q:
            errors.append(f"{qid}: duplicate id")
        seen_q.add(qid)
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{qid}: missing question")
            continue
        if kind not in KINDS:
            errors.append(f"{qid}: unknown kind {kind!r}")
            continue
        exp = q.get("expected")
        if exp not in by_id:
            errors.append(f"{qid}: expected id {exp!r} is not in stories.jsonl")
            continue
        story = by_id[exp]
        versions = by_story[story["story"]]
        others = [v for v in versions if v["id"] != exp]

        answers = q.get("answers")
        if (
            not isinstance(answers, list)
            or not 1 <= len(answers) <= 2
            or not all(isinstance(a, str) and a.strip() for a in answers)
        ):
            errors.append(f"{qid}: answers must be a list of 1-2 non-empty strings")
        else:
            for a in answers:
                if a not in story["text"]:
                    errors.append(f"{qid}: answer {a!r} not verbatim in {exp}")
                for o in others:
                    if a.lower() in (o["text"] + "\n" + o["title"]).lower():
                        errors.append(f"{qid}: answer {a!r} also occurs in {o['id']}")

        # placeholders
        ph = PLACEHOLDER.findall(text)
        stripped = PLACEHOLDER.sub("", text)
        if "{" in stripped or "}" in stripped:
            errors.append(f"{qid}: malformed placeholder in {text!r}")
        bad_ph = False
        for n, fmt in ph:
            dirs = DIRECTIVE.findall(fmt)
            if not dirs or not set(dirs) <= ALLOWED_DIRECTIVES:
                errors.append(f"{qid}: placeholder format {fmt!r} uses unsupported directives {dirs}")
                bad_ph = True
                continue
            try:
                (now - dt.timedelta(days=int(n))).strftime(fmt)
            except (ValueError, OverflowError) as e:
                errors.append(f"{qid}: placeholder {{d:{n}:{fmt}}} does not render: {e}")
                bad_ph = True
        if bad_ph:
            continue
        window = q.get("window")
        since = bool(re.search(r"\bsince\s+\{d:", text, re.I))

        if kind == "latest":
            if ph or window:
                errors.append(f"{qid}: latest questions take no placeholder or window")
            newest = min(v["age_days"] for v in versions)
            if story["age_days"] != newest or sum(v["age_days"] == newest for v in versions) != 1:
                errors.append(
                    f"{qid}: {exp} (age {story['age_days']}) is not the unique newest version (newest age {newest})"
                )
            if not LATEST_CUES.search(text):
                errors.append(f"{qid}: latest question has no present-state cue (now, still, yet, latest...)")
        elif kind == "content":
            if ph or window:
                errors.append(f"{qid}: content questions take no placeholder or window")
            hit = TIME_WORDS.search(text)
            if hit:
                errors.append(f"{qid}: content question contains time word {hit.group(0)!r}")
        elif kind == "relative":
            if window is not None:
                if ph:
                    errors.append(f"{qid}: give either a window or a 'since' placeholder, not both")
                    continue
                a, b = (window or {}).get("from_days"), (window or {}).get("to_days")
                if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)) or not 0 <= b <= a:
                    errors.append(f"{qid}: window must be {{'from_days': A, 'to_days': B}} with 0 <= B <= A")
                    continue
                checkable.append((q, versions, ("ages", a, b)))
            else:
                if len(ph) != 1 or not since:
                    errors.append(f"{qid}: relative questions need a window or exactly one 'since {{d:N:FMT}}'")
                    continue
                checkable.append((q, versions, ("placeholder", int(ph[0][0]), ph[0][1], True)))
        else:  # absolute
            if window is not None:
                errors.append(f"{qid}: absolute questions derive their window from the placeholder; drop 'window'")
            if len(ph) != 1 or since:
                errors.append(f"{qid}: absolute questions need exactly one placeholder (not 'since')")
                continue
            checkable.append((q, versions, ("placeholder", int(ph[0][0]), ph[0][1], False)))

    # --------------------------------------------------- window sweep over `now`
    sweep = sweep_dates(now, args.days)
    for q, versions, spec in checkable:
        failures: list[str] = []
        for ref in sweep:
            if spec[0] == "ages":
                _, a, b = spec
                inside = [v["id"] for v in versions if b <= v["age_days"] <= a]
            else:
                _, n, fmt, since = spec
                pred = placeholder_window(n, fmt, since, ref)
                inside = [v["id"] for v in versions if pred(ref - dt.timedelta(days=v["age_days"]))]
            if inside != [q["expected"]]:
                failures.append(f"now={ref}: in window {inside}")
            if spec[0] == "ages":
                break  # age windows do not depend on `now`
        if failures and spec[0] == "ages":
            errors.append(
                f"{q['id']}: age window {spec[2]}..{spec[1]} does not isolate {q['expected']}: "
                + failures[0].split(": ", 1)[1]
            )
        elif failures:
            errors.append(
                f"{q['id']}: window does not isolate {q['expected']} on {len(failures)} of "
                f"{len(sweep)} reference days, e.g. {failures[0]}"
            )

    # ------------------------------------------------------------------- report
    counts = Counter(q.get("kind") for q in questions)
    print(
        f"stories: {len(stories)} articles in {len(by_story)} evolving stories; "
        f"versions per story: {dict(sorted(Counter(len(v) for v in by_story.values()).items()))}"
    )
    print(f"questions: {len(questions)} " + " ".join(f"{k}={counts.get(k, 0)}" for k in KINDS))
    half = args.days // 2
    print(
        f"window sweep: {len(checkable)} relative/absolute questions x {len(sweep)} reference days "
        f"(every day {now - dt.timedelta(days=half)} .. {now + dt.timedelta(days=args.days - half - 1)}, "
        f"plus 29 February +-35 days)"
    )
    for k in KINDS:
        if counts.get(k, 0) < 12:
            errors.append(f"only {counts.get(k, 0)} {k} questions (want >= 12)")
    if len(by_story) < 8:
        errors.append(f"only {len(by_story)} stories (want >= 8)")

    if args.verbose or args.out:
        mat_q = []
        for q in questions:
            item = dict(q, question=render(q.get("question", ""), now), template=q.get("question"))
            mat_q.append(item)
            if args.verbose:
                exp = by_id.get(q.get("expected"), {})
                print(
                    f"  {q['id']} [{q['kind']:8}] {item['question']}  ->  {q.get('expected')} "
                    f"(age {exp.get('age_days')}, {now - dt.timedelta(days=exp.get('age_days', 0))})"
                )
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            with (out / "stories.jsonl").open("w", encoding="utf-8") as f:
                for s in stories:
                    pub = (now - dt.timedelta(days=s["age_days"])).isoformat()
                    f.write(json.dumps(dict(s, published=pub), ensure_ascii=False) + "\n")
            with (out / "questions.jsonl").open("w", encoding="utf-8") as f:
                for item in mat_q:
                    f.write(json.dumps(dict(item, now=now.isoformat()), ensure_ascii=False) + "\n")
            print(f"materialised for now={now} into {out}/")
    else:
        sample = [q for q in questions if PLACEHOLDER.search(q.get("question", ""))][:4]
        for q in sample:
            print(f"  e.g. now={now}: {q['id']} {render(q['question'], now)!r}")

    if errors:
        print(f"\nFAIL: {len(errors)} problem(s)")
        for e in errors:
            print("  - " + e)
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
