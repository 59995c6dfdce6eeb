"""ONNX Runtime backend for the bundled all-MiniLM-L6-v2: the same vectors as sentence-transformers,
without loading torch.

The model is exported to ONNX once, at first use, into a cache folder; the file name holds a hash of
the weights file (model.safetensors) and of the export settings, so a new model or a new export
recipe gets a new file and a stale one is never read. Only that export imports torch and
transformers; a process that finds the cached file needs onnxruntime, tokenizers and numpy.

Inference is what sentence-transformers does for this model (modules.json: Transformer,
Pooling(mean), Normalize): the model's own tokenizer.json, truncated at max_seq_length (256) and
padded per batch, mean pooling over the attention mask, then L2 normalisation. `precision="int8"`
runs a dynamically quantised copy (onnxruntime.quantization.quantize_dynamic, per-channel QInt8
weights) instead: faster, and close to but not exactly the same vectors.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import BUNDLED_MODEL_NAME, HFTokenizer, Tokenizer
from index.errors import IndexStoreError

PRECISIONS = ("fp32", "int8")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Part of the cache key: change any of these (or bump "format") and the model is exported anew.
EXPORT_SETTINGS: dict[str, Any] = {
    "format": 1,
    "exporter": "torch.onnx.export(dynamo=False)",
    "opset": 17,
    "attn_implementation": "eager",
    "inputs": list(INPUT_NAMES),
    "output": OUTPUT_NAME,
    "dynamic_axes": ["batch", "sequence"],
}
INT8_SETTINGS: dict[str, Any] = {
    "method": "quantize_dynamic",
    "per_channel": True,
    "weight_type": "QInt8",
    "reduce_range": False,
}
EXPORT_TOLERANCE = 1e-3  # max |ONNX - torch| on the hidden states of a padded check batch

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Where exported models go when no folder is given: the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-qa" / "models"


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxEmbedder:
    """An `Embedder` (index.embedding) running an ONNX export of a sentence-transformers model
    with mean pooling and normalisation (the bundled all-MiniLM-L6-v2) on onnxruntime.

    Nothing heavy happens in the constructor or for `dim`/`tokenizer`: the weights are hashed,
    the model exported if needed and the session created on the first `embed_*` call.
    """

    special_tokens = 2  # [CLS] and [SEP]

    def __init__(
        self,
        model_dir: Path,
        cache_dir: Path | None = None,
        *,
        precision: str = "fp32",
        batch_size: int = 32,
        name: str = BUNDLED_MODEL_NAME,
        threads: int | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.name = name  # the model's name, not the backend's: indexes are shared between backends
        self.model_dir = Path(model_dir)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.precision = precision
        self.batch_size = max(1, batch_size)
        self.threads = threads or available_cores()
        self._dim = _check_mean_pooled(self.model_dir)
        config = _read_json(self.model_dir / "sentence_bert_config.json")
        self.max_tokens = int(config.get("max_seq_length") or 256)
        self._slug = re.sub(r"[^\w.-]+", "_", name.rsplit("/", 1)[-1]) or "model"

    @property
    def dim(self) -> int:
        return self._dim

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return HFTokenizer.from_file(self.model_dir / "tokenizer.json")

    @cached_property
    def _encoder(self) -> Any:
        """The model's tokenizer as the model reads text: special tokens, truncation, no padding
        (batches are padded to their longest row here)."""
        from tokenizers import Tokenizer as HFBackend

        tok = HFBackend.from_file(str(self.model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_tokens)
        tok.no_padding()  # tokenizer.json pads every input to 128: not what sentence-transformers does
        return tok

    @cached_property
    def _pad_id(self) -> int:
        padding = _read_json(self.model_dir / "tokenizer.json").get("padding") or {}
        if "pad_id" in padding:
            return int(padding["pad_id"])
        pad = self._encoder.token_to_id("[PAD]")
        return int(pad) if pad is not None else 0

    @cached_property
    def model_path(self) -> Path:
        """The cached ONNX file for this model and precision, exported (and quantised) if missing."""
        return ensure_onnx_model(self.model_dir, self.cache_dir, self.precision, slug=self._slug)

    @cached_property
    def session(self) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise IndexStoreError("the ONNX embedding backend needs onnxruntime (pip install onnxruntime)") from e
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        path = self.model_path
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # a damaged cache file: export it again, once
            log.warning("cannot load cached ONNX model %s (%s); exporting it again", path, e)
            path.unlink(missing_ok=True)
            path = ensure_onnx_model(self.model_dir, self.cache_dir, self.precision, slug=self._slug)
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._encoder.encode_batch(texts)
        # Longest first, as sentence-transformers does, so each batch pads little; rows go back in place.
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        for start in starts:
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([encodings[i] for i in rows])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def _embed_batch(self, encodings: list[Any]) -> np.ndarray:
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
        hidden = self.session.run([OUTPUT_NAME], {name: arrays[name] for name in self._input_names})[0]
        return mean_pool_normalize(hidden, mask)


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize, on (batch, tokens, dim) hidden states."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32, copy=False) * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


# --- the cache -----------------------------------------------------------------------------------


def weights_file(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise IndexStoreError(f"no weights file ({' or '.join(WEIGHT_FILES)}) in {model_dir}")


def weights_digest(model_dir: Path) -> str:
    with open(weights_file(model_dir), "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cached_model_path(cache_dir: Path, slug: str, precision: str, weights: str) -> Path:
    """The file for these weights (their sha256) and the export (and quantisation) settings."""
    quantize = INT8_SETTINGS if precision == "int8" else None
    settings = {"weights": weights, "export": EXPORT_SETTINGS, "quantize": quantize}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir / f"{slug}-{precision}-{key}.onnx"


def ensure_onnx_model(model_dir: Path, cache_dir: Path, precision: str = "fp32", *, slug: str = "model") -> Path:
    """The cached ONNX file, exported (fp32) or quantised from the fp32 file (int8) when missing.

    Safe with several processes: one exports under a lock on the cache folder while the others
    wait, then find the file; files appear whole (written under a temporary name, then renamed).
    """
    weights = weights_digest(model_dir)
    path = cached_model_path(cache_dir, slug, precision, weights)
    if path.is_file():
        return path
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IndexStoreError(f"cannot create the model cache folder {cache_dir}: {e}") from e
    with _locked(cache_dir / ".export.lock"):
        return _make(model_dir, cache_dir, slug, precision, weights)


def _make(model_dir: Path, cache_dir: Path, slug: str, precision: str, weights: str) -> Path:
    path = cached_model_path(cache_dir, slug, precision, weights)
    if path.is_file():  # another process made it while we waited for the lock
        return path
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.onnx")
    try:
        if precision == "int8":
            _quantize_int8(_make(model_dir, cache_dir, slug, "fp32", weights), tmp)
        else:
            export_fp32(model_dir, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("exported %s (%s) to %s", model_dir, precision, path)
    return path


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def export_fp32(model_dir: Path, dest: Path) -> None:
    """torch.onnx.export of the transformers AutoModel (its last hidden state), with dynamic batch
    and sequence axes, then a check against torch on a padded batch of another shape."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise IndexStoreError(
            "exporting the embedding model to ONNX needs torch and transformers once "
            f"(then the cached file is used): {e}"
        ) from e
    hf_logging.disable_progress_bar()

    model = AutoModel.from_pretrained(
        str(model_dir), attn_implementation=EXPORT_SETTINGS["attn_implementation"], local_files_only=True
    )
    model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    def sample(batch: int, width: int) -> tuple[Any, Any, Any]:
        # Padded rows on purpose: a trace on an all-ones mask could leave the mask out.
        ids = torch.randint(1000, 20000, (batch, width), generator=torch.Generator().manual_seed(width))
        mask = torch.ones_like(ids)
        for row in range(1, batch):
            mask[row, width - row * 2 :] = 0
        return ids * mask, mask, torch.zeros_like(ids)

    wrapper = LastHiddenState(model).eval()
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(
            wrapper,
            sample(2, 8),
            str(dest),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=EXPORT_SETTINGS["opset"],
            do_constant_folding=True,
        )
        check = sample(3, 13)
        expected = wrapper(*check).numpy()

    import onnxruntime as ort

    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {n: t.numpy() for n, t in zip(INPUT_NAMES, check, strict=True)})[0]
    diff = float(np.abs(got - expected).max())
    if not diff <= EXPORT_TOLERANCE:
        raise IndexStoreError(f"the ONNX export of {model_dir} differs from torch by {diff:.2g}; not using it")


