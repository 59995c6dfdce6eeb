"""The one rule for which questions and queries are taken, for every front end (CLI, HTTP, Slack):
each says the refusal in its own words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Literal["empty", "too_long"]
    length: int
    limit: int

    def message(self, what: str = "the question") -> str:
        if self.reason == "empty":
            return f"{what} is empty"
        return f"{what} is {self.length:,} characters; the limit is {self.limit:,}"


def refusal(text: str, max_chars: int) -> Refusal | None:
    """Why `text` cannot be asked (empty, too long), or None."""
    if not text.strip():
        return Refusal("empty", 0, max_chars)
    if len(text) > max_chars:
        return Refusal("too_long", len(text), max_chars)
    return None
