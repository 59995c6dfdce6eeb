"""The one rule for which questions and queries are taken, for every front end (CLI, HTTP, Slack):
each says the refusal in its own words."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

# Characters that show nothing: controls (NUL …), formats (zero-width spaces and joiners, bidi
# marks and isolates, the BOM), and separators. A question made of them alone is empty.
_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Literal["empty", "too_long", "unreadable"]
    length: int
    limit: int

    def message(self, what: str = "the question") -> str:
        if self.reason == "empty":
            return f"{what} is empty"
        if self.reason == "unreadable":
            return f"{what} holds characters that are not valid text (a lone surrogate)"
        return f"{what} is {self.length:,} characters; the limit is {self.limit:,}"


def refusal(text: str, max_chars: int) -> Refusal | None:
    """Why `text` cannot be asked (empty or only invisible characters, too long, not valid
    text), or None."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return Refusal("unreadable", len(text), max_chars)
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in text):
        return Refusal("empty", 0, max_chars)
    if len(text) > max_chars:
        return Refusal("too_long", len(text), max_chars)
    return None
