"""The Slack bot over HTTP events: signed requests to /slack/events of the FastAPI app, replies
seen on a local fake of Slack's Web API (through a real slack_sdk WebClient pointed at it)."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from index.embedders import HashingEmbedder
from index.errors import IndexNotFound
from news_qa.app import build_app
from qa.config import Settings
from qa.contract import NO_ANSWER
from qa.service import QAService
from tests.conftest import FakeSlack, SlackCall

SECRET = "test-signing-secret-5f1e"
BOT_TOKEN = "xoxb-test-bot-token-2c9a"
QUESTION = "What did the central bank do with interest rates?"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, bot_settings: Settings) -> Iterator[TestClient]:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    with TestClient(build_app(bot_settings, lambda s: QAService(s, HashingEmbedder()))) as client:
        yield client


def signed(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def send_event(client: TestClient, event: dict[str, Any], event_id: str = "Ev1", **headers: str) -> httpx.Response:
    body = json.dumps(
        {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event": event}
    )
    headers = {"Content-Type": "application/json", **signed(body), **headers}
    return client.post("/slack/events", content=body, headers=headers)


def send_form(client: TestClient, fields: dict[str, str]) -> httpx.Response:
    body = urlencode(fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed(body)}
    return client.post("/slack/events", content=body, headers=headers)


def mention(text: str, ts: str = "1700000100.000100", **more: str) -> dict[str, Any]:
    return {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts, "channel": "C1", **more}


def dm(text: str, ts: str = "1700000200.000100", **more: Any) -> dict[str, Any]:
    event = {"type": "message", "channel_type": "im", "user": "U1", "text": text, "ts": ts, "channel": "D1"}
    return {**event, **more}


def blocks_text(call: SlackCall) -> str:
    return json.dumps(call.body["blocks"], ensure_ascii=False)


def answered(fake: FakeSlack, count: int = 1) -> list[SlackCall]:
    """The replies, once `count` questions have been answered and their 👀 removed."""
    fake.wait_for("reactions.remove", count)
    return fake.wait_for("chat.postMessage", count)


# -- answers ------------------------------------------------------------------------------------


def test_mention_is_answered_in_its_thread_with_citations(slack: TestClient, fake_slack: FakeSlack) -> None:
    r = send_event(slack, mention(QUESTION))
    assert r.status_code == 200
    [reply] = answered(fake_slack)
    assert reply.body["channel"] == "C1" and reply.body["thread_ts"] == "1700000100.000100"
    assert reply.authorization == f"Bearer {BOT_TOKEN}"
    assert "3.5%" in str(reply.body["text"])
    blocks = blocks_text(reply)
    assert "held interest rates at 3.5% on Wednesday. [1]" in blocks
    assert "<https://ledger.example.org/fed|[1] Fed holds rates>* · Daily Ledger · 2026-03-18" in blocks
    assert '"action_id": "feedback_up"' in blocks and '"action_id": "feedback_down"' in blocks
    methods = [c.method for c in fake_slack.calls]
    assert methods.index("reactions.add") < methods.index("chat.postMessage") < methods.index("reactions.remove")
    for call in fake_slack.calls_to("reactions.add") + fake_slack.calls_to("reactions.remove"):
        assert call.body.items() >= {"channel": "C1", "timestamp": "1700000100.000100", "name": "eyes"}.items()


def test_a_retried_event_is_answered_once(slack: TestClient, fake_slack: FakeSlack) -> None:
    assert send_event(slack, mention(QUESTION), event_id="EvRetry").status_code == 200
    again = send_event(slack, mention(QUESTION), event_id="EvRetry", **{"X-Slack-Retry-Num": "1"})
    assert again.status_code == 200 and again.headers["x-slack-no-retry"] == "1"
    answered(fake_slack)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.calls_to("reactions.add")) == 1


def test_direct_message_is_answered_in_its_thread(slack: TestClient, fake_slack: FakeSlack) -> None:
    send_event(slack, dm("Which countries need a licence for AI chips?"))
    [reply] = answered(fake_slack)
    assert reply.body["channel"] == "D1" and reply.body["thread_ts"] == "1700000200.000100"
    assert "<https://wire.example.com/chips|[1] Chip licences>" in blocks_text(reply)


def test_bots_edits_and_its_own_messages_are_ignored(slack: TestClient, fake_slack: FakeSlack) -> None:
    ignored = [
        dm("a question from another bot", bot_id="B2"),
        dm("the bot's own reply", user="UBOT"),
        dm(QUESTION, subtype="message_changed"),
        {**dm(QUESTION), "channel_type": "channel", "channel": "C1"},
    ]
    for n, event in enumerate(ignored):
        assert send_event(slack, event, event_id=f"EvIgnored{n}").status_code == 200
    send_event(slack, dm(QUESTION, ts="1700000300.000100"), event_id="EvReal")
    [reply] = answered(fake_slack)
    assert reply.body["thread_ts"] == "1700000300.000100"
    assert len(fake_slack.calls_to("reactions.add")) == 1


def test_nothing_found_says_so_with_the_closest_passages(slack: TestClient, fake_slack: FakeSlack) -> None:
    send_event(slack, mention("zebra migration across savannah grasslands"))
    [reply] = answered(fake_slack)
    assert reply.body["text"] == NO_ANSWER
    assert "Closest passages" in blocks_text(reply) and "[1]" in blocks_text(reply)


def test_a_follow_up_in_the_thread_is_asked_with_the_first_question(
    slack: TestClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = slack.app.state.service  # type: ignore[attr-defined]
    asked: list[str] = []
    ask = service.ask
    monkeypatch.setattr(service, "ask", lambda q, *a, **k: asked.append(q) or ask(q, *a, **k))
    root = "1700000400.000100"
    send_event(slack, mention(QUESTION, ts=root), event_id="EvRoot")
    answered(fake_slack)
    send_event(slack, mention("And what did officials signal?", ts="1700000401.000100", thread_ts=root), "EvFollow")
    replies = answered(fake_slack, 2)
    assert asked == [QUESTION, f"{QUESTION} And what did officials signal?"]
    assert replies[1].body["thread_ts"] == root
    assert "Officials signalled fewer cuts this year." in blocks_text(replies[1])


# -- never silent -------------------------------------------------------------------------------


def test_an_error_gets_a_reply_with_the_logged_error_id(
    slack: TestClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(slack.app.state.service, "ask", broken)  # type: ignore[attr-defined]
    send_event(slack, mention(QUESTION))
    [reply] = answered(fake_slack)
    text = str(reply.body["text"])
    assert "something went wrong" in text and "disk on fire" not in text
    error_id = text.split("error id `")[1].split("`")[0]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_empty_and_too_long_questions_get_a_reason(slack: TestClient, fake_slack: FakeSlack) -> None:
    send_event(slack, mention(""), event_id="EvEmpty")
    empty = fake_slack.wait_for("chat.postMessage")[0]
    assert "Ask me a question" in str(empty.body["text"]) and empty.body["thread_ts"] == "1700000100.000100"
    send_event(slack, mention("why " * 300, ts="1700000101.000100"), event_id="EvLong")
    long = fake_slack.wait_for("chat.postMessage", 2)[1]
    assert "1,199 characters; the limit is 1,000" in str(long.body["text"])
    assert fake_slack.calls_to("reactions.add") == []


# -- the slash command and the feedback buttons -------------------------------------------------


def command(text: str, fake: FakeSlack) -> dict[str, str]:
    response_url = fake.url.replace("/api/", "/response/1")
    return {"command": "/ask", "text": text, "channel_id": "C1", "user_id": "U1", "team_id": "T1",
            "response_url": response_url, "trigger_id": "1.2"}  # fmt: skip


def test_slash_command_posts_the_question_and_answers_in_its_thread(slack: TestClient, fake_slack: FakeSlack) -> None:
    r = send_form(slack, command(QUESTION, fake_slack))
    assert r.status_code == 200 and r.text == ""
    fake_slack.wait_for("reactions.remove")
    root, reply = fake_slack.wait_for("chat.postMessage", 2)
    assert root.body["text"] == f"<@U1> asked: {QUESTION}" and root.body["channel"] == "C1"
    root_ts = fake_slack.calls_to("reactions.add")[0].body["timestamp"]
    assert reply.body["thread_ts"] == root_ts and "[1] Fed holds rates" in blocks_text(reply)


def test_slash_command_without_a_question_or_a_channel_says_why(slack: TestClient, fake_slack: FakeSlack) -> None:
    r = send_form(slack, command("  ", fake_slack))
    assert r.status_code == 200 and "Ask me a question" in r.text
    fake_slack.errors["chat.postMessage"] = "not_in_channel"
    send_form(slack, command(QUESTION, fake_slack))
    [note] = fake_slack.wait_for("response_url")
    assert "invite me" in str(note.body["text"]) and note.body["response_type"] == "ephemeral"


def test_a_vote_is_acknowledged_and_stored(slack: TestClient, fake_slack: FakeSlack, bot_settings: Settings) -> None:
    send_event(slack, mention(QUESTION))
    [reply] = answered(fake_slack)
    blocks: list[dict[str, Any]] = reply.body["blocks"]  # type: ignore[assignment]
    [answer_id] = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    payload = {
        "type": "block_actions",
        "user": {"id": "U2"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "container": {"type": "message", "message_ts": "1700000000.000002", "channel_id": "C1"},
        "message": {"ts": "1700000000.000002", "text": reply.body["text"], "blocks": blocks},
        "response_url": fake_slack.url.replace("/api/", "/response/2"),
        "trigger_id": "1.3",
        "actions": [{"type": "button", "action_id": "feedback_down", "block_id": "feedback", "value": answer_id}],
    }
    assert send_form(slack, {"payload": json.dumps(payload)}).status_code == 200
    [update] = fake_slack.wait_for("chat.update")
    assert update.body["ts"] == "1700000000.000002" and "Thanks for the feedback" in blocks_text(update)
    assert "feedback_down" not in blocks_text(update)
    with sqlite3.connect(bot_settings.index_dir / "feedback.sqlite3") as db:
        [row] = db.execute("SELECT question, answer, citations, vote, user, time FROM feedback").fetchall()
    question, answer, citations, vote, user, when = row
    assert (question, vote, user) == (QUESTION, "down", "U2") and "3.5%" in answer
    assert json.loads(citations)[0]["url"] == "https://ledger.example.org/fed" and when.startswith("20")


# -- security -----------------------------------------------------------------------------------


def test_missing_wrong_or_stale_signatures_are_refused(slack: TestClient, fake_slack: FakeSlack) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvForged", "event": mention(QUESTION)})
    json_type = {"Content-Type": "application/json"}
    for headers in (
        json_type,
        {**json_type, **signed(body, secret="not-the-secret")},
        {**json_type, **signed(body, timestamp=int(time.time()) - 600)},
        {**json_type, **signed(body.replace("central", "federal"))},
    ):
        assert slack.post("/slack/events", content=body, headers=headers).status_code == 401
    assert [c.method for c in fake_slack.calls] == ["auth.test"]


def test_a_malformed_timestamp_is_401_and_signed_bad_json_is_400(slack: TestClient, fake_slack: FakeSlack) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvTs", "event": mention(QUESTION)})
    for ts in ("soon", "", "12.5", "1e9"):
        headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=00"}
        assert slack.post("/slack/events", content=body, headers=headers).status_code == 401, ts
    broken = '{"type": "event_callback", "event": '
    r = slack.post("/slack/events", content=broken, headers={"Content-Type": "application/json", **signed(broken)})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_lone_surrogate_gets_a_reply_with_the_reason(slack: TestClient, fake_slack: FakeSlack) -> None:
    event = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvSur", "event": dm("SUR")}
    body = json.dumps(event).replace("SUR", "what about \\ud800 rates?")  # JSON's escape of a lone surrogate
    assert json.loads(body)["event"]["text"] == "what about \ud800 rates?"
    r = slack.post("/slack/events", content=body, headers={"Content-Type": "application/json", **signed(body)})
    assert r.status_code == 200
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "not valid text" in str(reply.body["text"])


def test_tokens_never_reach_logs_or_replies(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    with TestClient(build_app(bot_settings, lambda s: QAService(s, HashingEmbedder()))) as client:
        send_event(client, mention(QUESTION))
        answered(fake_slack)
        monkeypatch.setattr(client.app.state.service, "ask", None)  # type: ignore[attr-defined]
        send_event(client, dm(QUESTION), event_id="Ev2")
        answered(fake_slack, 2)
    assert "Slack events enabled at /slack/events" in caplog.text
    posted = json.dumps([c.body for c in fake_slack.calls])
    for secret in (SECRET, BOT_TOKEN):
        assert secret not in caplog.text and secret not in posted


def test_slack_is_off_without_its_settings(bot_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(build_app(bot_settings, lambda s: QAService(s, HashingEmbedder()))) as client:
        assert client.post("/slack/events", json={}).status_code == 404
    assert "Slack is off" in caplog.text


def test_url_verification_is_answered_with_the_challenge(slack: TestClient) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "legacy"})
    r = slack.post("/slack/events", content=body, headers={"Content-Type": "application/json", **signed(body)})
    assert r.status_code == 200 and r.json() == {"challenge": "c-123"}


def test_a_wrong_bot_token_turns_slack_off_not_the_service(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.errors["auth.test"] = "invalid_auth"
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    with TestClient(build_app(bot_settings, lambda s: QAService(s, HashingEmbedder()))) as client:
        assert client.get("/ready").status_code == 200
        assert send_event(client, mention(QUESTION)).status_code == 503
    assert "Slack is off: the bot could not start" in caplog.text and "invalid_auth" in caplog.text
    assert BOT_TOKEN not in caplog.text and fake_slack.calls_to("chat.postMessage") == []


def test_no_index_yet_gets_a_reply_saying_so(
    slack: TestClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_index(*args: object, **kwargs: object) -> None:
        raise IndexNotFound("no index")

    monkeypatch.setattr(slack.app.state.service, "ask", no_index)  # type: ignore[attr-defined]
    send_event(slack, dm(QUESTION))
    [reply] = answered(fake_slack)
    assert "run `qa index` first" in str(reply.body["text"])
