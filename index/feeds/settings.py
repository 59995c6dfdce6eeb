"""Settings of feeds and fetching (prefix QA_); part of the service's settings (`qa.config`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from index.config import ENV
from index.feeds.config import feeds_path
from index.feeds.fetch import FetchConfig

_DEFAULTS = FetchConfig()


class FeedSettings(BaseSettings):
    model_config = ENV

    feeds_file: Path | None = Field(
        None, description="The feeds file (TOML, [[feed]] tables); empty: feeds.toml beside the corpus folder"
    )
    feeds_poll: bool = Field(
        True, description="Under `qa serve`, poll the feeds of the feeds file in the background (when it has any)"
    )
    fetch_allow_private: bool = Field(
        _DEFAULTS.allow_private,
        description="Fetch from loopback, private, link-local and other non-public addresses too (tests, intranets)",
    )
    fetch_timeout: float = Field(_DEFAULTS.timeout, gt=0, description="Seconds to connect, and between two reads")
    fetch_deadline: float = Field(_DEFAULTS.deadline, gt=0, description="Seconds a whole response may take")
    fetch_max_bytes: int = Field(
        _DEFAULTS.max_bytes, gt=0, description="Largest feed or page body read; the reading stops past it"
    )
    fetch_max_redirects: int = Field(_DEFAULTS.max_redirects, ge=0, le=20, description="Redirects followed")
    fetch_concurrency: int = Field(_DEFAULTS.concurrency, ge=1, le=32, description="Requests in flight at most")
    fetch_user_agent: str = Field(
        _DEFAULTS.user_agent, min_length=1, description="User-Agent of every fetch; add a contact URL or address"
    )

    def fetch_config(self) -> FetchConfig:
        return FetchConfig(
            allow_private=self.fetch_allow_private,
            timeout=self.fetch_timeout,
            deadline=self.fetch_deadline,
            max_bytes=self.fetch_max_bytes,
            max_redirects=self.fetch_max_redirects,
            concurrency=self.fetch_concurrency,
            user_agent=self.fetch_user_agent,
        )

    def feeds_path(self, corpus_dir: Path) -> Path:
        return feeds_path(self.feeds_file, corpus_dir)
