"""Articles added over the API become files in the corpus folder, which stays the one source of
truth: one JSON Lines file an article under `_api/`, so its given `id` is kept, a later reconcile
neither loses nor duplicates it, and a restart serves the same articles."""

from __future__ import annotations

import json
import re
from pathlib import Path

from index.articles import Article
from index.errors import BadArticle
from index.fsutil import write_durable
from index.ids import short_digest
from index.loaders import JSONL_SUFFIXES, SUPPORTED_SUFFIXES

API_DIR = "_api"


def api_article_path(corpus_dir: Path, article_id: str) -> Path:
    """A readable, collision-free file name for an article id."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", article_id).strip("-.")[:60] or "article"
    return corpus_dir / API_DIR / f"{slug}-{short_digest(article_id)}.jsonl"


def write_api_article(corpus_dir: Path, article: Article) -> Path:
    path = api_article_path(corpus_dir, article.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {k: v for k, v in article.meta().to_json().items() if v is not None} | {"text": article.text}
    write_durable(path, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def is_api_file(rel_path: str) -> bool:
    return rel_path.startswith(API_DIR + "/")


def remove_article_file(corpus_dir: Path, rel_path: str) -> None:
    """Remove the corpus file an article came from, if it holds that article alone."""
    path = corpus_dir / rel_path
    if not is_api_file(rel_path) and path.suffix.lower() in JSONL_SUFFIXES:
        with open(path, encoding="utf-8", errors="replace") as f:
            records = sum(1 for line in f if line.strip())
        if records > 1:
            raise BadArticle(f"the article is one of {records} in corpus file {rel_path}; edit that file instead")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BadArticle(f"{rel_path} is not a corpus file")
    path.unlink(missing_ok=True)
