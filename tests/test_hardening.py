"""Regression tests for the faults an adversarial pass found (issue 14): the body limit on every
framing, slow clients, a full disk, temporary files left by failures, malformed Slack requests,
lone surrogates, and inputs the API let through."""

from __future__ import annotations

import errno
import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from index.errors import DiskFull
from qa.config import Settings
from qa.http.app import create_app
from qa.questions import refusal
from tests.conftest import API_KEY, SAMPLE_CORPUS, StartServer, WriteArticle, hash_service, index_now

ADMIN = {"Authorization": f"Bearer {API_KEY}"}


def raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    return conn


def response(conn: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection or `timeout` passes."""
    conn.settimeout(timeout)
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and b'"}' in data:
                break
    except (TimeoutError, ConnectionResetError):
        pass
    return data


# -- 1 and 2: a real server ---------------------------------------------------------------------


@pytest.fixture
def server_url(live_server: StartServer, tmp_path: Path) -> str:
    server = live_server(SAMPLE_CORPUS, QA_MAX_ARTICLE_BYTES="20000", QA_HEADER_TIMEOUT="1", QA_BODY_TIMEOUT="1")
    return server.url


@pytest.mark.slow
def test_the_body_limit_holds_on_every_framing(server_url: str) -> None:
    head = "POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    framings = {
        "chunked": head + "Transfer-Encoding: chunked\r\n\r\n",
        "length 1 and chunked": head + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    }
    piece = b"x" * 65536
    for name, start in framings.items():
        conn = raw(server_url)
        conn.sendall(start.encode())
        sent = 0
        try:
            while sent < 2_000_000:  # far past the 84 KB limit (20,000 + 64 KiB)
                conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: good
        got = response(conn)
        conn.close()
        status = got.split(b" ", 2)[1] if got.startswith(b"HTTP/1.1 ") else b""
        assert status in (b"413", b"400"), (name, got[:200])
        assert status != b"422", name  # the body was not read whole
    too_long = raw(server_url)
    too_long.sendall((head + "Content-Length: 10000000\r\n\r\n").encode())
    assert response(too_long).startswith(b"HTTP/1.1 413")


@pytest.mark.slow
def test_slow_clients_are_answered_408_and_dropped(server_url: str) -> None:
    slow_headers = raw(server_url)
    slow_headers.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")  # and never the blank line
    t0 = time.monotonic()
    got = response(slow_headers, timeout=10)
    assert got.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 5
    slow_body = raw(server_url)
    slow_body.sendall(
        b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    got = response(slow_body, timeout=10)
    assert got.startswith(b"HTTP/1.1 408") and b"stalled" in got
    fine = raw(server_url)  # a client that sends its request in time is served
    fine.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert response(fine).startswith(b"HTTP/1.1 200")


# -- 3 and 4: a full disk, and what failures leave behind ---------------------------------------


FULL_DISK_ERRORS = {
    "ENOSPC": OSError(errno.ENOSPC, "No space left on device"),
    "short write": OSError("98304 requested and 33760 written"),  # numpy's, with no errno
}


@pytest.mark.parametrize("failure", FULL_DISK_ERRORS)
def test_a_full_disk_is_one_clear_error_and_the_last_commit_stays(
    settings: Settings,
    write_article: WriteArticle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: str,
) -> None:
    from news_qa.cli import main

    monkeypatch.setenv("QA_MODEL", "hash")
    write_article("a.md", "The first article is indexed while there is room.")
    assert main(["index", "--index-dir", str(settings.index_dir), "--corpus", str(settings.corpus_dir), "-q"]) == 0
    write_article("b.md", "The second article meets a full disk.")

    def full(*args: object, **kwargs: object) -> None:
        raise FULL_DISK_ERRORS[failure]

    monkeypatch.setattr(np, "save", full)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 << 20, 10 << 20, 4096))
    code = main(["index", "--index-dir", str(settings.index_dir), "--corpus", str(settings.corpus_dir), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("qa: no space left")
    assert "index version 1) is intact" in err[0] and "Traceback" not in err[0]
    assert not list((settings.index_dir / "segments").glob(".tmp-*"))
    assert not list(settings.index_dir.glob(".*.tmp-*"))


def test_the_next_writer_removes_what_failed_writes_left(settings: Settings, write_article: WriteArticle) -> None:
    write_article("a.md", "An article.")
    index_now(settings)
    (settings.index_dir / ".manifest.json.tmp-4242").write_bytes(b"{half a manifest")
    (settings.index_dir / "segments" / ".tmp-seg-dead-000000").mkdir()
    (settings.index_dir / "segments" / ".tmp-seg-dead-000000" / "vectors.npy").write_bytes(b"\0" * 1000)
    write_article("b.md", "Another article.")
    index_now(settings)
    assert not list(settings.index_dir.glob(".*.tmp-*"))
    assert not list((settings.index_dir / "segments").glob(".tmp-*"))


def test_a_disk_full_error_is_a_507_over_http(app_settings: Settings, corpus: None) -> None:
    index_now(app_settings)
    with TestClient(create_app(app_settings, hash_service)) as client:

        def full() -> None:
            raise DiskFull("no space left on the device of the index; the last commit (index version 1) is intact")

        client.app.state.service.reindex = full  # type: ignore[attr-defined]
        r = client.post("/reindex", headers=ADMIN)
    assert r.status_code == 507 and "intact" in r.json()["detail"]


# -- 7: what the API let through ----------------------------------------------------------------


@pytest.fixture
def client(app_settings: Settings, corpus: None) -> Iterator[TestClient]:
    index_now(app_settings)
    with TestClient(create_app(app_settings, hash_service)) as c:
        yield c


@pytest.mark.parametrize("article_id", ["\x1b[31mRED", "a\x01", "\x7f", "tab\there", "x\x85", " "])
def test_article_ids_with_control_characters_are_refused(client: TestClient, article_id: str) -> None:
    body = {"id": article_id, "title": "T", "text": "Some text."}
    assert client.post("/articles", json=body, headers=ADMIN).status_code == 422


@pytest.mark.parametrize(
    ("url", "body", "reason"),
    [
        ("/articles", {"id": "ok", "title": "   ", "text": "Some text."}, "white space"),
        ("/search", {"query": "rates", "top_k": True}, "valid integer"),
        ("/search", {"query": "rates", "filters": {"published_after": "2026-01-01T10:00:00"}}, "YYYY-MM-DD"),
        ("/search", {"query": "rates", "filters": {"published_after": "2026-03-01", "published_before": "2026-01-01"}},
         "later than"),
        ("/search", {"query": "\u200b\u200d\u2066\u2069\ufeff"}, "query is empty"),
        ("/search", {"query": "\x00\x00"}, "query is empty"),
        ("/ask", {"question": "\u202e\u200b"}, "question is empty"),
    ],
)  # fmt: skip
def test_inputs_the_api_let_through_are_refused(client: TestClient, url: str, body: dict, reason: str) -> None:
    r = client.post(url, json=body, headers=ADMIN)
    assert r.status_code == 422 and reason in json.dumps(r.json()), r.json()


def test_the_refusal_rule_sees_invisible_and_broken_text() -> None:
    assert refusal("\u200b \u2060\t", 100).reason == "empty"  # type: ignore[union-attr]
    assert refusal("what \ud800 now", 100).reason == "unreadable"  # type: ignore[union-attr]
    assert refusal("what now?", 100) is None
