"""The Article value and its content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


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
        """sha256 of everything that reaches the index (text and metadata, not the path)."""
        fields = asdict(self)
        del fields["path"]
        blob = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def meta(self) -> dict[str, str | None]:
        """The citation metadata, as stored in a segment."""
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "source": self.source,
        }
