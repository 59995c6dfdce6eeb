"""Why the closest article does not answer a question, when its own words tell: it never mentions a
number the question names ("the 2006 Oscars"), or the sentence that best fits the question says
the fact is not known ("has yet to be revealed"), was written before the event asked about ("could
fetch up to £9m" for "what did it sell for?"), or gives a figure for another period or year ("For
the full-year…" for the first quarter). The cross-encoder reads all of these as answers: they are
about the topic, in the words of the question."""

from __future__ import annotations

import re
from collections.abc import Sequence

# What a sentence says when the fact is not known yet: "has yet to be revealed", "did not disclose",
# "for an undisclosed fee". When the sentence that best fits the question says so, that is the
# article's answer, and it is not an answer to give as one.
UNKNOWN = re.compile(
    r"\b(?:yet to (?:be )?(?:revealed|announced|named|decided|confirmed|disclosed|set|made public|finalised"
    r"|finalized|reveal|announce|name|decide|confirm|disclose|make a (?:final )?decision)"
    r"|not (?:yet )?(?:been )?(?:revealed|announced|disclosed|confirmed|decided|made public)"
    r"|(?:declined|refused) to (?:say|reveal|disclose|name|confirm|give (?:details|a figure|figures))"
    r"|(?:would|did|does|will|could) not (?:say|reveal|disclose|name|confirm)"
    r"|remains? (?:unknown|unclear|undisclosed)|(?:is|are) (?:still|not yet) (?:unknown|unclear|known)"
    r"|undisclosed (?:sum|fee|amount|price|figure)"
    r"|no (?:date|decision|price|figure|details?) (?:has|have) (?:yet )?been (?:set|made|given|announced|released))\b",
    re.IGNORECASE,
)
# "Has Sony said when…?" is answered by "Sony has not yet announced when…": only a question asking
# for the fact itself is left unanswered by it.
YES_NO = re.compile(r"^\W*(?:so,?\s+)?(?:has|have|had|is|are|was|were|did|does|do|will|would|can|could)\b", re.I)

# A question about what happened ("who won…?", "how much did it fetch?") and a best sentence written
# before it did ("could fetch up to £9m", "will compete in the London Marathon"): a preview, not
# the result.
_DONE = (
    r"(?:won|sold|fetched|scored|beat|finished|raised|paid|got|made|took|earned|received|signed|voted|chose"
    r"|picked|elected|named|appointed)"
)
_DO = (
    r"(?:win|sell|fetch|score|beat|finish|raise|pay|get|make|take|earn|receive|sign|vote|choose|elect|appoint"
    r"|end up)"
)
ASKS_WHAT_HAPPENED = re.compile(
    rf"^\W*(?:who|what|which(?: \w+)?|how (?:much|many)(?: \w+)?)\s+{_DONE}\b|\bdid\b.*\b{_DO}\b", re.IGNORECASE
)
PREVIEW = re.compile(
    r"\b(?:(?:is|are) (?:expected|likely|set|poised|tipped|hoping|due) to"
    r" (?:be|take|make|win|fetch|sell|open|start|face)"
    r"|could (?:fetch|raise|sell|reach|make|win|earn|cost)"
    r"|will (?:compete|face|be held|be auctioned|be sold|go under the hammer|fetch|sell|take place|be decided"
    r"|be announced|be named|be chosen|be staged)"
    r"|hopes? to|estimated to fetch)\b",
    re.IGNORECASE,
)


