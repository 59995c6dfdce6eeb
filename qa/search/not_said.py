"""Why the closest article does not answer a question, when its own words tell: it never mentions a
number the question names ("the 2006 Oscars"), or the sentence that best fits the question says
the fact is not known ("has yet to be revealed"), was written before the event asked about ("could
fetch up to £9m" for "what did it sell for?"), gives a figure for another period or year ("For
the full-year…" for the first quarter, "its first weekend" for the second), or holds nothing of
the kind the question asks for (no figure for "how many…?", no date for "when…?"). The
cross-encoder reads all of these as answers: they are about the topic, in the words of the
question."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.search.when import MONTHS

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

# A question about what happened ("who won…?", "how much did it fetch?", "what was the score…?") and a
# best sentence written before it did ("could fetch up to £9m", "will compete in the London Marathon",
# "the game will be the second time…"): a preview, not the result. Any future in the best sentence
# counts ("will", "is to", "is due to", "is set to"), unless it also reports an outcome itself:
# "Smith, who won the title last year, will defend it" answers "who won last year?".
_DONE = (
    r"(?:won|sold|fetched|scored|beat|finished|raised|paid|got|made|took|earned|received|signed|voted|chose"
    r"|picked|elected|named|appointed|came)"
)
_DO = (
    r"(?:win|sell|fetch|score|beat|finish|raise|pay|get|make|take|earn|receive|sign|vote|choose|elect|appoint"
    r"|end up|run)"
)
ASKS_WHAT_HAPPENED = re.compile(
    rf"^\W*(?:who|what|which(?: \w+)?|how (?:much|many)(?: \w+)?)\s+{_DONE}\b|\bdid\b.*\b{_DO}\b"
    r"|^\W*what (?:was|were) the (?:final |eventual )?(?:score|scoreline|result|outcome|verdict|winning \w+)\b"
    r"|\bcame (?:top|first|second|third|last)\b",
    re.IGNORECASE,
)
PREVIEW = re.compile(
    r"\b(?:(?:is|are) (?:expected|likely|set|poised|tipped|hoping|looking|aiming|bidding|due|scheduled) to"
    r"|could (?:fetch|raise|sell|reach|make|win|earn|cost)"
    r"|shall|(?:is|are) to|hopes? to|estimated to fetch)\b"
    r"|(?<!\bthe )(?<!\bhis )(?<!\bher )(?<!\bfree )(?<!\bown )(?-i:\bwill\b)(?! of\b)|\w['\u2019]ll\b",
    re.IGNORECASE,
)
# "The spelling is due to the influence of Greek": "due to" as "because of" is no future.
_BECAUSE = re.compile(r"\b(?:is|are) due to (?:the|a|an|its|their|his|her)\b", re.IGNORECASE)
REPORTED = re.compile(rf"\b{_DONE}\b", re.IGNORECASE)


def preview(sentence: str) -> bool:
    """Whether `sentence` was written before the event it is about: it speaks of it in the future and
    reports no outcome itself."""
    return bool(PREVIEW.search(_BECAUSE.sub("", sentence))) and not REPORTED.search(sentence)


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


# "its second weekend", "the first round": an ordinal names one of a series; a sentence naming another
# of the same series ("its first weekend") and not the one asked is about another. Quarters and
# halves are PERIODS' (a match report runs from one into the next), and "first time", "second
# place" name no series.
_ORDINAL = re.compile(r"\b(first|second|third|fourth|fifth|sixth|opening|1st|2nd|3rd|4th|5th)[- ](\w+)", re.I)
_NO_SERIES = {"quarter", "half", "time", "place", "person", "ever"}


_SAME_PLACE = {"opening": "first", "1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth"}


def ordinals(text: str) -> set[tuple[str, str]]:
    """The (ordinal, noun) pairs `text` names: ("second", "weekend"); "opening" is "first"."""
    return {
        (_SAME_PLACE.get(o.lower(), o.lower()), n.lower())
        for o, n in _ORDINAL.findall(text)
        if n.lower() not in _NO_SERIES
    }


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
    named_ordinals = ordinals(said)
    if any((o, n) not in named_ordinals and n in {m for _, m in named_ordinals} for o, n in ordinals(question)):
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


# The kind of thing a question asks for, when its words say it, and what a sentence giving one holds.
# Wide on purpose: a "how many…?" is answered by "several" or "fourteen" too, a "when…?" by "at the
# beginning of each session". A best sentence (with the one after it) holding nothing of the kind
# is about the topic, not the answer: "Christina Aguilera is to marry…" for "when are they getting
# married?".
_NUMBER_SAID = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|\w+ty|hundreds?|thousands?"
    r"|millions?|billions?|dozens?|half|third|quarter|several|few|many|handful|no|none|single|double|twice|once"
    r"|all|both|each|every)\b",
    re.I,
)
_MONTHS = "|".join(sorted((m.capitalize() for m in MONTHS), key=len, reverse=True)) + "|Sept"
_TIME_SAID = (
    rf"\b(?:\d{{3,4}}|\d+(?:[.:]\d+)?\s*[ap]\.?m\b|\d+\s*(?:days?|weeks?|months?|years?|hours?|minutes?)|\d+(?:st|nd|rd|th)"
    rf"|{_MONTHS}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|tomorrow|tonight"
    r"|(?:last|next|this) (?:week|month|year)|spring|summer|autumn|winter|century|decade|ago"
    r"|(?i:after|before|during|until|while|when|beginning|start|end|each|every|annual|annually|season|session|term"
    r"|period|era|times?|age))\b"
)
_MONEY_SAID = r"[£$€¥]\s?\d|\d(?:m|bn|p)\b|\b\d[\d,.]*\s*(?:million|billion|pounds|dollars|euros|pence|cents|yen)\b"
# "How much…?" wants an amount: money, a share, a quantity in figures; "three companies" is not one.
_AMOUNT_SAID = rf"{_MONEY_SAID}|\d|%|\bper ?cent\b"
ASKED_FOR: list[tuple[re.Pattern[str], str, re.Pattern[str]]] = [
    # (the question asks for it, what it is called in a reason, a sentence giving one holds it)
    (
        re.compile(r"^\W*(?:what|how)\b.*\b(?:score|scoreline|aggregate)\b", re.I),
        "score",
        re.compile(r"\d+\s*[-\u2013]\s*\d+"),
    ),
    (re.compile(r"^\W*(?:by )?how much\b", re.I), "figure", re.compile(_AMOUNT_SAID, re.I)),
    (
        re.compile(r"^\W*(?:by )?how many\b|^\W*what(?:'s|\u2019s| is| was)? (?:\w+'s )?(?:\w+ )?time\b", re.I),
        "figure",
        _NUMBER_SAID,
    ),
    (
        re.compile(
            r"^\W*what (?:does|did|will|would|do) .*\bcost\b"
            r"|^\W*what(?:'s|\u2019s| is| was| were| are) the (?:price|cost|fee|fine|salary)\b",
            re.I,
        ),
        "price",
        re.compile(_MONEY_SAID, re.I),
    ),
    (re.compile(r"^\W*what (?:percentage|proportion|share)\b", re.I), "figure", _NUMBER_SAID),
    (re.compile(r"^\W*(?:when|what (?:year|date|day|month))\b", re.I), "time", re.compile(_TIME_SAID)),
    (
        re.compile(r"^\W*(?:how old|what age|how long|how far|how fast|how big|how high|how tall)\b", re.I),
        "figure",
        _NUMBER_SAID,
    ),
    (  # "what was the verdict…?": a court's word, not the charge
        re.compile(r"^\W*what (?:was|is|were) the (?:final |jury's )?verdicts?\b|^\W*what verdict\b", re.I),
        "verdict",
        re.compile(
            r"\b(?:guilty|innocent|acquitted|acquittal|cleared|convicted|jailed|sentenced|fined|found|ruled"
            r"|dismissed|thrown out|upheld|overturned|liable|hung)\b",
            re.I,
        ),
    ),
    (  # "what was the result of the referendum?": how the vote went, not that it was held
        re.compile(
            r"^\W*what (?:was|were) the (?:final )?(?:result|outcome)s? of\b.*\b(?:vote|referendum|ballot|election"
            r"|by-election|poll)s?\b",
            re.I,
        ),
        "result",
        re.compile(
            r"%|\bper ?cent\b|\b(?:voted|voters|won|win|wins|rejected|approved|backed|majority|in favour|turnout"
            r"|defeated|elected|returned|passed|carried)\b",
            re.I,
        ),
    ),
]
# "When the law is the target of the protest, what is this called?" asks for a name, not a time.
_SECOND_QUESTION = re.compile(r",\s*(?:what|who|how|which|where|when)\b", re.I)
_LEAD_IN = re.compile(r"^\W*(?:so|and|but|ok|okay|hey)\b,?\s*", re.I)  # "so, when…?"


def asked_for(question: str) -> tuple[str, re.Pattern[str]] | None:
    """What kind of thing `question` asks for, as (its name, what a sentence giving one holds)."""
    if _SECOND_QUESTION.search(question):
        return None
    question = _LEAD_IN.sub("", question)
    return next(((name, said) for asks, name, said in ASKED_FOR if asks.search(question)), None)


def not_said(
    question: str, sentence: str, after: str, number: int, grounds: str, close: tuple[str, int] | None = None
) -> tuple[str, int | None] | None:
    """Why the closest article (its passages read, `grounds`; the best sentence, `sentence`, cited
    as `number`, and the one `after` it; a sentence scoring close to it, `close`, with its number)
    does not answer, when it can be told, with the number of the passage the reason quotes: a number
    of the question it never mentions, or a best sentence about another reporting period or year
    than the question's, saying the fact is not known yet (or the close one saying so), written
    before the event asked about, or holding nothing of the kind asked for."""
    quote = f"\u201c{sentence}\u201d [{number}]"
    if unmet := unmet_numbers(question, grounds):
        return f"does not mention {_listed(unmet)}.", None
    if other_time(question, f"{sentence} {after}"):
        return f"is about another period: {quote}", number
    if not YES_NO.search(question):
        for said, n in ((sentence, number), *([close] if close else [])):
            if UNKNOWN.search(said):
                return f"says \u201c{said}\u201d [{n}]", n
    if preview(sentence) and ASKS_WHAT_HAPPENED.search(question):
        return f"was written before it happened: {quote}", number
    if (kind := asked_for(question)) and not kind[1].search(f"{sentence} {after}"):
        return f"gives no {kind[0]}: {quote}", number
    return None


def _listed(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
