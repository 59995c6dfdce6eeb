"""Where one request's time goes: milliseconds per stage of the read core.

`/search` and `/ask` return them as `stages_ms` and as a `Server-Timing` header, and
`/metrics` keeps a histogram per stage, so a slow answer says which stage was slow.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# The stages in the order a request runs them: the question's embedding (and parsing), the two
# candidate lists, score fusion, the sentence rerankers (and the passage cross-encoder when on),
# and the answer stage's cross-encoder (/ask only).
STAGES = ("embed", "dense", "lexical", "fuse", "rerank", "answer")


class StageTimes:
    """Milliseconds per stage, summed when a stage runs twice (a time window that holds nothing
    runs retrieval again without it)."""

    def __init__(self) -> None:
        self._ms: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._ms[stage] = self._ms.get(stage, 0.0) + (time.perf_counter() - t0) * 1000

    def ms(self) -> dict[str, float]:
        """The stages that ran, in running order, rounded to hundredths of a millisecond."""
        order = {name: i for i, name in enumerate(STAGES)}
        ranked = sorted(self._ms.items(), key=lambda item: order.get(item[0], len(order)))
        return {name: round(ms, 2) for name, ms in ranked}
