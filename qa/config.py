"""All settings of a running service (prefix QA_, and a .env file): the write side's
(`index.config.IndexSettings`), feeds and fetching (`index.feeds.settings.FeedSettings`), the
read core's (`qa.search.settings.SearchSettings`) and the service's own below. Each default is
defined once, beside the code that uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from index.config import ENV, IndexSettings
from index.feeds.settings import FeedSettings
from qa.search.ann import AnnParams
from qa.search.settings import SearchSettings

CROSS_ENCODER_THRESHOLD = 4.0  # calibrated on SQuAD and datasets/news_qa: README, "Answers"
EMBEDDING_THRESHOLD = 0.575  # calibrated on SQuAD for all-MiniLM-L6-v2 (bench/calibrate_answer.py)


class Settings(SearchSettings, IndexSettings, FeedSettings):
    model_config = ENV

    max_query_chars: int = Field(1000, gt=0, description="Longer questions and queries are refused")
    answer_scorer: Literal["cross-encoder", "embedding"] = Field(
        "cross-encoder",
        description="How answer sentences are chosen: the cross-encoder reads the question with each "
        "candidate; 'embedding': cosine of sentence and question embeddings",
    )
    answer_threshold: float | None = Field(
        None,
        description="Best sentence score below which /ask says nothing answers the question; empty: the "
        "scorer's calibrated value",
    )
    answer_pairs: int = Field(16, ge=1, le=100, description="Candidate sentences the cross-encoder reads")

    api_keys: str = Field("", description="Comma-separated keys for the admin routes; empty: admin off")
    read_keys: str = Field(
        "",
        description="Comma-separated keys the read routes (/search, /ask, GET /articles, /mcp) need, as do admin "
        "keys; empty: the read routes are open",
    )
    watch: bool = Field(False, description="Under `qa serve`, re-index when the corpus folder changes")
    reload_interval: float = Field(0.5, gt=0, description="Seconds between checks for a new commit")
    header_timeout: float = Field(10.0, gt=0, description="Seconds a connection may take to send its request headers")
    body_timeout: float = Field(30.0, gt=0, description="Seconds a request body may stall between two pieces")
    keep_alive_s: float = Field(5.0, gt=0, description="Seconds an idle keep-alive connection is kept open")
    max_connections: int = Field(200, gt=0, description="Connections served at once; beyond that, 503")
    watch_debounce_ms: int = Field(1500, gt=0, description="Quiet time before `qa watch` re-indexes")

    def ann_params(self) -> AnnParams:
        """How large segments are searched."""
        return AnnParams(
            min_rows=self.ann_min_rows,
            nprobe=self.ann_nprobe,
            rerank=self.ann_rerank,
            exact_fraction=self.ann_exact_fraction,
        )

    @property
    def feeds(self) -> Path:
        """The feeds file: QA_FEEDS_FILE, or feeds.toml beside the corpus folder."""
        return self.feeds_path(self.corpus_dir)

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def read_key_list(self) -> list[str]:
        """Keys that open the read routes (admin keys do too); empty when they are open."""
        keys = [k.strip() for k in self.read_keys.split(",") if k.strip()]
        return [*keys, *self.api_key_list] if keys else []

    @property
    def max_body_bytes(self) -> int:
        """Request bodies: one article at the size limit, plus room for its JSON."""
        return self.max_article_bytes + 64 * 1024
