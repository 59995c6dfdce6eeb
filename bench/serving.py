"""What the benchmarks that run the real `qa` CLI share: its environment, the BBC index they serve,
and a `qa serve` process on a free port, ready when handed over."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BBC = REPO.parent / "shared" / "data" / "bbc_news" / "articles.jsonl"
QA = Path(sys.executable).with_name("qa")


def qa_env(*, keep_qa: bool = False, **settings: str) -> dict[str, str]:
    """This environment, offline, plus `settings` (e.g. QA_INDEX_DIR="…"); without its QA_*
    variables (the run measures the defaults) unless `keep_qa`."""
    env = {k: v for k, v in os.environ.items() if keep_qa or not k.startswith("QA_")}
    return env | {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"} | settings


def bbc_index(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """Index the BBC articles in workdir/index with `env` (only what changed since a previous run)
    and return `env` plus what serves it: QA_CORPUS_DIR, QA_INDEX_DIR and the byte limit the file
    needs."""
    settings = {
        "QA_CORPUS_DIR": str(workdir / "corpus"),
        "QA_INDEX_DIR": str(workdir / "index"),
        "QA_MAX_ARTICLE_BYTES": str(BBC.stat().st_size * 2),
    }
    (workdir / "corpus").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BBC, workdir / "corpus" / "articles.jsonl")  # the layout bench/index.py leaves
    t0 = time.perf_counter()
    built = subprocess.run([str(QA), "index", "--quiet"], env=env | settings, stderr=subprocess.PIPE, text=True)
    if built.returncode == 2 and "--rebuild" in built.stderr:  # built with another model before
        print("the work folder's index was built with another model: rebuilding it")
        subprocess.run([str(QA), "index", "--quiet", "--rebuild"], env=env | settings, check=True)
    elif built.returncode:
        raise SystemExit(f"qa index failed: {built.stderr.strip()}")
    print(f"index ready in {time.perf_counter() - t0:.1f} s (built once, then reused)")
    return env | settings


def bbc_bench_args(doc: str | None, requests_help: str) -> argparse.Namespace:
    """The options of a benchmark served over the BBC index: --workdir and --requests."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=REPO / ".qa-bench" / "bbc")
    p.add_argument("--requests", type=int, default=200, help=requests_help)
    return p.parse_args()


def bbc_served_env(workdir: Path) -> dict[str, str] | None:
    """The environment serving the BBC index of `workdir` (built there first if need be), with this
    environment's QA_* settings applied (e.g. QA_EMBED_BACKEND=onnx for fp32); None, after saying
    so, when the BBC data is absent."""
    if not BBC.is_file():
        print(f"BBC data not found at {BBC}: nothing to measure")
        return None
    return bbc_index(workdir, qa_env(keep_qa=True))


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    ready_s: float  # from start to the first 200 of GET /ready


@contextmanager
def served(env: dict[str, str], timeout: float = 300) -> Iterator[Server]:
    """A `qa serve` process with `env`, ready; stopped (SIGTERM) on exit."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen([str(QA), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"qa serve exited with code {process.returncode} before it was ready")
            if time.perf_counter() - started > timeout:
                raise SystemExit("qa serve was not ready in time")
            try:
                if httpx.get(url + "/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield Server(url, process, time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=60)
