"""Socket Mode: a local WebSocket server speaking Slack's envelope protocol (its URL comes from
apps.connections.open on the fake Web API); the bot acks each envelope and replies over the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from index.embedders import HashingEmbedder
from news_qa.app import build_app
from qa.config import Settings
from qa.service import QAService
from tests.conftest import QA_CLI, FakeSlack, qa_env, run_qa_index, stop_process
from tests.test_bot_http import BOT_TOKEN, QUESTION, mention

APP_TOKEN = "xapp-test-app-token-7d3b"


class FakeSocketMode:
    """Sends "hello" to each client, then the envelopes given to `send`; records what clients send."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self.loop = asyncio.new_event_loop()
        self._server: Server | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        assert started.wait(10)
        assert self._server is not None
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/link/?ticket=t1"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self._server = await serve(self._session, "127.0.0.1", 0)
            started.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _session(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        await ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        with contextlib.suppress(ConnectionClosed):  # the client leaving without a close frame
            async for message in ws:
                self.received.append(json.loads(message))

    def send(self, envelope: dict[str, Any], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.connections:
            assert time.monotonic() < deadline, "the bot never connected"
            time.sleep(0.02)
        asyncio.run_coroutine_threadsafe(self.connections[-1].send(json.dumps(envelope)), self.loop).result(timeout)

    def wait_ack(self, envelope_id: str, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(m.get("envelope_id") == envelope_id for m in self.received) < count:
            assert time.monotonic() < deadline, f"no ack for {envelope_id}: {self.received}"
            time.sleep(0.02)

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def envelope(envelope_id: str, event: dict[str, Any], event_id: str, retry: int = 0) -> dict[str, Any]:
    payload = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event": event}
    return {"envelope_id": envelope_id, "type": "events_api", "payload": payload, "accepts_response_payload": False,
            "retry_attempt": retry, "retry_reason": "timeout" if retry else ""}  # fmt: skip


def test_qa_serve_answers_over_socket_mode(
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    socket_server: FakeSocketMode,
    bot_settings: Settings,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    with TestClient(build_app(bot_settings, lambda s: QAService(s, HashingEmbedder()))) as client:
        [opened] = fake_slack.calls_to("apps.connections.open")
        assert opened.authorization == f"Bearer {APP_TOKEN}"
        socket_server.send(envelope("env-1", mention(QUESTION), "EvSocket"))
        socket_server.wait_ack("env-1")
        socket_server.send(envelope("env-2", mention(QUESTION), "EvSocket", retry=1))  # a redelivery
        socket_server.wait_ack("env-2")
        fake_slack.wait_for("reactions.remove")
        [reply] = fake_slack.wait_for("chat.postMessage")
        assert client.post("/slack/events", json={}).status_code == 404  # no signing secret: no HTTP events
    assert reply.body["thread_ts"] == "1700000100.000100"
    assert "<https://ledger.example.org/fed|[1] Fed holds rates>" in json.dumps(reply.body["blocks"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.mark.slow
def test_qa_bot_command_runs_socket_mode_until_stopped(
    tmp_path: Path, fake_slack: FakeSlack, socket_server: FakeSocketMode, bot_settings: Settings
) -> None:
    env = qa_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=fake_slack.url,
                 QA_ANSWER_THRESHOLD="0.3")  # fmt: skip
    index_dir = tmp_path / "bot-index"
    run_qa_index(bot_settings.corpus_dir, index_dir, env)
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([*QA_CLI, "bot", "--index-dir", str(index_dir)], env=env, cwd=tmp_path,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        socket_server.send(envelope("env-cli", mention(QUESTION), "EvCli"), timeout=60)
        socket_server.wait_ack("env-cli")
        [reply] = fake_slack.wait_for("chat.postMessage", timeout=30)
        assert "[1] Fed holds rates" in json.dumps(reply.body["blocks"])
    finally:
        stop_process(process)
    assert process.returncode == 0
    log_text = log_path.read_text()
    assert "Socket Mode connected" in log_text
    assert BOT_TOKEN not in log_text and APP_TOKEN not in log_text


def test_qa_bot_without_tokens_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from news_qa import cli

    monkeypatch.setattr("qa.http.observability.configure_logging", lambda: None)  # keep pytest's log capture
    assert cli.main(["bot"]) == 1
    assert "SLACK_BOT_TOKEN" in caplog.text and "SLACK_APP_TOKEN" in caplog.text
