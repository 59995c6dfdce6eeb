"""The Article value, and the citation metadata a segment stores for it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from index.ids import content_hash


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """What a citation shows of an article: stored with its chunks in each segment."""

    id: str
    title: str
    url: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    source: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArticleMeta:
        return cls(
            id=str(data["id"]),
            title=str(data.get("title") or ""),
            url=data.get("url"),
            published=data.get("published"),
            source=data.get("source"),
        )

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Article:
    """One source article. `id` is stable: a corpus path without extension, or a JSON `id`."""

    id: str
    title: str
    text: str
    url: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    source: str | None = None
    path: str = ""  # corpus file it came from, relative to the corpus root

    @property
    def content_hash(self) -> str:
        """Of everything that reaches the index (text and metadata, not the path)."""
        fields = asdict(self)
        del fields["path"]
        return content_hash(fields)

    def meta(self) -> ArticleMeta:
        return ArticleMeta(self.id, self.title, self.url, self.published, self.source)
