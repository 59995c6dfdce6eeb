"""Progress of an ingest: articles done, chunks made, chunks/s and workers, as a bar on a terminal
and a log line at the end."""

from __future__ import annotations

import logging
import time
from typing import Any

from index.ingest import Ingest

log = logging.getLogger(__name__)


class IngestProgress:
    """Articles done, chunks made, chunks/s and workers: a bar on a terminal, a log line at the end."""

    def __init__(self, articles: int, ingest: Ingest, *, bar: bool) -> None:
        self.articles = articles
        self.ingest = ingest  # its worker count is known once it has started
        self.chunks = 0
        self.started = time.perf_counter()
        self.bar: Any = None
        if bar and articles:
            from tqdm import tqdm

            self.bar = tqdm(total=articles, unit="article", desc="indexing", dynamic_ncols=True)

    def update(self, articles: int, chunks: int) -> None:
        self.chunks += chunks
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.chunks} chunks, {self.rate:.1f} chunks/s, {self.worker_count}")
            self.bar.update(articles)

    @property
    def worker_count(self) -> str:
        n = self.ingest.workers
        return f"{n} worker{'' if n == 1 else 's'}"

    @property
    def rate(self) -> float:
        return self.chunks / max(time.perf_counter() - self.started, 1e-9)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.articles:
            log.info(
                "chunked and embedded %d articles into %d chunks in %.1f s (%.1f chunks/s, %s)",
                self.articles,
                self.chunks,
                time.perf_counter() - self.started,
                self.rate,
                self.worker_count,
            )
