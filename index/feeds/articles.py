"""Fetched pages and feed entries become Markdown files in the corpus folder, which stays the one
source of truth; the ordinary reconcile indexes them. The main text is extracted with the corpus
loader's own HTML extractor (`index.loaders.parse_html`, trafilatura). When the page cannot be
fetched or holds no text, a feed entry's own content (or summary) is used and the front matter
says so (`text_from`). File names come from the entry's key, so an entry updated in place
rewrites its file and never becomes a second article."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from index.articles import Article
from index.errors import BadArticle
from index.feeds.fetch import Fetched, Fetcher, FetchError
from index.feeds.parse import FeedEntry
from index.feeds.state import FEEDS_DIR
from index.feeds.urls import SCHEMES, canonical, keyed_name, public_url, slug
from index.fsutil import write_durable
from index.ids import file_article_id
from index.loaders import parse_html

FETCHED_DIR = "_fetched"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Written:
    article_id: str
    changed: bool  # False when the file already held exactly this


def feed_article_path(corpus_dir: Path, feed_name: str, key: str) -> Path:
    return Path(corpus_dir) / FEEDS_DIR / feed_name / f"{keyed_name(key)}.md"


def fetched_article_path(corpus_dir: Path, url: str) -> Path:
    key = canonical(url)
    return Path(corpus_dir) / FETCHED_DIR / (slug(urlsplit(key).hostname or "") or "site") / f"{keyed_name(key)}.md"


def extract_page(fetched: Fetched) -> Article:
    """Title, main text, canonical URL, date and site name of a fetched page; BadArticle when it
    holds no article text."""
    if fetched.content_type and "html" not in fetched.content_type and "xml" not in fetched.content_type:
        raise BadArticle(f"the page is {fetched.content_type}, not HTML")
    page = parse_html(decode(fetched.body, fetched.charset), "page", "page")
    url = urljoin(fetched.url, page.url) if page.url else fetched.url
    if urlsplit(url).scheme not in SCHEMES:
        url = fetched.url
    return Article(page.id, page.title, page.text, url, page.published, page.source)


def decode(body: bytes, charset: str | None) -> str:
    """The page as text: the charset of its Content-Type, else of its <meta>, else UTF-8."""
    for name in (charset, *(m.decode("ascii") for m in _META_CHARSET.findall(body[:4096])[:1]), "utf-8"):
        if not name:
            continue
        try:
            return body.decode(name, errors="replace")
        except LookupError:  # an unknown charset name
            continue
    return body.decode("utf-8", errors="replace")


def fetch_page(fetcher: Fetcher, url: str) -> Article:
    """One URL, fetched and extracted; FetchError or BadArticle says why not."""
    return extract_page(fetcher.get(url))


def fetch_into_corpus(fetcher: Fetcher, corpus_dir: Path, url: str) -> Written:
    """One page, fetched, extracted and written under `_fetched/<host>/`, keyed by its canonical
    URL (fetching it again rewrites the same file); FetchError or BadArticle says why not."""
    page = fetch_page(fetcher, url)
    return write_article(fetched_article_path(corpus_dir, page.url or url), corpus_dir, page, {"text_from": "page"})


def entry_article(fetcher: Fetcher, entry: FeedEntry, source: str | None) -> tuple[Article, str]:
    """The article of a feed entry and where its text came from ("page", or "feed entry" and why)."""
    page, why = None, "the entry has no link"
    if entry.link:
        try:
            page = fetch_page(fetcher, entry.link)
        except FetchError as e:
            why = f"page unreachable: {e}"
        except BadArticle as e:
            why = f"page unusable: {e}"
    if page is None and not entry.content:
        raise BadArticle(f"no text: {why}, and the entry has no content or summary")
    text_from = "page" if page is not None else f"feed entry ({why})"
    article = Article(
        id=entry.key,
        title=entry.title or (page.title if page else None) or entry.link or entry.key,
        text=page.text if page is not None else entry.content,
        url=(page.url if page else None) or entry.link,
        published=entry.published or (page.published if page else None),
        source=source or (page.source if page else None),
    )
    return article, text_from


def write_article(path: Path, corpus_dir: Path, article: Article, provenance: dict[str, Any]) -> Written:
    """Write the article as Markdown with front matter (title, url, published, source, then where
    it came from), unless the file already holds exactly that."""
    url = public_url(article.url) if article.url else None
    meta = {k: v for k, v in (("title", article.title), ("url", url)) if v}
    meta |= {k: v for k, v in (("published", article.published), ("source", article.source)) if v}
    meta |= {k: v for k, v in provenance.items() if v is not None}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    data = f"---\n{front}---\n\n{article.text.strip()}\n".encode()
    article_id = file_article_id(path, corpus_dir)
    try:
        if path.read_bytes() == data:
            return Written(article_id, False)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durable(path, data)
    return Written(article_id, True)
