"""The text of an indexed article, exactly as its citations' offsets point into it.

The index keeps passages, not whole articles, so the text is read from the corpus file the commit
names for the article, and served only when its content hash is the one that commit recorded: a
file changed (or removed) since then is said plainly, never served with offsets that no longer fit.
A process without the corpus folder (a read replica over shared index storage) cannot serve it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from index.articles import Article
from index.errors import BadArticle
from index.loaders import load_file
from index.manifest import ArticleEntry

FILES_KEPT = 4  # parsed corpus files kept in memory: a JSON Lines file can hold thousands of articles


class TextUnavailable(LookupError):
    """The article is indexed, but its text cannot be served as the commit indexed it."""


class ArticleTexts:
    """Reads articles from the corpus folder, keeping the last few files parsed (keyed by their
    size and modification time, so a changed file is read again)."""

    def __init__(self, corpus_dir: Path, max_bytes: int) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.max_bytes = max_bytes
        self._files: OrderedDict[tuple[str, int, int], dict[str, Article]] = OrderedDict()
        self._lock = threading.Lock()

    def article(self, article_id: str, entry: ArticleEntry, version: int) -> Article:
        """The article as index version `version` indexed it, or TextUnavailable saying why not."""
        path = self.corpus_dir / entry.path
        try:
            stat = path.stat()
            found = self._parsed(path, stat.st_size, stat.st_mtime_ns).get(article_id)
        except (OSError, BadArticle) as e:
            raise TextUnavailable(
                f"the text of article {article_id!r} cannot be read from its corpus file "
                f"{entry.path} in {self.corpus_dir} ({e})"
            ) from e
        if found is None or found.content_hash != entry.hash:
            raise TextUnavailable(
                f"article {article_id!r} changed in its corpus file {entry.path} since index version {version} "
                "was committed; its text is served again once it is re-indexed (qa index)"
            )
        return found

    def _parsed(self, path: Path, size: int, mtime_ns: int) -> dict[str, Article]:
        key = (str(path), size, mtime_ns)
        with self._lock:
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
        articles = {a.id: a for a in load_file(path, self.corpus_dir, self.max_bytes) if isinstance(a, Article)}
        with self._lock:
            self._files[key] = articles
            while len(self._files) > FILES_KEPT:
                self._files.popitem(last=False)
        return articles
