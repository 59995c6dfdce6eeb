"""The Citation shape shared by every answer (HTTP, CLI and Slack)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Citation:
    n: int
    article_id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    quote: str  # == article.text[start:end]
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "source": self.source,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "score": self.score,
        }
