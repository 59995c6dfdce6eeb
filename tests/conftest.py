from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from index.chunking import Chunk
from index.config import open_writer
from index.embedders import HashingEmbedder
from index.lexical import tokenize
from index.manifest import Manifest, read_manifest
from index.segments import read_segment
from qa.config import Settings
from qa.search.candidates import dense_top, lexical_top
from qa.search.filters import Filters
from qa.search.hits import Hit
from qa.search.query import Query
from qa.search.snapshot import Snapshot
from qa.service import QAService
from tests.feedserver import FeedServer

if TYPE_CHECKING:
    from tests.test_bot_socket import FakeSocketMode

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "corpus"
SHARED_DATA = REPO.parent / "shared" / "data"

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"evaluation data not found at {SHARED_DATA} (present in CI beside the checkout)",
)

WriteArticle = Callable[..., Path]


def live_rows(index_dir: Path, manifest: Manifest | None = None) -> Iterator[tuple[Chunk, np.ndarray]]:
    """Every live row of a commit (the newest by default) with its vector, segment by segment."""
    manifest = manifest or read_manifest(index_dir)
    for entry in manifest.segments:
        seg = read_segment(index_dir, entry.name, mmap=True, lexical=False)
        dead = manifest.deleted.get(entry.name, frozenset())
        yield from ((row, seg.vectors[i]) for i, row in enumerate(seg.rows) if i not in dead)


def query(text: str, vector: np.ndarray | None = None, k: int = 5, filters: Filters | None = None) -> Query:
    """A parsed query; without a vector it can only be searched lexically."""
    vector = np.zeros(1, dtype=np.float32) if vector is None else vector
    return Query(text, tuple(tokenize([text])[0]), vector, k, filters)


def lexical(snap: Snapshot, text: str, k: int, filters: Filters | None = None) -> list[Hit]:
    """The k best rows by BM25 alone."""
    return lexical_top(snap, query(text, k=k, filters=filters), k)


def dense(snap: Snapshot, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
    """The k best rows by inner product alone."""
    return dense_top(snap, query("", vector, k, filters), k)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", model="hash", _env_file=None)


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def write_article(corpus_dir: Path) -> WriteArticle:
    """Write a Markdown article with front matter; returns its path."""

    def write(rel: str, text: str, title: str | None = None, **meta: str) -> Path:
        path = corpus_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        front = {"title": title or rel.rsplit("/", 1)[-1].split(".")[0].replace("-", " ").title(), **meta}
        lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in front.items()), "---", "", text]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


# -- the HTTP app over a small news corpus, with the hashing embedder ---------------------------

API_KEY = "s3cret-key"


def hash_service(settings: Settings) -> QAService:
    return QAService(settings, HashingEmbedder())


def index_now(settings: Settings) -> int:
    """Commit the corpus folder, as `qa index` would; the new index version."""
    return open_writer(settings, HashingEmbedder()).reconcile(settings.corpus_dir).index_version


def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def app_settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(
        corpus_dir=corpus_dir,
        index_dir=tmp_path / "index",
        model="hash",
        api_keys=API_KEY,
        answer_threshold=0.3,
        reload_interval=0.1,
        max_article_bytes=20_000,
        _env_file=None,
    )


@pytest.fixture
def corpus(write_article: WriteArticle) -> None:
    """Three short news articles, two sources, three dates."""
    write_article(
        "rates.md",
        "The central bank held interest rates at 3.5% on Wednesday. Officials signalled "
        "fewer cuts this year. Stocks of chip makers fell after the decision.",
        title="Fed holds rates",
        url="https://ledger.example.org/fed",
        published="2026-03-18",
        source="Daily Ledger",
    )
    write_article(
        "chips.md",
        "Exporters of AI chips now need a licence to ship to Malaysia and Thailand. "
        "The rule aims to stop diversion of chips.",
        title="Chip licences",
        url="https://wire.example.com/chips",
        published="2026-01-27",
        source="Example Wire",
    )
    write_article(
        "power.md",
        "Data centres asked the utility for 40 gigawatts of power. Gas turbines are sold out until 2029.",
        title="Power demand",
        published="2026-02-17",
        source="Example Wire",
    )


# -- a real `qa serve` process -----------------------------------------------------------------


