"""Sentence boundaries as character spans, for chunking and for extractive answers.

A rule-based splitter tuned for news prose: it ends a sentence at `.`, `!` or `?` (with any closing
quotes or brackets) followed by white space and a capital letter, digit or opening quote, unless
the word before the dot is a known abbreviation or a single initial; a blank line always ends one.
Spans never include surrounding white space, so `text[start:end]` is the sentence itself.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof sr jr st mt ft gen gov sen rep col lt sgt capt cmdr adm rev hon pres "
        "inc ltd co corp plc llc bros dept univ assn est approx vs etc al fig no nos vol pp ed eds "
        "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun "
        "e.g i.e u.s u.k u.n e.u a.m p.m"
    ).split()
)

_BOUNDARY = re.compile(r"""[.!?]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of `text`, in order, never empty."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for para in _PARAGRAPH.finditer(text):
        spans.extend(_split_block(text, pos, para.start()))
        pos = para.end()
    spans.extend(_split_block(text, pos, len(text)))
    return spans


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    block = text[start:end]
    cut = 0
    for m in _BOUNDARY.finditer(block):
        if m.group().startswith(".") and _is_abbreviation(block[cut : m.start() + 1]):
            continue
        spans.append(strip_span(text, start + cut, start + m.end()))
        cut = m.end()
    spans.append(strip_span(text, start + cut, end))
    return [s for s in spans if s[1] > s[0]]


def _is_abbreviation(sentence_so_far: str) -> bool:
    m = _WORD_BEFORE.search(sentence_so_far)
    if not m:
        return False
    word = m.group(1).lower()
    if word in ABBREVIATIONS:
        return True
    # A single initial ("J. Smith") or a dotted acronym ("U.S.", "a.m.").
    return (len(word) == 1 and word.isalpha()) or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span narrowed to exclude leading and trailing white space."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
