"""Index an evaluation corpus through the product's own write side, into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from index.embedders import Embedder
from qa.config import Settings
from qa.service import QAService


def index_articles(
    articles: list[dict[str, Any]], tmp: Path, settings: Settings, embedder: Embedder, progress: bool = False
) -> QAService:
    """A service over `articles` (JSON article objects) indexed in `tmp` as `qa index` would."""
    folder = tmp / "corpus"
    folder.mkdir()
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in articles)
    local = settings.model_copy(update={"corpus_dir": folder, "index_dir": tmp / "index"})
    service = QAService(local, embedder)
    service.writer(progress=progress).reconcile(folder, max_bytes=1 << 40)
    service.refresh()
    return service