@dataclass
class LiveServer:
    """A `qa serve` subprocess answering at `url`; its log (stderr) goes to `log_path`."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    corpus: Path
    index_dir: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


StartServer = Callable[..., LiveServer]

# -P: the working directory is not put on sys.path, so a folder there named like a package (an
# index folder called `index`) cannot shadow this project's `index` package.
QA_CLI = [sys.executable, "-P", "-m", "news_qa"]


def qa_env(**settings: str) -> dict[str, str]:
    """The environment for a `qa` subprocess: this one without any QA_* variable, then the hash
    model and `settings` (e.g. QA_ANSWER_THRESHOLD="0.3")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"QA_MODEL": "hash", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}, **settings)
    return env


def run_qa_index(corpus: Path, index_dir: Path, env: dict[str, str]) -> None:
    """`qa index` in its own process (a commit made by another process than the server)."""
    cmd = [*QA_CLI, "index", "--quiet", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    done = subprocess.run(cmd, env=env, cwd=index_dir.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"qa index exited {done.returncode}:\n{done.stderr}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it is still running."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def _wait_ready(server: LiveServer, timeout: float) -> bool:
    """True once GET /ready answers 200; False if the process died first (e.g. the port was
    taken); fails the test with the log when the deadline passes."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            if httpx.get(f"{server.url}/ready", timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"qa serve was not ready within {timeout:.0f} s; its log:\n{server.log()}")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start `qa serve` over `corpus` (hash model): `live_server(corpus, **QA_settings)`.

    The index is built first by a `qa index` subprocess into a fresh folder (or, given
    `index_dir=`, the server reads that existing index: a replica). The server runs on a free
    port from a neutral working directory (no stray .env) and is ready (GET /ready is 200) when
    this returns. Every server started is stopped at teardown: SIGTERM, then SIGKILL.
    """
    started: list[LiveServer] = []

    def start(corpus: Path, ready_timeout: float = 60.0, index_dir: Path | None = None, **settings: str) -> LiveServer:
        n = len(started)
        workdir = tmp_path / f"server{n}"
        workdir.mkdir()
        env = qa_env(**settings)
        if index_dir is None:
            index_dir = workdir / "qa-index"
            run_qa_index(corpus, index_dir, env)
        for attempt in range(3):  # a free port can be taken before the server binds it
            port = free_port()
            log_path = workdir / f"serve-{attempt}.log"
            cmd = [*QA_CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
            cmd += ["--index-dir", str(index_dir), "--corpus", str(corpus)]
            with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the server
                process = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
            server = LiveServer(f"http://127.0.0.1:{port}", process, log_path, corpus, index_dir, env)
            started.append(server)
            if _wait_ready(server, ready_timeout):
                return server
            if "address already in use" not in server.log().lower():
                break
        pytest.fail(f"qa serve exited with code {server.process.returncode}; its log:\n{server.log()}")

    yield start
    for server in started:
        stop_process(server.process)


# -- Slack without Slack: a local fake of the Web API ------------------------------------------

SLACK_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "QA_SLACK_COMMAND")


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack stays off unless a test turns it on (empty values also beat a stray .env file)."""
    for name in SLACK_ENV:
        monkeypatch.setenv(name, "")
    monkeypatch.delenv("SLACK_API_URL")


FAKE_BOT = {"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "news-qa", "team": "Test"}


@dataclass
class SlackCall:
    method: str  # "chat.postMessage", or "response_url" for a post to a response_url
    body: dict[str, object]
    authorization: str


class FakeSlack:
    """Slack's Web API on a free local port: answers auth.test, chat.postMessage, chat.update,
    reactions.add/remove and apps.connections.open (with `socket_url`), records every request
    body, and fails a method with `errors[method] = "not_in_channel"`. Bot-token methods need
    "Bearer xoxb-…", apps.connections.open "Bearer xapp-…"."""

    def __init__(self) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.calls: list[SlackCall] = []
        self.errors: dict[str, str] = {}
        self.socket_url = ""
        self._lock = threading.Lock()
        self._ts = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _fake_slack_handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def answer(self, method: str, body: dict[str, object], authorization: str) -> dict[str, object]:
        with self._lock:
            self.calls.append(SlackCall(method, body, authorization))
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
        needs = "Bearer xapp-" if method == "apps.connections.open" else "Bearer xoxb-"
        if method != "response_url" and not authorization.startswith(needs):
            return {"ok": False, "error": "invalid_auth"}
        if method in self.errors:
            return {"ok": False, "error": self.errors[method]}
        return {
            "auth.test": {"ok": True, **FAKE_BOT},
            "apps.connections.open": {"ok": True, "url": self.socket_url},
            "chat.postMessage": {"ok": True, "channel": body.get("channel"), "ts": ts, "message": body},
            "chat.update": {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")},
        }.get(method, {"ok": True})

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[SlackCall]:
        """The calls to `method` once there are at least `count` (fails after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while len(found := self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{count} call(s) to {method} expected; got {[c.method for c in self.calls]}")
            time.sleep(0.02)
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _fake_slack_handler(fake: FakeSlack) -> type:
    from http.server import BaseHTTPRequestHandler
    from urllib.parse import parse_qsl

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            is_json = "json" in (self.headers.get("Content-Type") or "")
            body = json.loads(raw) if is_json and raw else dict(parse_qsl(raw))
            path = self.path.split("?")[0]
            method = path.removeprefix("/api/") if path.startswith("/api/") else "response_url"
            out = json.dumps(fake.answer(method, body, self.headers.get("Authorization") or "")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


def block_kit_problems(payload: dict[str, object]) -> list[str]:
    """Where a message payload breaks Slack's limits (empty when it keeps them all)."""
    problems = []
    blocks = payload.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    assert isinstance(blocks, list)
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks > 50")
    if len(str(payload.get("text") or "")) > 40_000:
        problems.append("text > 40,000 characters")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        problems.append("repeated block_id")
    for i, b in enumerate(blocks):
        if b["type"] == "section" and not 1 <= len(b["text"]["text"]) <= 3000:
            problems.append(f"block {i}: section text of {len(b['text']['text'])} characters")
        if b["type"] == "context" and not 1 <= len(b["elements"]) <= 10:
            problems.append(f"block {i}: {len(b['elements'])} context elements")
        for e in b.get("elements", []) if b["type"] == "context" else []:
            if len(e.get("text", "")) > 3000:
                problems.append(f"block {i}: context text over 3,000 characters")
        for e in b.get("elements", []) if b["type"] == "actions" else []:
            if len(e["text"]["text"]) > 75 or len(e.get("value", "")) > 2000 or len(e["action_id"]) > 255:
                problems.append(f"block {i}: button over its limits")
        if b["type"] not in {"section", "context", "actions", "divider", "header"}:
            problems.append(f"block {i}: unexpected type {b['type']}")
    return problems


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A FakeSlack; at teardown every message posted or updated must keep Block Kit's limits."""
    fake = FakeSlack()
    yield fake
    fake.close()
    for call in fake.calls:
        if call.method in {"chat.postMessage", "chat.update", "response_url"}:
            assert block_kit_problems(call.body) == [], call.body


@pytest.fixture
def socket_server(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    """A local Socket Mode WebSocket server, handed out by the fake Web API's apps.connections.open."""
    from tests.test_bot_socket import FakeSocketMode

    server = FakeSocketMode()
    fake_slack.socket_url = server.url
    yield server
    server.close()


@pytest.fixture
def bot_settings(app_settings: Settings, corpus: None) -> Settings:
    """The small news corpus, indexed (hash model), for the Slack tests."""
    index_now(app_settings)
    return app_settings


# -- feeds: a local web server serving feeds and article pages -----------------------------------


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def feed_settings(app_settings: Settings, tmp_path: Path) -> Settings:
    """The app's settings, allowed to fetch from the local feed server (127.0.0.1), with short
    time-outs and a small size limit so the broken servers fail fast."""
    return app_settings.model_copy(
        update={
            "feeds_file": tmp_path / "feeds.toml",
            "fetch_allow_private": True,
            "fetch_timeout": 0.5,
            "fetch_deadline": 3.0,
            "fetch_max_bytes": 200_000,
        }
    )


@pytest.fixture
def feed_env(monkeypatch: pytest.MonkeyPatch, feed_settings: Settings) -> Settings:
    """`qa` commands in this process see feed_settings (hash model, the local server allowed)."""
    for name, value in {
        "QA_MODEL": "hash",
        "QA_CORPUS_DIR": str(feed_settings.corpus_dir),
        "QA_INDEX_DIR": str(feed_settings.index_dir),
        "QA_FEEDS_FILE": str(feed_settings.feeds),
        "QA_FETCH_ALLOW_PRIVATE": "true",
        "QA_FETCH_TIMEOUT": "0.5",
    }.items():
        monkeypatch.setenv(name, value)
    return feed_settings
