"""The feeds file: one TOML file that people edit by hand and `qa feeds add/remove` edits too
(with tomlkit, so comments and layout survive). Each `[[feed]]` table:

    url    = "https://example.com/rss.xml"   # required: http(s)
    name   = "example-news"                  # folder under corpus/_feeds/; default from the URL
    source = "Example News"                  # shown in citations; default the feed's own title
    every  = "15m"                           # poll interval: 30s, 15m, 1h30m, 1d (default 15m)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from index.feeds.urls import BadUrl, canonical, check_url, redact, slug
from index.fsutil import write_durable

DEFAULT_EVERY = "15m"
FEEDS_FILE = "feeds.toml"  # beside the corpus folder, unless QA_FEEDS_FILE says otherwise
HEADER = """\
# Feeds polled by `qa serve` (in the background) and `qa feeds poll`; edit by hand or with
# `qa feeds add URL [--source NAME] [--every 15m]` and `qa feeds remove URL|NAME`.
# Each [[feed]]: url (required), name (its folder under corpus/_feeds/), source (shown in
# citations; default: the feed's own title), every (poll interval: 30s, 15m, 1h30m, 1d).
"""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^(?:\s*\d+\s*[smhd])+\s*$")


class FeedsFileError(ValueError):
    """The feeds file cannot be read or an edit cannot be made; the message says where and why."""


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str
    source: str | None = None
    every: str = DEFAULT_EVERY

    @property
    def interval(self) -> float:
        return parse_every(self.every)

    @property
    def shown_url(self) -> str:
        return redact(self.url)


def feeds_path(feeds_file: Path | None, corpus_dir: Path) -> Path:
    """QA_FEEDS_FILE, or feeds.toml beside the corpus folder (not in it: it is no article)."""
    return Path(feeds_file) if feeds_file else Path(corpus_dir).parent / FEEDS_FILE


def parse_every(text: str | int) -> float:
    """Seconds of an interval such as 90s, 15m, 1h30m or 1d (a bare number: seconds)."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    elif isinstance(text, str) and _EVERY.match(text):
        seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)\s*([smhd])", text))
    else:
        raise FeedsFileError(f"interval {text!r} is not like 30s, 15m, 1h30m or 1d")
    if seconds < 1:
        raise FeedsFileError(f"interval {text!r} is shorter than a second")
    return float(seconds)


def load_feeds(path: Path) -> list[FeedConfig]:
    """The feeds of the file (none when it does not exist); FeedsFileError says what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise FeedsFileError(f"feeds file {path}: {e}") from None
    tables = data.get("feed", [])
    if not isinstance(tables, list):
        raise FeedsFileError(f"feeds file {path}: 'feed' must be [[feed]] tables")
    feeds: list[FeedConfig] = []
    for n, table in enumerate(tables, start=1):
        try:
            feed = _feed(table)
        except (FeedsFileError, BadUrl) as e:
            raise FeedsFileError(f"feeds file {path}, feed {n}: {e}") from None
        if clash := next((f for f in feeds if f.name == feed.name or canonical(f.url) == canonical(feed.url)), None):
            raise FeedsFileError(f"feeds file {path}, feed {n}: same name or URL as feed {feeds.index(clash) + 1}")
        feeds.append(feed)
    return feeds


def _feed(table: object) -> FeedConfig:
    if not isinstance(table, dict):
        raise FeedsFileError("expected a table")
    if unknown := set(table) - {"url", "name", "source", "every"}:
        raise FeedsFileError(f"unknown keys {', '.join(sorted(unknown))} (url, name, source, every)")
    url = check_url(str(table.get("url") or ""))
    source = table.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise FeedsFileError("'source' must be text")
    name = table.get("name") or default_name(url, source)
    if not isinstance(name, str) or slug(name) != name:
        raise FeedsFileError(f"name {name!r} must be lower-case letters, digits and dashes")
    every = table.get("every", DEFAULT_EVERY)
    parse_every(every)
    return FeedConfig(
        url, name, source.strip() if source else None, str(every) if isinstance(every, str) else f"{every}s"
    )


def default_name(url: str, source: str | None = None) -> str:
    """The folder name of a feed: from its source, else from its host and path."""
    if source and slug(source):
        return slug(source, 40)
    parts = urlsplit(url)
    host = (parts.hostname or "feed").removeprefix("www.")
    path = parts.path.rsplit(".", 1)[0] if "." in parts.path.rsplit("/", 1)[-1] else parts.path
    return slug(f"{host} {path}", 40) or "feed"


def add_feed(path: Path, url: str, source: str | None = None, every: str = DEFAULT_EVERY) -> FeedConfig:
    """Append a [[feed]] table to the file (created when missing), comments and layout kept."""
    import tomlkit

    url = check_url(url)
    parse_every(every)
    feeds = load_feeds(path)
    if same := next((f for f in feeds if canonical(f.url) == canonical(url)), None):
        raise FeedsFileError(f"{redact(url)} is already in {path} as {same.name!r}")
    name, n = default_name(url, source), 2
    base = name
    while any(f.name == name for f in feeds):
        name, n = f"{base}-{n}", n + 1
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.parse(HEADER)
    table = tomlkit.table()
    table.update({"url": url, "name": name, **({"source": source} if source else {}), "every": every})
    table.trivia.indent = "\n"  # a blank line before each [[feed]]
    doc.setdefault("feed", tomlkit.aot()).append(table)
    _save(path, tomlkit.dumps(doc))
    return FeedConfig(url, name, source, every)


def remove_feed(path: Path, which: str) -> FeedConfig:
    """Remove the feed whose URL, name or source is `which`; FeedsFileError when none is."""
    import tomlkit

    feeds = load_feeds(path)
    wanted = which.strip()
    matches = [
        i
        for i, f in enumerate(feeds)
        if f.name == wanted
        or (f.source or "").casefold() == wanted.casefold()
        or (wanted.startswith(("http://", "https://")) and canonical(f.url) == canonical(wanted))
    ]
    if not matches:
        raise FeedsFileError(f"no feed {redact(wanted)!r} in {path} (qa feeds list shows them)")
    if len(matches) > 1:
        raise FeedsFileError(f"{wanted!r} names {len(matches)} feeds; give the URL or name")
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    del doc["feed"][matches[0]]
    _save(path, tomlkit.dumps(doc))
    return feeds[matches[0]]


def _save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durable(path, text.encode("utf-8"))
