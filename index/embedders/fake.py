"""A deterministic embedder for tests and smoke runs (`QA_MODEL=hash`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from index.embedders.protocol import Tokenizer
from index.embedders.tokenizers import WordTokenizer

HASH_MODEL_PREFIX = "hash"


class HashingEmbedder:
    """Deterministic bag-of-words vectors (feature hashing, signed, L2-normalised).

    Not semantic, but lexical overlap ranks sensibly, so tests can assert on rankings, and a
    few hundred articles index in well under a second.
    """

    max_tokens = 256
    special_tokens = 2

    def __init__(self, dim: int = 384) -> None:
        self.name = f"{HASH_MODEL_PREFIX}-{dim}"
        self._dim = dim
        self._tokenizer = WordTokenizer()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def variant(self) -> str:
        return "hashing"

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


def hashing_dim(model: str) -> int | None:
    """The dimension `hash[-DIM]` names, or None when `model` is not the hashing embedder."""
    if model != HASH_MODEL_PREFIX and not model.startswith(HASH_MODEL_PREFIX + "-"):
        return None
    dim = model.partition("-")[2]
    return int(dim) if dim.isdigit() else 384
