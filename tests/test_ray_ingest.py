"""Ingest on a local Ray cluster (`qa index --ray`): the same index as a local run, a worker
killed in the middle of a task retried without a duplicate or a missing chunk, and a driver
killed before its commit leaving the previous commit serving."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.chunking import ChunkerConfig
from index.config import open_writer
from index.embedders import EmbedderConfig, HashingEmbedder
from index.manifest import read_manifest
from index.writer import IndexWriter
from qa.cli import main
from qa.config import Settings
from qa.service import QAService
from tests.conftest import QA_CLI, SAMPLE_CORPUS, live_rows, qa_env

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]' (make test installs it)")

from index.ray_ingest import RayIngest  # noqa: E402  (after the skip: it is only usable with Ray)

pytestmark = pytest.mark.slow

WORDS = (
    "council budget river bridge school teachers election turnout storm rainfall harvest wheat "
    "factory workers strike museum painting festival orchestra hospital nurses vaccine railway "
    "signal delays airport runway tariff exports satellite launch league final striker goal"
).split()

QUERIES = [
    "Is the company that makes Claude negotiating with the White House?",
    "How much power will data centres need?",
    "railway signal delays",
    "striker scored in the league final",
]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One local Ray instance (2 CPUs) for the module; RayIngest joins it instead of starting one."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def build_corpus(folder: Path, generated: int, seed: int = 7) -> Path:
    """The sample corpus plus `generated` short articles of random words."""
    shutil.copytree(SAMPLE_CORPUS, folder)
    rng = random.Random(seed)
    for i in range(generated):
        sentences = [f"Report {i} part {j} on " + " ".join(rng.choices(WORDS, k=10)) + "." for j in range(3)]
        (folder / "generated" / f"g{i:04d}.md").parent.mkdir(exist_ok=True)
        (folder / "generated" / f"g{i:04d}.md").write_text(
            f"---\ntitle: Report {i}\nsource: Generated\n---\n{' '.join(sentences)}\n", encoding="utf-8"
        )
    return folder


def live_chunks(index_dir: Path) -> dict[int, tuple[tuple[object, ...], np.ndarray]]:
    """Every live chunk of the newest commit: id -> ((article, ordinal, start, end, text, hash), vector)."""
    out: dict[int, tuple[tuple[object, ...], np.ndarray]] = {}
    for r, vector in live_rows(index_dir):
        assert r.id not in out, f"chunk {r.id} is live twice"
        out[r.id] = ((r.article_id, r.ordinal, r.start, r.end, r.text, r.embed_hash), vector)
    return out


def assert_same_index(a: Path, b: Path, atol: float) -> None:
    rows_a, rows_b = live_chunks(a), live_chunks(b)
    assert rows_a.keys() == rows_b.keys()
    for chunk_id, (meta, vector) in rows_a.items():
        assert rows_b[chunk_id][0] == meta
        np.testing.assert_allclose(rows_b[chunk_id][1], vector, atol=atol)
    hashes = [{k: v.hash for k, v in read_manifest(d).articles.items()} for d in (a, b)]
    assert hashes[0] == hashes[1]


def search_json(settings: Settings, query: str) -> list[dict[str, object]]:
    """The results of `qa search --json`, scores rounded to what float noise leaves alone."""
    results = QAService(settings).search(query, top_k=5).model_dump()["results"]
    return [r | {"score": round(r["score"], 4)} for r in results]


def test_ray_index_equals_a_local_run_with_the_real_model(tmp_path: Path, ray_cluster: None) -> None:
    corpus = build_corpus(tmp_path / "corpus", generated=200)
    # fp32 MiniLM: int8 vectors depend on what else is in the batch, and Ray batches differ
    common = {"corpus_dir": corpus, "model": "minilm", "embed_backend": "onnx", "model_cache_dir": tmp_path / "models"}
    local = Settings(index_dir=tmp_path / "local", **common)
    on_ray = Settings(index_dir=tmp_path / "ray", batch_articles=64, ray_workers=2, **common)

    embedder = EmbedderConfig("minilm", "onnx", cache_dir=tmp_path / "models").load()
    open_writer(local, embedder).reconcile(corpus)
    # Through the CLI, as an operator runs it: `qa index --ray local` joins the running instance.
    env = {"QA_INDEX_DIR": str(on_ray.index_dir), "QA_CORPUS_DIR": str(corpus), "QA_BATCH_ARTICLES": "64"}
    env |= {"QA_EMBED_BACKEND": "onnx", "QA_MODEL_CACHE_DIR": str(tmp_path / "models"), "QA_MODEL": "minilm"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        assert main(["index", "--quiet", "--ray", "local", "--ray-workers", "2"]) == 0

    assert len(read_manifest(on_ray.index_dir).segments) > 1  # several batches, several tasks each
    assert_same_index(local.index_dir, on_ray.index_dir, atol=1e-5)
    for query in QUERIES:
        assert search_json(local, query) == search_json(on_ray, query), query


def test_incremental_ray_run_embeds_only_what_changed(tmp_path: Path, ray_cluster: None) -> None:
    corpus = build_corpus(tmp_path / "corpus", generated=60)
    embedder = HashingEmbedder()
    ingest = RayIngest("local", HashingEmbedder, ChunkerConfig(), workers=2)
    writer = IndexWriter(tmp_path / "ray", embedder, ChunkerConfig(), batch_articles=25, ingest=ingest)
    first = writer.reconcile(corpus)
    assert first.chunks_embedded > 0

    (corpus / "generated" / "g0003.md").write_text("---\ntitle: Report 3\n---\nA new text.\n", encoding="utf-8")
    (corpus / "generated" / "g0004.md").unlink()
    second = writer.reconcile(corpus)
    writer.close()
    assert [a.id for a in second.plan.changed] == ["generated/g0003"] and second.plan.deleted == ["generated/g0004"]
    assert second.chunks_embedded == 1

    local = IndexWriter(tmp_path / "local", embedder, ChunkerConfig(), batch_articles=25)
    local.reconcile(corpus)
    assert_same_index(tmp_path / "local", tmp_path / "ray", atol=0)


class DiesOnceEmbedder(HashingEmbedder):
    """Kills its own process (SIGKILL) in the middle of its first task, once across restarts."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def embed_documents(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
        if not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().embed_documents(texts, progress=progress)

    def embed_query(self, text):  # type: ignore[no-untyped-def]
        return super().embed_documents([text])[0]  # the warm-up at start does not die


