"""The adversarial pass, rerun: a bounded reliability run against a real `qa serve` on loopback.

1. malformed and oversized bodies on every framing (Content-Length, chunked, both, none), bad
   JSON, wrong types, control and invisible characters, lone surrogates: every answer must be a
   4xx with a reason, never a 5xx;
2. slow clients: connections that send headers or a body a byte at a time must be answered 408
   and closed within the time-outs;
3. concurrent reads during writes: searches and asks while articles are added and deleted over
   the admin API, each citation checked (`text[start:end] == quote`);
4. SIGKILLs during `qa index`: the index must load after every kill, with no chunk twice;
5. a full disk: `qa index` onto a small tmpfs (mounted here when the machine allows it; skipped
   with the reason otherwise) must fail with one `qa:` line, keep the last commit, and leave no
   temporary files;
then it counts temporary files left anywhere. The hashing embedder keeps it fast; nothing here
depends on the model.

    .venv/bin/python bench/reliability.py [--requests 600] [--kills 8] [--slow 40]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

import httpx

from bench.serving import QA, qa_env, served

KEY = "reliability-key"
WORDS = "rates bank chips ports strike storm vote court deal market energy rail".split()


def corpus(folder: Path, n: int, seed: int = 0) -> dict[str, str]:
    rng = random.Random(seed)
    texts = {}
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        text = " ".join(f"Report {i} sentence {j} on {' '.join(rng.choices(WORDS, k=8))}." for j in range(6))
        (folder / f"a{i:04d}.md").write_text(f"---\ntitle: Report {i}\nsource: Bench\n---\n{text}\n", encoding="utf-8")
        texts[f"a{i:04d}"] = text
    return texts


def raw(url: str, data: bytes, wait: float = 10.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as conn:
        with contextlib.suppress(OSError):
            conn.sendall(data)
        got = b""
        try:
            while chunk := conn.recv(65536):
                got += chunk
        except OSError:
            pass
    return got


def status_of(answer: bytes) -> int:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else 0


def bad_requests(url: str, n: int) -> tuple[int, int, int]:
    """(requests, 5xx, no answer at all)"""
    head = "POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nConnection: close\r\n"
    big = b"x" * 70_000
    chunks = (f"{len(big):x}\r\n".encode() + big + b"\r\n") * 4  # 280 KB, past the 84 KB limit
    shapes = [
        (head + "Content-Length: 10\r\n\r\n").encode() + b"{not json}",
        (head + "Content-Length: 99999999\r\n\r\n").encode(),
        (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks,
        (head + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n").encode() + chunks,
        (head + "Content-Length: 5\r\n\r\n").encode() + b"\xff\xfe\x00\x01\x02",
    ]
    bodies = [
        {"query": "\u200b\u200d"}, {"query": "\x00"}, {"query": 5}, {"query": "x", "top_k": True},
        {"query": "x", "top_k": "5"}, {"query": "x" * 5000}, {"query": "x", "filters": {"published_after": 1}},
        {"query": "x", "filters": {"published_after": "2026-03-01", "published_before": "2026-01-01"}},
        {"query": "x", "now": "tomorrow"}, {"query": ["a"]}, {}, {"query": "ok", "extra": 1},
    ]  # fmt: skip
    served_ = errors = silent = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(n):
            if i % 3 == 0:
                answer = raw(url, shapes[i % len(shapes)])
                code = status_of(answer)
                silent += code == 0
            else:
                body = json.dumps(bodies[i % len(bodies)])
                if i % 7 == 0:
                    body = body.replace('"x"', '"\\ud800"')  # a lone surrogate, escaped
                route = "/ask" if i % 2 else "/search"
                payload = body.replace('"query"', '"question"') if route == "/ask" else body
                code = client.post(route, content=payload, headers={"Content-Type": "application/json"}).status_code
            served_ += 1
            errors += code >= 500
    return served_, errors, silent


def slow_clients(url: str, n: int, header_timeout: float) -> tuple[int, int]:
    """(connections, still open after twice the header time-out)"""
    host, port = url.removeprefix("http://").split(":")
    conns = []
    for _ in range(n):
        conn = socket.create_connection((host, int(port)), timeout=5)
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        conns.append(conn)
    time.sleep(2 * header_timeout + 1)
    still_open = 0
    for conn in conns:
        conn.settimeout(0.5)
        try:
            conn.sendall(b"x")
            data = conn.recv(4096)
            still_open += not data.startswith(b"HTTP/1.1 408")
        except OSError:
            pass  # closed
        conn.close()
    return n, still_open


def reads_during_writes(url: str, texts: dict[str, str], seconds: float) -> tuple[int, int, int]:
    """(reads, errors: non-200 or a citation that does not quote its article, writes)"""
    stop = time.monotonic() + seconds
    reads = errors = writes = 0
    lock = threading.Lock()
    live = dict(texts)

    def reader() -> None:
        nonlocal reads, errors
        with httpx.Client(base_url=url, timeout=60) as c:
            while time.monotonic() < stop:
                r = c.post("/search", json={"query": " ".join(random.sample(WORDS, 3)), "top_k": 5})
                bad = r.status_code != 200
                if not bad:
                    with lock:
                        known = dict(live)
                    for hit in r.json()["results"]:
                        text = known.get(hit["article_id"])
                        if text is not None and text[hit["start"] : hit["end"]] != hit["quote"]:
                            bad = True
                with lock:
                    reads += 1
                    errors += bad

    def writer() -> None:
        nonlocal writes, errors
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, timeout=120) as c:
            i = 0
            while time.monotonic() < stop:
                text = f"Added {i}: " + " ".join(random.choices(WORDS, k=30)) + "."
                with lock:
                    live[f"api/{i}"] = text
                r = c.post("/articles", json={"id": f"api/{i}", "title": f"Added {i}", "text": text}, headers=headers)
                if i % 3 == 2:
                    r2 = c.delete(f"/articles/api/{i - 1}", headers=headers)
                    errors += r2.status_code != 200
                with lock:
                    writes += 1
                    errors += r.status_code != 200
                i += 1

    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(reader) for _ in range(4)] + [pool.submit(writer)]
        for f in futures:
            f.result()
    return reads, errors, writes


def kills(env: dict[str, str], work: Path, n: int) -> tuple[int, int, int]:
    """(kills, of them before the run ended, indexes that would not load, held a chunk twice or,
    after a last whole run, did not match the corpus)"""
    from index.manifest import read_manifest
    from qa.search.snapshot import IndexReader

    folder, index_dir = work / "kill-corpus", work / "kill-index"
    corpus(folder, 1500, seed=1)
    cmd = [str(QA), "index", "-q", "--corpus", str(folder), "--index-dir", str(index_dir)]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)  # a first commit, which every kill must leave loadable
    whole = time.perf_counter() - t0
    rng = random.Random(3)

    def check() -> bool:
        try:
            snap = IndexReader(index_dir).refresh()
            ids = [r.id for seg in snap.segments for i, r in enumerate(seg.rows) if snap.live[seg.name][i]]
            read_manifest(index_dir)
        except Exception as e:
            print(f"  after a kill the index does not load: {e}")
            return False
        return len(ids) == len(set(ids))

    broken = midway = 0
    for k in range(n):
        corpus(folder, 1500, seed=100 + k)  # every article changed: the run has work to be killed in
        for gone in rng.sample(range(1500), 30):
            (folder / f"a{gone:04d}.md").unlink(missing_ok=True)
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, whole))
        midway += p.poll() is None
        p.send_signal(signal.SIGKILL)
        p.wait()
        broken += not check()
    subprocess.run(cmd, env=env, check=True)  # after the kills, one whole run must bring it level
    indexed = set(read_manifest(index_dir).articles)
    broken += not check() or indexed != {f.stem for f in folder.glob("*.md")}
    return n, midway, broken


def full_disk(env: dict[str, str], work: Path) -> str:
    mount = work / "tiny"
    mount.mkdir()
    tried = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if tried.returncode:
        return f"skipped: cannot mount a tmpfs here ({tried.stderr.strip() or 'not permitted'})"
    try:
        small, large = work / "disk-small", work / "disk-large"
        corpus(small, 5, seed=2)
        corpus(large, 3000, seed=4)
        index_dir = mount / "index"
        cmd = [str(QA), "index", "-q", "--index-dir", str(index_dir)]
        first = subprocess.run([*cmd, "--corpus", str(small)], env=env, capture_output=True, text=True)
        if first.returncode:
            return f"the first index did not fit either: {first.stderr.strip()}"
        full = subprocess.run([*cmd, "--corpus", str(large)], env=env, capture_output=True, text=True)
        lines = full.stderr.strip().splitlines()
        leftovers = [p.name for p in index_dir.rglob("*") if ".tmp-" in p.name]
        loads = subprocess.run([str(QA), "search", "report", "--index-dir", str(index_dir), "-q"], env=env,
                               capture_output=True, text=True).returncode == 0  # fmt: skip
        return (
            f"exit {full.returncode}, {len(lines)} stderr line(s): {lines[-1] if lines else ''!r}; "
            f"last commit loads: {loads}; temporary files left: {len(leftovers)}"
        )
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=600)
    p.add_argument("--kills", type=int, default=8)
    p.add_argument("--slow", type=int, default=40, help="slow connections")
    p.add_argument("--seconds", type=float, default=20, help="reads during writes")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-reliability-"))
    try:
        texts = corpus(work / "corpus", 200)
        env = qa_env(
            QA_MODEL="hash",
            QA_CORPUS_DIR=str(work / "corpus"),
            QA_INDEX_DIR=str(work / "index"),
            QA_API_KEYS=KEY,
            QA_MAX_ARTICLE_BYTES="20000",
            QA_HEADER_TIMEOUT="2",
            QA_BODY_TIMEOUT="2",
        )
        subprocess.run([str(QA), "index", "-q"], env=env, check=True)
        rows = []
        with served(env) as server:
            n, errors, silent = bad_requests(server.url, args.requests)
            rows.append(("malformed and oversized requests", f"{n}", f"5xx: {errors}, unanswered: {silent}"))
            n, still = slow_clients(server.url, args.slow, 2.0)
            rows.append(("slow clients (headers a byte at a time)", f"{n}", f"still open after 5 s: {still}"))
            reads, errors, writes = reads_during_writes(server.url, texts, args.seconds)
            rows.append(("reads during writes", f"{reads} reads, {writes} writes", f"errors: {errors}"))
            alive = httpx.get(server.url + "/ready", timeout=10).status_code
        n, midway, broken = kills(env, work, args.kills)
        rows.append(("SIGKILL during qa index", f"{n} ({midway} mid-run)", f"unloadable, duplicated or off: {broken}"))
        rows.append(("full disk", "1", full_disk(env, work)))
        leftovers = [str(q.relative_to(work)) for q in work.rglob("*") if ".tmp-" in q.name]
        rows.append(("temporary files left in all work folders", "-", f"{len(leftovers)}"))
        print(f"\n{'check':<42}{'count':>22}  result")
        for name, count, result in rows:
            print(f"{name:<42}{count:>22}  {result}")
        print(f"server still ready after the run: {alive == 200}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
