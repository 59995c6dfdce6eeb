"""Metadata filters, applied before the top-k cut."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Filters:
    """Dates are ISO strings, bounds inclusive; an article without a date never passes a date
    filter. `source` matches case-insensitively."""

    source: str | None = None
    published_after: str | None = None
    published_before: str | None = None

    def __bool__(self) -> bool:
        return any((self.source, self.published_after, self.published_before))
