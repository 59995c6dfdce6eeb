from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from index.embedding import HashingEmbedder
from qa.config import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "corpus"
SHARED_DATA = REPO.parent / "shared" / "data"

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"evaluation data not found at {SHARED_DATA} (present in CI beside the checkout)",
)

WriteArticle = Callable[..., Path]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", model="hash", _env_file=None)


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def write_article(corpus_dir: Path) -> WriteArticle:
    """Write a Markdown article with front matter; returns its path."""

    def write(rel: str, text: str, title: str | None = None, **meta: str) -> Path:
        path = corpus_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        front = {"title": title or rel.rsplit("/", 1)[-1].split(".")[0].replace("-", " ").title(), **meta}
        lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in front.items()), "---", "", text]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
