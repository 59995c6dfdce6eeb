"""Feed documents into typed entries: RSS 2.0 and Atom (and RSS 1.0) with feedparser, JSON Feed
(which feedparser does not read) with json. Parsing never fetches: feedparser is given the bytes
already fetched, never a URL."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from index.feeds.urls import canonical
from index.ids import short_digest

JSON_FEED_TYPES = ("application/feed+json", "application/json")


class BadFeed(ValueError):
    """The document is not a feed this reads; the message says why."""


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the entry id, else the canonical form of its link: what the article is keyed on
    link: str | None
    title: str | None
    published: str | None  # YYYY-MM-DD, from the entry (published, else updated)
    content: str  # the entry's own text (content, else summary), as plain text
    fingerprint: str  # changes when the entry changes

    @classmethod
    def of(
        cls,
        entry_id: str | None,
        link: str | None,
        title: str | None,
        stamp: str | None,
        updated: str | None,
        html: str,
    ) -> FeedEntry | None:
        link = (link or "").strip() or None
        key = (entry_id or "").strip() or (canonical(link) if link else "")
        if not key:
            return None
        title = " ".join((title or "").split()) or None
        fingerprint = short_digest(json.dumps([key, link, title, stamp, updated, html]), 16)
        return cls(key, link, title, _day(stamp) or _day(updated), html_to_text(html), fingerprint)


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    skipped: int  # entries with neither an id nor a link
    warning: str | None = None  # read leniently: the document is not well-formed


def parse_feed(body: bytes, content_type: str = "", url: str = "") -> ParsedFeed:
    """The entries of an RSS, Atom or JSON Feed document; BadFeed when it is none of those."""
    if content_type in JSON_FEED_TYPES or body.lstrip()[:1] == b"{":
        return _json_feed(body)
    import feedparser  # only where feeds are read

    headers = {"content-type": content_type or "application/xml", "content-location": url}
    # A stream, never bytes or str: given those, feedparser opens them as a URL or a local file
    # name when they look like one (a feed whose body is "/etc/passwd" would read that file).
    doc = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    problem = doc.get("bozo_exception") if doc.get("bozo") else None
    if not doc.get("version") and not doc.entries:
        why = f": {_one_line(problem)}" if problem else ""
        raise BadFeed(f"not an RSS, Atom or JSON Feed document{why}")
    if problem and _serious(problem) and not doc.entries:
        raise BadFeed(f"malformed feed: {_one_line(problem)}")
    entries, skipped = [], 0
    for e in doc.entries:
        html = _feedparser_html(e)
        entry = FeedEntry.of(
            e.get("id"),
            e.get("link"),
            e.get("title"),
            _stamp(e.get("published_parsed")),
            _stamp(e.get("updated_parsed") if "updated_parsed" in e else None),  # no fallback to published
            html,
        )
        skipped += entry is None
        if entry is not None:
            entries.append(entry)
    warning = f"not well-formed, read leniently: {_one_line(problem)}" if problem and _serious(problem) else None
    return ParsedFeed(doc.feed.get("title") or None, entries, skipped, warning)


def _feedparser_html(e: Any) -> str:
    for item in e.get("content") or ():
        if item.get("value"):
            return str(item["value"])
    return str(e.get("summary") or "")


def _serious(problem: object) -> bool:
    """A charset the document misstates is common and harmless; broken XML is worth saying."""
    return type(problem).__name__ not in {"CharacterEncodingOverride", "NonXMLContentType"}


def _json_feed(body: bytes) -> ParsedFeed:
    """JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadFeed(f"not valid JSON: {_one_line(e)}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise BadFeed("a JSON document, but not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise BadFeed("a JSON Feed without an 'items' list")
    entries, skipped = [], 0
    for item in items:
        if not isinstance(item, dict):
            skipped += 1
            continue
        html = item.get("content_html") or _escape(item.get("content_text")) or _escape(item.get("summary"))
        entry = FeedEntry.of(
            _text(item.get("id")),
            _text(item.get("url")) or _text(item.get("external_url")),
            _text(item.get("title")),
            _text(item.get("date_published")),
            _text(item.get("date_modified")),
            str(html or ""),
        )
        skipped += entry is None
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(_text(doc.get("title")), entries, skipped)


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str | int | float) and str(value).strip() else None


def _escape(text: object) -> str:
    import html

    return html.escape(str(text)) if isinstance(text, str) else ""


def _stamp(parsed: time.struct_time | None) -> str | None:
    """feedparser's parsed date (UTC) as an ISO date-time."""
    return dt.datetime(*parsed[:6], tzinfo=dt.UTC).isoformat() if parsed else None


def _day(stamp: str | None) -> str | None:
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(stamp.strip().replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _one_line(e: object) -> str:
    return " ".join(str(e).split())[:200]


class _Text(HTMLParser):
    """Text of an HTML fragment: blocks become paragraphs, scripts and styles are dropped."""

    BLOCKS = frozenset("p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article figure".split())
    HIDDEN = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an entry's HTML content: paragraphs kept, white space within them folded."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    paragraphs = (" ".join(p.split()) for p in "".join(parser.parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)
