"""The ONNX backend of the bundled model: the same vectors as sentence-transformers (fp32), close
ones (int8), exported once into a cache folder that later processes read without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embedders import BUNDLED_MODEL_NAME, EmbedderConfig, HashingEmbedder, onnx_export
from index.embedders.onnx_runtime import OnnxEmbedder
from index.embedders.sentence_transformers import SentenceTransformerEmbedder, bundled_model_path
from index.errors import IndexStoreError

REPO = Path(__file__).resolve().parents[1]

LONG = " ".join(
    f"Paragraph {i}: the central bank held interest rates at 4.5% while inflation eased to 2.3%, "
    "and ministers argued about the budget, the deficit and the cost of borrowing."
    for i in range(25)
)  # ~800 word pieces: truncated at 256
TEXTS = [
    "Chip tariffs",
    "How much revenue did Nvidia forecast for the next quarter?",
    "",
    "   leading and trailing spaces   ",
    "a",
    "Zürich, Genève and São Paulo: café prices rose 12 % — naïve forecasts failed.",
    "東京の株式市場は上昇した。日経平均は3%高。",
    "Η κεντρική τράπεζα αύξησε τα επιτόκια.",
    "البنك المركزي يرفع أسعار الفائدة",
    "Markets 📈 rallied 🚀 after the announcement 🎉",
    "THE FEDERAL RESERVE RAISED RATES BY 25 BASIS POINTS",
    "£1.13bn ($1.5bn) profit, up 76% year-on-year; shares +4.2%.",
    "Line one\nline two\n\n\ttabbed line three",
    "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for the three months "
    "to December, from $639m year-earlier. The firm, which is now one of the biggest investors in Google, "
    "benefited from sales of high-speed internet connections and higher advert sales.",
    "The Anthropic delegation met White House officials to discuss the safety testing of its next model.",
    LONG,
    LONG[:900],
    "word " * 300,
    "Data centres could use 9% of US electricity by 2030, according to the report.",
    "Who led the funding round?",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fp32(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(bundled_model_path(), cache)


@pytest.fixture(scope="module")
def int8(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(bundled_model_path(), cache, precision="int8")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder(BUNDLED_MODEL_NAME, bundled_model_path()).embed_documents(TEXTS)


@pytest.fixture(scope="module")
def fp32_vectors(fp32: OnnxEmbedder) -> np.ndarray:
    return fp32.embed_documents(TEXTS)


def run_python(code: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_fp32_gives_the_sentence_transformers_vectors(fp32: OnnxEmbedder, fp32_vectors, reference) -> None:
    assert max(fp32.tokenizer.count(TEXTS)) > 2 * fp32.max_tokens  # truncation is exercised
    cosines = (fp32_vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, dict(zip(TEXTS, cosines.round(6).tolist(), strict=True))


@pytest.mark.slow
def test_int8_is_close(int8: OnnxEmbedder, reference) -> None:
    cosines = (int8.embed_documents(TEXTS) * reference).sum(axis=1)
    assert cosines.min() >= 0.97 and cosines.mean() >= 0.98, cosines.round(4).tolist()


@pytest.mark.slow
def test_outputs_are_normalised_float32_rows(fp32: OnnxEmbedder, int8: OnnxEmbedder, fp32_vectors) -> None:
    for vectors in (fp32_vectors, int8.embed_documents(TEXTS)):
        assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = fp32.embed_query("chip tariffs")
    assert query.shape == (384,) and query.dtype == np.float32


@pytest.mark.slow
def test_order_is_kept_across_sorted_batches(cache: Path, fp32_vectors) -> None:
    small_batches = OnnxEmbedder(bundled_model_path(), cache, batch_size=3)  # sorting spans 7 batches
    shuffled = np.random.default_rng(0).permutation(len(TEXTS))
    vectors = small_batches.embed_documents([TEXTS[i] for i in shuffled])
    np.testing.assert_allclose(vectors, fp32_vectors[shuffled], atol=1e-5)
    one_by_one = np.stack([small_batches.embed_query(TEXTS[i]) for i in shuffled])
    np.testing.assert_allclose(one_by_one, vectors, atol=1e-5)


@pytest.mark.slow
def test_empty_input(fp32: OnnxEmbedder, int8: OnnxEmbedder) -> None:
    for embedder in (fp32, int8):
        vectors = embedder.embed_documents([])
        assert vectors.shape == (0, 384) and vectors.dtype == np.float32


@pytest.mark.slow
def test_cached_model_is_reused_without_torch(cache: Path, fp32: OnnxEmbedder, int8: OnnxEmbedder, fp32_vectors):
    int8.embed_query("warm")  # both files exist
    files = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.onnx")}
    assert len(files) == 2 and fp32.model_path.name in files and int8.model_path.name in files
    got = run_python(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from pathlib import Path\n"
        "from index.embedders import EmbedderConfig\n"
        f"e = EmbedderConfig('minilm', 'onnx', 16, Path({str(cache)!r})).load()\n"
        f"q = EmbedderConfig('minilm', 'onnx-int8', 16, Path({str(cache)!r})).load()\n"
        f"v = e.embed_documents({TEXTS[:3]!r})\n"
        "q.embed_query('warm')\n"
        "print(json.dumps({'vectors': v.tolist(), 'name': e.name,\n"
        "    'loaded': [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]}))\n"
    )
    assert got["loaded"] == []
    assert got["name"] == BUNDLED_MODEL_NAME
    np.testing.assert_allclose(np.array(got["vectors"]), fp32_vectors[:3], atol=1e-5)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.onnx")} == files  # nothing exported again


def test_constructing_and_chunking_do_not_import_torch(tmp_path: Path) -> None:
    got = run_python(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from index.embedders import EmbedderConfig\n"
        f"e = EmbedderConfig('minilm', 'onnx-int8', cache_dir=Path({str(tmp_path)!r})).load()\n"
        "n = e.tokenizer.count(['Chip tariffs rose.'])\n"
        "print(json.dumps({'dim': e.dim, 'max': e.max_tokens, 'n': n, 'name': e.name,\n"
        "    'loaded': [m for m in ('torch', 'transformers', 'sentence_transformers', 'onnxruntime')\n"
        "               if m in sys.modules]}))\n"
    )
    assert got == {"dim": 384, "max": 256, "n": [4], "name": BUNDLED_MODEL_NAME, "loaded": []}
    assert list(tmp_path.iterdir()) == []  # nothing exported before the first embedding


@pytest.mark.slow
def test_a_damaged_cache_file_is_made_again(tmp_path: Path, cache: Path, int8: OnnxEmbedder) -> None:
    int8.embed_query("warm")
    for p in cache.glob("*.onnx"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / int8.model_path.name).write_bytes(b"not an onnx model")  # e.g. a torn write
    again = OnnxEmbedder(bundled_model_path(), tmp_path, precision="int8")
    np.testing.assert_allclose(again.embed_query("chip tariffs"), int8.embed_query("chip tariffs"), atol=1e-6)
    assert (tmp_path / int8.model_path.name).stat().st_size > 1_000_000


def test_embedder_config_backends(tmp_path: Path) -> None:
    torch = EmbedderConfig("minilm", "torch").load()
    assert isinstance(torch, SentenceTransformerEmbedder) and torch.variant == "torch"
    onnx = EmbedderConfig("minilm", "onnx", 8, tmp_path).load()
    assert isinstance(onnx, OnnxEmbedder) and onnx.precision == "fp32" and onnx.batch_size == 8
    assert onnx.cache_dir == tmp_path and onnx.name == torch.name == BUNDLED_MODEL_NAME
    assert (onnx.dim, onnx.max_tokens, onnx.special_tokens) == (torch.dim, torch.max_tokens, 2)
    int8 = EmbedderConfig("bundled", cache_dir=tmp_path).load()  # the default backend
    assert isinstance(int8, OnnxEmbedder) and int8.precision == "int8" and int8.variant.startswith("onnx-int8-")
    assert onnx.variant.startswith("onnx-fp32-") and onnx.variant != int8.variant
    # ONNX is for the bundled model only: other models keep their reference implementation
    assert isinstance(EmbedderConfig("hash", "onnx").load(), HashingEmbedder)
    folder = EmbedderConfig(str(bundled_model_path()), "onnx").load()
    assert isinstance(folder, SentenceTransformerEmbedder)
    with pytest.raises(IndexStoreError, match="unknown embedding backend"):
        EmbedderConfig("minilm", "tensorflow").load()
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_model_it_would_pool_wrongly(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [{"type": "sentence_transformers.models.Transformer"}, {"type": "sentence_transformers.models.Pooling"}]
        )
    )
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True})
    )
    with pytest.raises(IndexStoreError, match="mean Pooling"):
        OnnxEmbedder(tmp_path, tmp_path / "cache")


def test_the_variant_names_the_export_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Cached vectors are keyed by name and variant: an export made another way (8-bit weights
    # before 7-bit ones) must not hand its vectors to this one.
    int8 = EmbedderConfig("bundled", cache_dir=tmp_path).load()
    before = int8.variant
    monkeypatch.setitem(onnx_export.INT8_SETTINGS, "reduce_range", not onnx_export.INT8_SETTINGS["reduce_range"])
    assert int8.variant != before
    monkeypatch.undo()
    assert int8.variant == before
