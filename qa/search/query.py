"""A question parsed once: what every stage of the read core reads, and nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from index.lexical import tokenize
from qa.search.filters import Filters
from qa.search.when import TimeIntent, parse


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[str, ...]  # BM25 terms (index.lexical.tokenize), time expressions left out
    vector: np.ndarray  # the question's embedding, L2-normalised, read-only
    k: int  # passages wanted
    filters: Filters | None = None  # the caller's filters, with the question's time window
    time: TimeIntent | None = None  # what the question says of time, read against `now`

    @property
    def words(self) -> str:
        """The question as the models read it: when its time expression became a window (a
        filter), without it. "What happened in the Reddick case yesterday?" is, to a scorer of
        passages, "What happened in the Reddick case?": no sentence says "yesterday" of itself."""
        return _words(self.text, self.time)

    @classmethod
    def parse(
        cls,
        text: str,
        embed: Callable[[str], np.ndarray],
        k: int,
        filters: Filters | None = None,
        now: dt.date | None = None,
    ) -> Query:
        """Without `now`, time words are read as words."""
        if now is None:
            return cls(text, tuple(tokenize([text])[0]), embed(text), k, filters or None)
        intent = parse(text, now)
        words = _words(text, intent)
        return cls(text, tuple(tokenize([words])[0]), embed(words), k, within(filters, intent) or None, intent)


def _words(text: str, intent: TimeIntent | None) -> str:
    return intent.text if intent is not None and intent.window is not None else text


def within(filters: Filters | None, intent: TimeIntent) -> Filters | None:
    """The caller's filters narrowed to the question's time window."""
    if intent.window is None:
        return filters
    base = filters or Filters()
    after = max(filter(None, (base.published_after, iso(intent.window.start))), default=None)
    before = min(filter(None, (base.published_before, iso(intent.window.end))), default=None)
    return replace(base, published_after=after, published_before=before)


def iso(day: dt.date | None) -> str | None:
    """A day as YYYY-MM-DD, None as None."""
    return day.isoformat() if day else None