# The time a figure is for. A question asking for a quarter's profit is not answered by the sentence
# giving the full year's ("For the full-year, TimeWarner posted a profit of $3.36bn"), nor one asking
# for the year by a quarter's; periods of one kind (the third quarter against the fourth) are not
# told apart: a match report runs from one into the next. Likewise a year: "Net income for 2004
# was $3.5bn" does not say the first quarter of 2005's, though its article speaks of 2005 elsewhere.
PERIODS = {
    "quarter": re.compile(
        r"\b(?:(?:first|second|third|fourth|final|last)[- ]quarter|q[1-4]|quarterly|three months)\b", re.I
    ),
    "half": re.compile(r"\b(?:(?:first|second)[- ]half|half[- ]year(?:ly)?|six months|interim)\b", re.I),
    "year": re.compile(r"\b(?:full[- ]year|annual|twelve months|12 months|(?:financial|fiscal) year|year to)\b", re.I),
}
_YEAR = re.compile(r"(?<![\d.,])((?:18|19|20)\d\d)(?:[-\u2013/](\d\d))?(?![\d%])")
# A question asking for a time, or about the years around one ("the only year since 2005…"), wants
# another year than it names.
ASKS_WHEN = re.compile(
    r"\b(?:when|(?:what|which) (?:year|date|decade|century|season)|since|until|before|after|between)\b", re.I
)


def periods(text: str) -> set[str]:
    """The kinds of reporting period `text` names."""
    return {kind for kind, named in PERIODS.items() if named.search(text)}


# A year a sentence compares with is not the one its figure is for: "…for the first time since
# 2004", "up nearly $3bn from 2003".
_COMPARED = re.compile(r"\b(?:since|from|than|compared (?:with|to)|on|over|against)\s+$", re.I)


def years(text: str, compared: bool = True) -> set[str]:
    """The years `text` names, "2013-14" as both; without those it compares with, unless `compared`."""
    found = set()
    for m in _YEAR.finditer(text):
        if not compared and _COMPARED.search(text, 0, m.start()):
            continue
        first, short = m.groups()
        found.add(first)
        if short:
            found.add(first[:2] + short)
    return found


def other_time(question: str, said: str) -> bool:
    """Whether a sentence (with the one after it, `said`) is about another reporting period or year
    than the question names."""
    asked, named = periods(question), periods(said)
    if asked and named and not asked & named:
        return True
    asked_years, named_years = years(question), years(said, compared=False)
    return bool(asked_years and named_years and not asked_years & named_years and not ASKS_WHEN.search(question))


_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?!\d)(?!st\b|nd\b|rd\b|th\b)")  # not an ordinal: "2nd"
_SMALL = "zero one two three four five six seven eight nine ten".split()


def unmet_numbers(question: str, text: str) -> list[str]:
    """The numbers of the question that `text` does not hold: "5,000" is "5000", "3" may be
    "three", and "88" (as in "Euro 88") may be "1988"."""
    flat = text.replace(",", "")
    unmet = []
    for found in _NUMBER.findall(question):
        n = found.replace(",", "")
        forms = [re.escape(n)]
        if n.isdigit() and int(n) < len(_SMALL):
            forms.append(rf"\b{_SMALL[int(n)]}\b")
        if n.isdigit() and len(n) == 2:
            forms.append(f"(?:19|20){n}")
        if not re.search(rf"(?<![\d.])(?:{'|'.join(forms)})(?!\d)", flat, re.IGNORECASE):
            unmet.append(found)
    return unmet


def not_said(question: str, sentence: str, after: str, number: int, grounds: str) -> str | None:
    """Why the closest article (its passages read, `grounds`; the best sentence, `sentence`, cited
    as `number`, and the one `after` it) does not answer, when it can be told: a number of the
    question it never mentions, or a best sentence about another reporting period or year than
    the question's, saying the fact is not known yet, or written before the event asked about."""
    quote = f"\u201c{sentence}\u201d [{number}]"
    if unmet := unmet_numbers(question, grounds):
        return f"does not mention {_listed(unmet)}."
    if other_time(question, f"{sentence} {after}"):
        return f"is about another period: {quote}"
    if UNKNOWN.search(sentence) and not YES_NO.search(question):
        return f"says {quote}"
    if PREVIEW.search(sentence) and ASKS_WHAT_HAPPENED.search(question):
        return f"was written before it happened: {quote}"
    return None


def _listed(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
