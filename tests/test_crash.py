"""Crash safety: SIGKILL `qa index` at random moments; the last commit must load and answer, and
the next run must finish with every article present exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.chunking import Chunker, ChunkerConfig
from index.embedders import HashingEmbedder
from index.errors import IndexNotFound
from index.loaders import load_corpus
from index.manifest import Manifest, read_manifest
from qa.config import Settings
from qa.service import QAService
from tests.conftest import live_rows

pytestmark = pytest.mark.slow

WORDS = [
    "market",
    "chip",
    "policy",
    "rate",
    "model",
    "court",
    "energy",
    "grid",
    "tariff",
    "cloud",
    "export",
    "vote",
    "bank",
    "launch",
    "fund",
    "price",
    "share",
    "robot",
    "data",
    "union",
]


def write_corpus(corpus: Path, n: int, seed: int, generation: int) -> None:
    rng = random.Random(seed)
    for i in range(n):
        sentences = [
            f"Story {i} revision {generation} sentence {j} covers " + " ".join(rng.choices(WORDS, k=12)) + "."
            for j in range(rng.randint(10, 40))
        ]
        text = "\n\n".join(" ".join(sentences[k : k + 5]) for k in range(0, len(sentences), 5))
        (corpus / f"a{i:04d}.md").write_text(f"---\ntitle: Story {i}\n---\n{text}\n", encoding="utf-8")


def start_index(corpus: Path, index_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QA_MODEL": "hash", "QA_BATCH_ARTICLES": "25"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qa.cli",
            "index",
            "--quiet",
            "--corpus",
            str(corpus),
            "--index-dir",
            str(index_dir),
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def live_chunk_ids(index_dir: Path, manifest: Manifest) -> dict[str, list[int]]:
    """Article id -> ids of its live chunks, over every segment of the commit."""
    live: dict[str, list[int]] = {}
    for row, _ in live_rows(index_dir, manifest):
        live.setdefault(row.article_id, []).append(row.id)
    return live


def check_commit_answers(settings: Settings) -> int:
    """The newest commit loads, answers, and has each article's chunks live exactly once."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexNotFound:
        return 0
    live = live_chunk_ids(settings.index_dir, manifest)
    assert set(live) == set(manifest.articles)
    ids = [cid for ids in live.values() for cid in ids]
    assert len(ids) == len(set(ids)), "a chunk is live twice"
    result = QAService(settings, HashingEmbedder()).search("market chip policy", 3)
    assert result.index_version == manifest.version and result.results
    return manifest.version


def check_complete(settings: Settings) -> None:
    """Every corpus article is indexed with exactly the chunks the chunker makes, nothing else."""
    embedder = HashingEmbedder()
    chunker = Chunker(embedder.tokenizer, ChunkerConfig(max_tokens=256, special_tokens=2, overlap=1), embedder.name)
    expected = {a.id: sorted(e.chunk.id for e in chunker.chunk(a)) for a in load_corpus(settings.corpus_dir).articles}
    manifest = read_manifest(settings.index_dir)
    live = live_chunk_ids(settings.index_dir, manifest)
    assert {k: sorted(v) for k, v in live.items()} == expected
    on_disk = {p.name for p in (settings.index_dir / "segments").iterdir()}
    assert on_disk == {s.name for s in manifest.segments}, "leftover segment files"


def test_sigkill_at_random_moments_never_corrupts_the_index(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, model="hash", _env_file=None)
    rng = random.Random(20261127)

    write_corpus(corpus, 300, seed=1, generation=0)
    t0 = time.monotonic()
    full = start_index(corpus, index_dir, "--rebuild")
    assert full.wait(timeout=120) == 0, full.stderr.read() if full.stderr else ""
    duration = time.monotonic() - t0
    check_complete(settings)

    kills = 0
    for generation in range(1, 7):
        # New work for each round: change most articles, add some, delete some; round 3 rebuilds.
        write_corpus(corpus, 300 + 10 * generation, seed=generation + 1, generation=generation)
        for path in sorted(corpus.iterdir())[: rng.randint(1, 10)]:
            path.unlink()
        proc = start_index(corpus, index_dir, *(["--rebuild"] if generation == 3 else []))
        time.sleep(duration * rng.uniform(0.35, 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        check_commit_answers(settings)
        finish = start_index(corpus, index_dir)
        assert finish.wait(timeout=120) == 0, finish.stderr.read() if finish.stderr else ""
        check_complete(settings)
        check_commit_answers(settings)
    assert kills >= 3, f"only {kills} runs were still going when killed (full run took {duration:.1f}s)"