def _quantize_int8(source: Path, dest: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise IndexStoreError("int8 quantisation needs onnxruntime and onnx (pip install onnxruntime onnx)") from e
    hint = _DropMessages("pre-processing before quantization")  # logged on the root logger every time
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(
            str(source),
            str(dest),
            per_channel=INT8_SETTINGS["per_channel"],
            reduce_range=INT8_SETTINGS["reduce_range"],
            weight_type=QuantType.QInt8,
        )
    finally:
        logging.getLogger().removeFilter(hint)


class _DropMessages(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def _check_mean_pooled(model_dir: Path) -> int:
    """The embedding dimension, once the folder is known to be Transformer + Pooling(mean) [+ Normalize]:
    the only shape this backend reproduces."""
    modules = _read_json(model_dir / "modules.json")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules] if isinstance(modules, list) else []
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    shape_ok = kinds[:2] == ["Transformer", "Pooling"] and not set(kinds[2:]) - {"Normalize"}
    if not shape_ok or modes != {"pooling_mode_mean_tokens"}:
        raise IndexStoreError(
            f"the ONNX backend runs Transformer + mean Pooling + Normalize models only; {model_dir} has "
            f"{kinds or 'no modules.json'} with {sorted(modes)}"
        )
    return int(pooling["word_embedding_dimension"])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
