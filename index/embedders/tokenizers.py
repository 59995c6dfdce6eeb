"""Tokenizers that count what a model reads: a Hugging Face `tokenizers` file, or plain words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class HFTokenizer:
    """A Hugging Face `tokenizers` tokenizer, without special tokens or truncation."""

    def __init__(self, backend: Any) -> None:
        self._tok = backend
        self._tok.no_truncation()
        self._tok.no_padding()

    @classmethod
    def from_file(cls, path: Path) -> HFTokenizer:
        from tokenizers import Tokenizer as HFBackend

        return cls(HFBackend.from_file(str(path)))

    def count(self, texts: Sequence[str]) -> list[int]:
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def token_ends(self, text: str) -> list[int]:
        return [end for _, end in self._tok.encode(text, add_special_tokens=False).offsets]


class WordTokenizer:
    """Words and punctuation marks as tokens: the hashing embedder's tokenizer."""

    _TOKEN = re.compile(r"\w+|[^\w\s]")

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(self._TOKEN.findall(t)) for t in texts]

    def token_ends(self, text: str) -> list[int]:
        return [m.end() for m in self._TOKEN.finditer(text)]
