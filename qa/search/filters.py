"""Metadata filters, applied before the top-k cut."""

from __future__ import annotations

import datetime as dt
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

    @classmethod
    def between(cls, source: str | None, after: dt.date | None, before: dt.date | None) -> Filters:
        """From days (the API's, the MCP tools' and the service's own bounds)."""
        return cls(source, after.isoformat() if after else None, before.isoformat() if before else None)
