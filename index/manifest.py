"""The manifest: the commit point of the index.

It lists the live segments, the deleted rows of each, every article's content hash and the
segment holding it, and the embedding model and chunker it was built with. A commit writes a new
manifest to a temporary file, fsyncs it and renames it over `manifest.json`: a crash at any
moment leaves either the previous commit or the new one, each complete.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.errors import CorruptIndex, IndexNotFound, ModelMismatch
from index.fsutil import write_durable

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class ArticleEntry:
    hash: str
    segment: str
    path: str


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    name: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    version: int
    model: str
    dim: int
    chunker: dict[str, int]
    segments: tuple[SegmentEntry, ...] = ()
    deleted: dict[str, frozenset[int]] = field(default_factory=dict)  # segment -> rows
    articles: dict[str, ArticleEntry] = field(default_factory=dict)
    committed_at: str = ""

    @classmethod
    def empty(cls, model: str, dim: int, chunker: dict[str, int], version: int = 0) -> Manifest:
        return cls(version=version, model=model, dim=dim, chunker=chunker)

    @property
    def live_chunks(self) -> int:
        return sum(s.rows - len(self.deleted.get(s.name, ())) for s in self.segments)

    def check_model(self, model: str, dim: int) -> None:
        if (self.model, self.dim) != (model, dim):
            raise ModelMismatch(
                f"the index was built with model {self.model!r} (dim {self.dim}), but the configured "
                f"model is {model!r} (dim {dim}); run `qa index --rebuild` to re-embed with it"
            )

    def next(self, **changes: Any) -> Manifest:
        return replace(self, version=self.version + 1, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "committed_at": self.committed_at,
            "model": {"name": self.model, "dim": self.dim},
            "chunker": self.chunker,
            "segments": [{"name": s.name, "rows": s.rows} for s in self.segments],
            "deleted": {k: sorted(v) for k, v in sorted(self.deleted.items()) if v},
            "articles": {
                k: {"hash": a.hash, "segment": a.segment, "path": a.path} for k, a in sorted(self.articles.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise CorruptIndex(f"unknown manifest format {data.get('format')!r}")
        return cls(
            version=int(data["version"]),
            model=data["model"]["name"],
            dim=int(data["model"]["dim"]),
            chunker=dict(data["chunker"]),
            segments=tuple(SegmentEntry(s["name"], int(s["rows"])) for s in data["segments"]),
            deleted={k: frozenset(v) for k, v in data.get("deleted", {}).items()},
            articles={k: ArticleEntry(**v) for k, v in data.get("articles", {}).items()},
            committed_at=data.get("committed_at", ""),
        )


def read_manifest(index_dir: Path) -> Manifest:
    """The newest commit. IndexNotFound when there is none yet."""
    path = index_dir / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise IndexNotFound(f"no index in {index_dir}; run `qa index` to build it") from e
    try:
        return Manifest.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError) as e:
        raise CorruptIndex(f"{path} cannot be read ({e}); run `qa index --rebuild`") from e


def commit_manifest(index_dir: Path, manifest: Manifest) -> Manifest:
    """Make `manifest` the newest commit, atomically and durably."""
    stamped = replace(manifest, committed_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    data = json.dumps(stamped.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    write_durable(index_dir / MANIFEST, data)
    return stamped
