"""Exporting a sentence-transformers model to ONNX once, and caching the file.

The file name holds a hash of the weights file (model.safetensors) and of the export settings, so
a new model or a new export recipe gets a new file and a stale one is never read. Only the export
imports torch and transformers; `precision="int8"` quantises the fp32 export dynamically
(onnxruntime.quantization.quantize_dynamic, per-channel QInt8 weights).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import DiskFull, IndexStoreError
from index.fsutil import locked, out_of_space, read_json

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
    # 7-bit weights: x86 CPUs without VNNI (AVX2 only) saturate 8-bit u8s8 products, which cost
    # all-MiniLM-L6-v2 a cosine to fp32 of 0.962 on one text (AMD EPYC, AVX2); with it, 0.976.
    "reduce_range": True,
}
EXPORT_TOLERANCE = 1e-3  # max |ONNX - torch| on the hidden states of a padded check batch

log = logging.getLogger(__name__)


def weights_file(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise IndexStoreError(f"no weights file ({' or '.join(WEIGHT_FILES)}) in {model_dir}")


def weights_digest(model_dir: Path) -> str:
    with open(weights_file(model_dir), "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def export_settings(precision: str) -> dict[str, Any]:
    """How a model is exported (and quantised) at this precision."""
    return {"export": EXPORT_SETTINGS, "quantize": INT8_SETTINGS if precision == "int8" else None}


def settings_key(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def cached_model_path(cache_dir: Path, slug: str, precision: str, weights: str) -> Path:
    """The file for these weights (their sha256) and the export (and quantisation) settings."""
    return cache_dir / f"{slug}-{precision}-{settings_key({'weights': weights} | export_settings(precision))}.onnx"


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
    with locked(cache_dir / ".export.lock"):
        for stale in cache_dir.glob(".*.tmp-*.onnx"):  # of an export that was killed: none runs now
            stale.unlink(missing_ok=True)
        try:
            return _make(model_dir, cache_dir, slug, precision, weights)
        except OSError as e:
            if not out_of_space(e, cache_dir):
                raise
            raise DiskFull(
                f"no space left on the device of {cache_dir} to export the embedding model ({e.strerror or e}); "
                "free some space and run again (the index is untouched)"
            ) from e


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


def export_fp32(model_dir: Path, dest: Path) -> None:
    """torch.onnx.export of the transformers AutoModel (its last hidden state), with dynamic batch
    and sequence axes, then a check against torch on a padded batch of another shape."""
    torch, wrapper = _last_hidden_state(model_dir)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(
            wrapper,
            _sample(torch, 2, 8),
            str(dest),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=EXPORT_SETTINGS["opset"],
            do_constant_folding=True,
        )
        check = _sample(torch, 3, 13)
        expected = wrapper(*check).numpy()

    import onnxruntime as ort

    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {n: t.numpy() for n, t in zip(INPUT_NAMES, check, strict=True)})[0]
    diff = float(np.abs(got - expected).max())
    if not diff <= EXPORT_TOLERANCE:
        raise IndexStoreError(f"the ONNX export of {model_dir} differs from torch by {diff:.2g}; not using it")


def _last_hidden_state(model_dir: Path) -> tuple[Any, Any]:
    """torch, and the model wrapped to take the three inputs and give its last hidden state."""
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

    return torch, LastHiddenState(model).eval()


def _sample(torch: Any, batch: int, width: int) -> tuple[Any, Any, Any]:
    """Random inputs with padded rows on purpose: a trace on an all-ones mask could leave the mask out."""
    ids = torch.randint(1000, 20000, (batch, width), generator=torch.Generator().manual_seed(width))
    mask = torch.ones_like(ids)
    for row in range(1, batch):
        mask[row, width - row * 2 :] = 0
    return ids * mask, mask, torch.zeros_like(ids)


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


def check_mean_pooled(model_dir: Path) -> int:
    """The embedding dimension, once the folder is known to be Transformer + Pooling(mean) [+ Normalize]:
    the only shape this backend reproduces."""
    modules = read_json(model_dir / "modules.json", [])
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules] if isinstance(modules, list) else []
    pooling = read_json(model_dir / "1_Pooling" / "config.json")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    shape_ok = kinds[:2] == ["Transformer", "Pooling"] and not set(kinds[2:]) - {"Normalize"}
    if not shape_ok or modes != {"pooling_mode_mean_tokens"}:
        raise IndexStoreError(
            f"the ONNX backend runs Transformer + mean Pooling + Normalize models only; {model_dir} has "
            f"{kinds or 'no modules.json'} with {sorted(modes)}"
        )
    return int(pooling["word_embedding_dimension"])
