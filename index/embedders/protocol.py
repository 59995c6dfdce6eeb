"""What the write side and the read side need of an embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Tokenizer(Protocol):
    """Counts the word pieces the model reads (special tokens excluded)."""

    def count(self, texts: Sequence[str]) -> list[int]: ...

    def token_ends(self, text: str) -> list[int]:
        """The end character offset of each token of `text`."""
        ...


class Embedder(Protocol):
    name: str  # recorded in the manifest; an index is only read with the same name and dim
    max_tokens: int  # what the model reads, special tokens included
    special_tokens: int  # added around every input ([CLS], [SEP])

    @property
    def dim(self) -> int: ...

    @property
    def variant(self) -> str:
        """How the model runs (backend, precision): the same model run another way gives slightly
        different vectors, so caches key on `name` and `variant`."""
        ...

    @property
    def tokenizer(self) -> Tokenizer: ...

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions, as the model wants them (some models prefix an instruction)."""
        ...

    def embed_query(self, text: str) -> np.ndarray: ...
