"""Time in the question: temporal expressions resolved against the request's reference time
(`now`) into a date window, and the "latest" intent of questions about the current state.

A small grammar, not a general date parser: each expression kind below has a precision, and the
window it gives is as wide as that precision (a day ±1, "three weeks ago" ±4 days, a month, a
year). `dateparser.search.search_dates` was measured as the alternative (README, "Time"): it
returns a point, not a window, so "in 2024" and "in May" lose their span; it misses "a few days
ago", "a couple of weeks ago" and "in October 2026"; and its first call costs 250 ms.

Relative: today, yesterday, this week/month/year, last week/month/year, N days/weeks/months/years
ago (words or digits, "a", "a couple of", "a few", "about"), the past/last N days/weeks/months
(or "the past week"), since <month [year]>/<year>/last week. Absolute: in/during <month> [<year>],
(early|mid|late) <month>, in <year>, on <day> <month> [<year>], on <month> <day>, ISO dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m
}
MONTHS.pop("may", None)  # "may" alone is a verb; the full name is added back below
MONTHS["may"] = 5
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3,
    "several": 4,
}  # fmt: skip
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

_MONTH = r"(?P<month>" + "|".join(sorted((m for m in MONTHS if len(m) > 3 or m == "may"), key=len, reverse=True)) + r")"
_MONTH_ABBR = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_OF_YEAR = r"(?:,?\s+" + _YEAR + ")?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_FEW = r"(?P<count>\d{1,3}|two|three|four|five|six|seven|eight|nine|ten|few|couple of)"
_COUNTS = r"\d{1,3}|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_COUNT = r"(?P<count>" + _COUNTS + ")"
_UNIT = r"(?P<unit>day|week|month|year)s?"
_APPROX = r"(?:(?:about|around|roughly|some|nearly|almost|over|more than|less than|just over|just under)\s+)?"

LATEST = re.compile(
    r"\b(current(ly)?|latest|now|nowadays|still|yet|these days|most recent(ly)?|recent(ly)?|lately|so far|to date|"
    r"at the moment|at present|right now|ongoing|up to date|as it stands|today's|in the end|eventually|finally|"
    r"final (?:result|outcome|score|count|tally|decision))\b",
    re.IGNORECASE,
)
# Present-tense status questions ("Who runs X?", "What is the rate?", "Is the strike on?"):
# with no other time word, they ask for the current state too.
PRESENT = re.compile(
    r"^\s*(?:(?:who|what|which|where|how many|how much|how)\s+(?:is|are|runs|leads|heads|owns|holds|has|have|does|do)\b"
    r"|(?:is|are|does|do|has|have)\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.date | None  # inclusive; None: open
    end: dt.date | None  # inclusive; None: open
    reason: str  # the expression and how it was read, for people and programs


@dataclass(frozen=True, slots=True)
class TimeIntent:
    window: Window | None
    latest: bool  # prefer the newest of passages that answer equally well
    text: str  # the question with the time expression taken out (for the lexical query)
    expression: str = ""  # the words that carried the time, as written


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    kind: str


def _rule(pattern: str, kind: str) -> _Rule:
    return _Rule(re.compile(r"(?<![\w-])" + pattern + r"(?![\w-])", re.IGNORECASE), kind)


RULES = [
    _rule(r"(?:on\s+)?(?P<iso>\d{4}-\d{2}-\d{2})", "iso"),
    _rule(r"(?:on\s+)?(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH_ABBR + _OF_YEAR, "day"),
    _rule(r"(?:on\s+)?" + _MONTH_ABBR + r"\s+" + _DAY + _OF_YEAR, "day"),
    _rule(r"(?:in\s+|during\s+|back in\s+)?(?P<part>early|mid|late)[\s-]+" + _MONTH + _OF_YEAR, "part"),
    _rule(r"(?P<since>since\s+)" + _MONTH + r"(?:\s+" + _YEAR + ")?", "since-month"),
    _rule(r"(?P<since>since\s+)" + _YEAR, "since-year"),
    _rule(r"since\s+last\s+(?P<unit>week|month|year)", "since-last"),
    _rule(r"(?:in\s+|during\s+|back in\s+|of\s+)?" + _MONTH + r"\s+" + _YEAR, "month"),
    _rule(r"(?:in\s+|during\s+|back in\s+|of\s+)" + _MONTH, "month"),
    _rule(r"(?:in\s+|during\s+|back in\s+)" + _YEAR, "year"),
    _rule(_APPROX + _COUNT + r"\s+" + _UNIT + r"\s+ago", "ago"),
    _rule(r"(?:in|over|during|within)\s+the\s+(?:past|last)\s+(?:" + _COUNT + r"\s+)?" + _UNIT, "past"),
    _rule(r"(?:the\s+)?(?:past|last)\s+" + _FEW + r"\s+" + _UNIT, "past"),
    _rule(r"(?:over\s+)?the\s+past\s+" + _UNIT, "past"),
    _rule(r"(?P<which>last|this|previous)\s+(?P<unit>week|month|year)", "calendar"),
    _rule(r"(?:earlier\s+)?(?P<which>today|yesterday)", "day-word"),
]


def parse(text: str, now: dt.date) -> TimeIntent:
    """The time intent of `text` for a question asked on `now`."""
    for rule in RULES:
        m = rule.pattern.search(text)
        if not m:
            continue
        window = _resolve(rule.kind, m, now)
        if window is None:
            continue
        stripped = " ".join((text[: m.start()] + " " + text[m.end() :]).split())
        return TimeIntent(window, False, stripped, m.group(0))
    latest = bool(LATEST.search(text) or PRESENT.search(text))
    return TimeIntent(None, latest, text)


def _resolve(kind: str, m: re.Match[str], now: dt.date) -> Window | None:
    said = m.group(0).strip()
    g = m.groupdict()
    try:
        if kind == "iso":
            day = dt.date.fromisoformat(g["iso"])
            return _days(day, 1, said, "that day")
        if kind == "day":
            month = MONTHS[g["month"].lower()]
            year = int(g["year"]) if g.get("year") else _year_of(month, int(g["day"]), now)
            return _days(dt.date(year, month, int(g["day"])), 1, said, "that day")
        if kind in ("month", "part", "since-month"):
            month = MONTHS[g["month"].lower()]
            year = int(g["year"]) if g.get("year") else _year_of(month, 1, now)
            first, last = _month_span(year, month)
            if kind == "since-month":
                return Window(first, now, f'"{said}": {first} to {now}')
            if kind == "part":
                first, last = {
                    "early": (first, first.replace(day=10)),
                    "mid": (first.replace(day=11), first.replace(day=20)),
                    "late": (first.replace(day=21), last),
                }[g["part"].lower()]
            return Window(first, last, f'"{said}": {first} to {last}')
        if kind in ("year", "since-year"):
            year = int(g["year"])
            if kind == "since-year":
                return Window(dt.date(year, 1, 1), now, f'"{said}": {year}-01-01 to {now}')
            return Window(dt.date(year, 1, 1), dt.date(year, 12, 31), f'"{said}": the year {year}')
        if kind == "ago":
            return _ago(g["count"], g["unit"].lower(), now, said)
        if kind == "past":
            count = _count(g["count"]) if g.get("count") else 1
            start = now - _delta(count, g["unit"].lower())
            return Window(start, now, f'"{said}": {start} to {now}')
        if kind == "since-last":
            start = _calendar("last", g["unit"].lower(), now)[0]
            return Window(start, now, f'"{said}": {start} to {now}')
        if kind == "calendar":
            first, last = _calendar(g["which"].lower(), g["unit"].lower(), now)
            return Window(first, last, f'"{said}": {first} to {last}')
        if kind == "day-word":
            day = now if g["which"].lower() == "today" else now - dt.timedelta(days=1)
            return Window(day, day, f'"{said}": {day}')
    except (ValueError, KeyError):  # "31 February", a year out of range
        return None
    return None


def _count(word: str) -> int:
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else NUMBERS.get(word, NUMBERS.get(word.replace("couple of", "a couple of"), 3))


def _delta(count: int, unit: str) -> relativedelta:
    return relativedelta(**{f"{unit}s": count})


VAGUE = {"a couple of": (2, 0.5), "a few": (4, 0.5), "several": (6, 0.5)}  # count, slack as a share of it


def _ago(count_word: str, unit: str, now: dt.date, said: str) -> Window:
    """N units before `now`, give or take a fifth of the span (at least a day, half a unit at
    most); a vague count ("a few") gives or takes half of it."""
    word = " ".join(count_word.lower().split())
    count, share = VAGUE.get(word, (_count(word), 0.2))
    center = now - _delta(count, unit)
    span = UNIT_DAYS[unit] * count
    slack = max(1, round(span * share)) if word in VAGUE else max(1, min(round(span * share), UNIT_DAYS[unit] // 2))
    if unit == "day" and word not in VAGUE and count <= 3:
        slack = 1
    start, end = center - dt.timedelta(days=slack), min(now, center + dt.timedelta(days=slack))
    return Window(start, end, f'"{said}": {start} to {end}')


def _days(day: dt.date, slack: int, said: str, what: str) -> Window:
    start, end = day - dt.timedelta(days=slack), day + dt.timedelta(days=slack)
    return Window(start, end, f'"{said}": {what}, {day}, give or take {slack} day')


def _month_span(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _year_of(month: int, day: int, now: dt.date) -> int:
    """A month (or day) named without a year: the latest one not after `now`."""
    return now.year if (month, day) <= (now.month, now.day) or (month == now.month) else now.year - 1


def _calendar(which: str, unit: str, now: dt.date) -> tuple[dt.date, dt.date]:
    """This or last calendar week (Monday to Sunday), month or year; "this" ends today."""
    if unit == "week":
        monday = now - dt.timedelta(days=now.weekday())
        if which == "this":
            return monday, now
        # "last week" in news: the previous calendar week, and the days since (a day's slack)
        return monday - dt.timedelta(days=8), now - dt.timedelta(days=1)
    if unit == "month":
        first = now.replace(day=1)
        if which == "this":
            return first, now
        last = first - dt.timedelta(days=1)
        return last.replace(day=1), last
    if which == "this":
        return dt.date(now.year, 1, 1), now
    return dt.date(now.year - 1, 1, 1), dt.date(now.year - 1, 12, 31)
