"""Read a corpus folder into Articles; report and skip what cannot be read.

Formats: Markdown/text with YAML front matter, HTML (main text and metadata extracted with
trafilatura), and JSON Lines (one article an object). Ids are stable: the file's path relative to
the corpus root without its extension, or the `id` (or BEIR `_id`) of a JSON article.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from index.articles import Article
from index.errors import BadArticle
from index.ids import file_article_id

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
DEFAULT_MAX_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file (or one line of a JSON Lines file) that was not indexed, and why."""

    path: str
    reason: str
    whole_file: bool = True  # False when only one record of the file was bad


@dataclass(frozen=True, slots=True)
class Corpus:
    articles: list[Article]
    skipped: list[Skipped]

    @property
    def unreadable_files(self) -> set[str]:
        """Files that could not be read at all: their indexed articles must be kept as they were."""
        return {s.path for s in self.skipped if s.whole_file}


def load_corpus(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Load every supported file below `root`, in a stable order. Never raises for a bad file."""
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for path in sorted(_corpus_files(root)):
        rel = path.relative_to(root).as_posix()
        try:
            found = list(load_file(path, root, max_bytes))
        except BadArticle as e:
            skipped.append(Skipped(rel, str(e)))
            continue
        for item in found:
            if isinstance(item, Skipped):
                skipped.append(item)
            elif item.id in seen:
                skipped.append(Skipped(rel, f"duplicate article id {item.id!r} (first in {seen[item.id]})", False))
            else:
                seen[item.id] = rel
                articles.append(item)
    for s in skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    return Corpus(articles, skipped)


def _corpus_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts) or not path.is_file():
            continue
        yield path


def load_file(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Article | Skipped]:
    """Articles of one corpus file. Raises BadArticle when the whole file is unreadable."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadArticle(f"unsupported file type {suffix or '(no extension)'!r}")
    rel = path.relative_to(root).as_posix()
    article_id = file_article_id(path, root)
    if suffix in JSONL_SUFFIXES:  # many articles a file: the size limit holds for each of them
        yield from parse_jsonl(read_text(path, None), rel, max_bytes)
        return
    text = read_text(path, max_bytes)
    if suffix in HTML_SUFFIXES:
        yield parse_html(text, article_id, rel)
    else:
        yield parse_markdown(text, article_id, rel)


def read_text(path: Path, max_bytes: int | None) -> str:
    """The file as UTF-8 text, or BadArticle saying why not."""
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise BadArticle(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise BadArticle("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadArticle(
            f"not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); re-save the file as UTF-8"
        ) from e
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise BadArticle("empty file")
    return text


def parse_markdown(raw: str, article_id: str, rel: str) -> Article:
    """Markdown or plain text, with optional YAML front matter between `---` lines."""
    meta: dict[str, Any] = {}
    body = raw
    lines = raw.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            raise BadArticle("broken front matter: no closing '---' line")
        try:
            loaded = yaml.safe_load("".join(lines[1:end]))
        except yaml.YAMLError as e:
            raise BadArticle(f"broken front matter: {_one_line(e)}") from e
        if loaded is not None and not isinstance(loaded, dict):
            raise BadArticle("broken front matter: expected 'key: value' lines")
        meta = loaded or {}
        body = "".join(lines[end + 1 :])
    text = body.strip()
    if not text:
        raise BadArticle("no article text after the front matter")
    title = _field(meta, "title") or _first_line(text)
    return _article(meta, article_id, title, text, rel)


def parse_html(raw: str, article_id: str, rel: str) -> Article:
    """Main text, title, date, canonical URL and site name of a web page."""
    import trafilatura  # heavy import, only when a corpus has HTML

    extracted = trafilatura.bare_extraction(raw, with_metadata=True, include_comments=False, include_tables=False)
    doc = extracted if isinstance(extracted, dict) or extracted is None else extracted.as_dict()
    if not isinstance(doc, dict) or not (doc.get("text") or "").strip():
        raise BadArticle("no article text found in the HTML page")
    title = (doc.get("title") or "").strip()
    text = doc["text"].strip()
    first, _, rest = text.partition("\n")
    if title and first.strip() == title and rest.strip():
        text = rest.strip()  # the page's <h1> repeats the title
    meta = {
        "url": doc.get("url"),
        "published": doc.get("date"),
        "source": doc.get("sitename") or doc.get("hostname"),
    }
    return _article(meta, article_id, title or _first_line(text), text, rel)


def parse_jsonl(raw: str, rel: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Article | Skipped]:
    """One article an object: `id` (or `_id`), `title`, `text`, and optional url/published/source."""
    # Split on newlines only: str.splitlines() would also break inside text at U+2028, U+0085 …
    for n, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{rel}:{n}"
        size = len(line.encode("utf-8"))
        if size > max_bytes:
            yield Skipped(where, f"article is {size:,} bytes, over the {max_bytes:,}-byte limit", False)
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise BadArticle("expected a JSON object")
            article_id = str(obj.get("id") or obj.get("_id") or "").strip()
            if not article_id:
                raise BadArticle("missing 'id'")
            text = str(obj.get("text") or "").strip()
            if not text:
                raise BadArticle("missing 'text'")
            title = _field(obj, "title") or _first_line(text)
            yield _article(obj, article_id, title, text, rel)
        except json.JSONDecodeError as e:
            yield Skipped(where, f"invalid JSON: {e.msg} at column {e.colno}", False)
        except BadArticle as e:
            yield Skipped(where, str(e), False)


def _article(meta: dict[str, Any], article_id: str, title: str, text: str, rel: str) -> Article:
    return Article(
        id=article_id,
        title=title,
        text=text,
        url=_field(meta, "url"),
        published=_iso_date(meta.get("published", meta.get("date"))),
        source=_field(meta, "source"),
        path=rel,
    )


def _field(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise BadArticle(f"field {key!r} must be text, not {type(value).__name__}")
    return str(value).strip() or None


def _iso_date(value: object) -> str | None:
    """YYYY-MM-DD from a date, a datetime or an ISO string; BadArticle for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date().isoformat()
        except ValueError:
            pass
    raise BadArticle(f"'published' is not an ISO date (YYYY-MM-DD): {value!r}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200]


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())