def test_a_worker_killed_mid_task_is_retried_without_duplicates_or_gaps(tmp_path: Path, ray_cluster: None) -> None:
    import functools

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    corpus = build_corpus(tmp_path / "corpus", generated=120)
    marker = tmp_path / "died"
    ingest = RayIngest("local", functools.partial(DiesOnceEmbedder, str(marker)), ChunkerConfig(), workers=2)
    writer = IndexWriter(tmp_path / "ray", HashingEmbedder(), ChunkerConfig(), batch_articles=50, ingest=ingest)
    result = writer.reconcile(corpus)
    writer.close()

    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker process really died
    assert result.index_version == 3 and len(result.plan.added) == 134
    IndexWriter(tmp_path / "local", HashingEmbedder(), ChunkerConfig(), batch_articles=50).reconcile(corpus)
    assert_same_index(tmp_path / "local", tmp_path / "ray", atol=0)  # (live_chunks checks: no chunk twice)


def test_a_driver_killed_before_its_commit_leaves_the_previous_commit_serving(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path / "corpus", generated=400)
    index_dir = tmp_path / "index"
    env = qa_env(QA_BATCH_ARTICLES="30", QA_RAY_WORKERS="2")
    cmd = [*QA_CLI, "index", "--quiet", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    subprocess.run(cmd, env=env, check=True, timeout=120, capture_output=True)
    before = read_manifest(index_dir)

    # A rebuild commits once, at the end: kill the driver once its first new segment is on disk.
    driver = subprocess.Popen(
        [*cmd, "--rebuild", "--ray", "local"], env=env, start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 90
        old = {s.name for s in before.segments}
        while not {p.name for p in (index_dir / "segments").iterdir()} - old:
            assert driver.poll() is None, driver.stderr.read().decode() if driver.stderr else ""
            assert time.monotonic() < deadline, "no segment was written within 90 s"
            time.sleep(0.02)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray instance it started
        driver.wait(timeout=30)

    after = read_manifest(index_dir)
    assert after.version == before.version and after.segments == before.segments
    settings = Settings(index_dir=index_dir, corpus_dir=corpus, model="hash")
    assert search_json(settings, "railway signal delays")  # the previous commit still answers

    subprocess.run([*cmd, "--wait"], env=env, check=True, timeout=120, capture_output=True)
    assert read_manifest(index_dir).version == before.version  # nothing changed: nothing committed
    leftovers = {p.name for p in (index_dir / "segments").iterdir()} - {s.name for s in after.segments}
    assert not leftovers, f"segments of the killed run were not cleaned up: {leftovers}"


class BrokenModel(HashingEmbedder):
    """A model that cannot be loaded on the workers (a missing file, say)."""

    def __init__(self) -> None:
        raise OSError("model file not found on this node")


def test_a_worker_that_cannot_start_is_a_clear_error_and_nothing_is_committed(
    tmp_path: Path, ray_cluster: None
) -> None:
    from index.errors import IndexStoreError

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    corpus = build_corpus(tmp_path / "corpus", generated=5)
    ingest = RayIngest("local", BrokenModel, ChunkerConfig(), workers=1)
    writer = IndexWriter(tmp_path / "ray", HashingEmbedder(), ChunkerConfig(), ingest=ingest)
    with pytest.raises(IndexStoreError, match=r"Ray ingest failed.*model file not found"):
        writer.reconcile(corpus)
    writer.close()
    assert not (tmp_path / "ray" / "manifest.json").exists()
