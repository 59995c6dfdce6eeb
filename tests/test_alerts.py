"""Topic alerts end to end: `/ask follow …` through signed slash commands to /slack/events, new
articles through the admin API or the corpus folder and POST /reindex, alerts seen on the local
fake of Slack's Web API (a real WebClient posting to it), the state in <index>/alerts.sqlite3."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.alerts import commit_stamp
from bot.follows import AlertStore
from index.feeds.config import add_feed
from index.manifest import read_manifest
from news_qa.app import build_app
from qa.config import Settings
from tests.conftest import API_KEY, FakeSlack, SlackCall, WriteArticle, eventually, hash_service
from tests.feedserver import Entry, FeedServer
from tests.test_bot_http import BOT_TOKEN, SECRET, send_form
from tests.test_bot_socket import APP_TOKEN, FakeSocketMode

TOPIC = "AI chip exports"
THRESHOLD = "0.4"  # for the hash embedder: the new chip article scores 0.60, the old one 0.45, football 0
NEW_CHIPS = {
    "id": "wire/chip-controls",
    "title": "AI chip export controls widened",
    "text": "The commerce department widened export controls on AI chips to cover twelve more countries. "
    "Chip makers said the controls on exports would cut their sales abroad.",
    "url": "https://wire.example.com/chip-controls",
    "published": "2026-04-02",
    "source": "Example Wire",
}
FOOTBALL = {
    "id": "sport/cup-final",
    "title": "Cup final",
    "text": "The home side won the cup final 2-1 after a late goal. Fans celebrated in the streets.",
    "source": "Sport Desk",
    "published": "2026-04-02",
}

Serve = Callable[[], AbstractContextManager[TestClient]]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, bot_settings: Settings) -> Serve:
    """`with serve() as client:` the app with Slack over HTTP events and its alerter (checking every
    50 ms), over the small indexed news corpus; each call is a fresh start of the service."""
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    monkeypatch.setenv("QA_ALERT_THRESHOLD", THRESHOLD)
    monkeypatch.setenv("QA_ALERT_INTERVAL", "0.05")

    @contextmanager
    def start() -> Iterator[TestClient]:
        with TestClient(build_app(bot_settings, hash_service)) as client:
            yield client

    return start


def slash(client: TestClient, fake: FakeSlack, text: str, channel: str = "C1") -> str:
    """The ephemeral reply to `/ask <text>` typed in `channel`."""
    fields = {"command": "/ask", "text": text, "channel_id": channel, "user_id": "U1", "team_id": "T1",
              "response_url": fake.url.replace("/api/", "/response/1"), "trigger_id": "1.2"}  # fmt: skip
    r = send_form(client, fields)
    assert r.status_code == 200
    return r.text


def add(client: TestClient, article: dict[str, str]) -> int:
    r = client.post("/articles", json=article, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200, r.text
    return int(r.json()["index_version"])


def reindex(client: TestClient) -> int:
    r = client.post("/reindex", headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200, r.text
    return int(r.json()["index_version"])


def settle(settings: Settings) -> None:
    """Wait until the alerter has observed the newest commit and checked every arrival in it."""
    store = AlertStore.in_index(settings.index_dir)
    stamp = commit_stamp(read_manifest(settings.index_dir))
    assert eventually(lambda: store.observed() == stamp and store.pending(10) == [], timeout=10)


def alerts(fake: FakeSlack, channel: str | None = None) -> list[SlackCall]:
    return [c for c in fake.calls_to("chat.postMessage") if channel is None or c.body["channel"] == channel]


def blocks(call: SlackCall) -> str:
    return json.dumps(call.body["blocks"], ensure_ascii=False)


def test_a_matching_new_article_is_posted_once_and_the_rest_are_not(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings
) -> None:
    with serve() as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        add(client, {**NEW_CHIPS, "id": "wire/earlier", "title": "Earlier AI chip export story"})
        # the articles indexed before the follow would match too: only their age keeps them out
        assert len(service.match_topics([TOPIC], ["chips", "wire/earlier"], float(THRESHOLD))) == 2
        reply = slash(client, fake_slack, f"follow {TOPIC}")
        assert "Saved: this channel now follows *AI chip exports*" in reply and "/ask unfollow" in reply
        add(client, NEW_CHIPS)
        add(client, FOOTBALL)
        settle(bot_settings)
    [alert] = alerts(fake_slack)
    assert alert.body["channel"] == "C1" and "thread_ts" not in alert.body
    assert alert.body["text"] == "New on AI chip exports: AI chip export controls widened"
    shown = blocks(alert)
    assert "New on *AI chip exports*" in shown
    link = "<https://wire.example.com/chip-controls|AI chip export controls widened>"
    assert f"{link}* · Example Wire · 2026-04-02" in shown
    assert f">{NEW_CHIPS['text']}" in shown  # the matching passage, verbatim
    assert alert.authorization == f"Bearer {BOT_TOKEN}"


def test_no_repeat_after_a_restart_even_when_the_article_changes(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings, write_article: WriteArticle
) -> None:
    with serve() as client:
        slash(client, fake_slack, f"follow {TOPIC}")
        add(client, NEW_CHIPS)
        settle(bot_settings)
    assert len(alerts(fake_slack)) == 1
    with serve() as client:  # a new process: nothing but the SQLite file remembers
        assert "*AI chip exports*: since" in slash(client, fake_slack, "following")
        add(client, {**NEW_CHIPS, "text": NEW_CHIPS["text"] + " Officials said more rules would follow."})
        write_article(
            "wire/chip-smuggling.md",
            "Customs officers seized smuggled AI chips bound for export. The exports broke the chip controls.",
            title="Smuggled AI chips seized",
            published="2026-04-03",
            source="Daily Ledger",
        )
        reindex(client)
        settle(bot_settings)
    second = alerts(fake_slack)[1:]
    assert [c.body["text"] for c in second] == ["New on AI chip exports: Smuggled AI chips seized"]


def test_unfollow_stops_alerts_in_that_channel_only(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings
) -> None:
    with serve() as client:
        slash(client, fake_slack, f"follow {TOPIC}", channel="C1")
        slash(client, fake_slack, "follow ai  CHIP exports", channel="C2")
        assert slash(client, fake_slack, "unfollow ai chip exports", channel="C1") == (
            "Removed: this channel no longer follows *AI chip exports*."
        )
        add(client, NEW_CHIPS)
        settle(bot_settings)
        assert "follows no topics" in slash(client, fake_slack, "following", channel="C1")
    assert alerts(fake_slack, "C1") == []
    [alert] = alerts(fake_slack, "C2")
    assert "New on *ai CHIP exports*" in blocks(alert)


def statuses(settings: Settings) -> dict[str, str]:
    """Article id -> what was decided for it (posted, copy, limited, failed), in any channel."""
    with sqlite3.connect(settings.index_dir / "alerts.sqlite3") as db:
        return dict(db.execute("SELECT article_id, status FROM alerts").fetchall())


def test_copies_of_a_story_are_posted_once_and_the_rate_limit_holds(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings, write_article: WriteArticle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("QA_ALERT_MAX_PER_HOUR", "2")
    text = "Exports of AI chips to {} now need a licence, the ministry said, under new chip export rules."
    with serve() as client:
        slash(client, fake_slack, f"follow {TOPIC}")
        write_article("a.md", text.format("Vietnam"), title="AI chip exports to Vietnam", source="Wire A")
        write_article("a-copy.md", text.format("Vietnam"), title="AI chip exports to Vietnam", source="Wire B")
        reindex(client)
        settle(bot_settings)
        write_article("b.md", text.format("Brazil"), title="AI chip exports to Brazil", source="Wire A")
        write_article("c.md", text.format("Kenya"), title="AI chip exports to Kenya", source="Wire A")
        reindex(client)
        settle(bot_settings)
        write_article("d.md", text.format("Chile"), title="AI chip exports to Chile", source="Wire A")
        reindex(client)
        settle(bot_settings)
    assert statuses(bot_settings) == {"a": "posted", "a-copy": "copy", "b": "posted", "c": "limited", "d": "limited"}
    assert [c.body["text"] for c in alerts(fake_slack)] == [
        "New on AI chip exports: AI chip exports to Vietnam",
        "New on AI chip exports: AI chip exports to Brazil",
    ]


def test_bad_follow_commands_get_a_reason(serve: Serve, fake_slack: FakeSlack) -> None:
    with serve() as client:
        assert "Say which topic, e.g. `/ask follow AI chip exports`" in slash(client, fake_slack, "follow")
        assert "Say which topic" in slash(client, fake_slack, "unfollow \u200b")
        too_long = slash(client, fake_slack, "follow " + "chips " * 40)
        assert "The topic is 239 characters; the limit is 200" in too_long
        assert "follows no topics" in slash(client, fake_slack, "following")
        slash(client, fake_slack, f"Follow {TOPIC}")
        assert "already follows *AI chip exports*" in slash(client, fake_slack, f"follow {TOPIC.upper()}")
        assert "does not follow *football*; it follows *AI chip exports*" in slash(
            client, fake_slack, "unfollow football"
        )
    assert alerts(fake_slack) == []  # replies are the ack: ephemeral, nothing posted


def test_a_question_that_starts_with_following_is_asked(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings
) -> None:
    with serve() as client:
        slash(client, fake_slack, f"follow {TOPIC}")
        reply = slash(client, fake_slack, "following the rate decision, what did the Fed say?")
        assert "This channel follows" not in reply
        question = "following the rate decision, what did the Fed say?"
        assert eventually(lambda: any(question in json.dumps(c.body) for c in fake_slack.calls_to("chat.postMessage")))


def test_a_post_that_fails_is_not_retried(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.errors["chat.postMessage"] = "not_in_channel"
    with serve() as client:
        slash(client, fake_slack, f"follow {TOPIC}")
        add(client, NEW_CHIPS)
        settle(bot_settings)
        del fake_slack.errors["chat.postMessage"]
        add(client, {**NEW_CHIPS, "text": NEW_CHIPS["text"] + " More rules are due."})
        settle(bot_settings)
    assert len(alerts(fake_slack)) == 1  # the failed attempt only
    assert "could not post the alert of wire/chip-controls to C1: not_in_channel" in caplog.text


def test_operators_list_and_remove_follows(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from news_qa.cli import main

    with serve() as client:
        slash(client, fake_slack, f"follow {TOPIC}", channel="C1")
        slash(client, fake_slack, "follow data centre power", channel="C2")
        add(client, NEW_CHIPS)
        settle(bot_settings)
    index_dir = str(bot_settings.index_dir)
    assert main(["follows", "list", "--index-dir", index_dir, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(f["channel"], f["topic"], f["posted"]) for f in listed] == [
        ("C1", TOPIC, 1),
        ("C2", "data centre power", 0),
    ]
    assert main(["follows", "remove", str(listed[0]["id"]), "--index-dir", index_dir]) == 0
    assert f"removed follow {listed[0]['id']}: 'AI chip exports' in C1" in capsys.readouterr().out
    assert main(["follows", "list", "--index-dir", index_dir]) == 0
    table = capsys.readouterr().out
    assert "data centre power" in table and TOPIC not in table
    assert main(["follows", "remove", "999", "--index-dir", index_dir]) == 1
    assert capsys.readouterr().err == "qa: no follow with id 999 (see `qa follows list`)\n"


def test_follows_list_without_a_store_or_with_a_broken_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from news_qa.cli import main

    assert main(["follows", "list", "--index-dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == "No topics are followed.\n"
    assert not (tmp_path / "none").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "alerts.sqlite3").write_text("not a database")
    assert main(["follows", "list", "--index-dir", str(broken)]) == 1
    assert capsys.readouterr().err.startswith(f"qa: cannot read {broken / 'alerts.sqlite3'}: file is not a database")


def test_alerts_run_beside_socket_mode(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, socket_server: FakeSocketMode, bot_settings: Settings
) -> None:
    for name, value in {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake_slack.url,
                        "QA_ALERT_THRESHOLD": THRESHOLD, "QA_ALERT_INTERVAL": "0.05"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    payload = {"command": "/ask", "text": f"follow {TOPIC}", "channel_id": "C9", "user_id": "U1", "team_id": "T1",
               "response_url": fake_slack.url.replace("/api/", "/response/9"), "trigger_id": "1.9"}  # fmt: skip
    with TestClient(build_app(bot_settings, hash_service)) as client:
        socket_server.send({"envelope_id": "env-follow", "type": "slash_commands", "payload": payload,
                          "accepts_response_payload": True})  # fmt: skip
        socket_server.wait_ack("env-follow")
        [ack] = [m for m in socket_server.received if m.get("envelope_id") == "env-follow"]
        assert "Saved: this channel now follows *AI chip exports*" in ack["payload"]["text"]
        add(client, NEW_CHIPS)
        [alert] = fake_slack.wait_for("chat.postMessage")
    assert alert.body["channel"] == "C9" and "AI chip export controls widened" in alert.body["text"]


def test_articles_from_a_feed_poll_are_alerted_once_and_not_again_after_a_restart(
    serve: Serve, fake_slack: FakeSlack, bot_settings: Settings, feed_server: FeedServer, tmp_path: Path
) -> None:
    feeds = {"feeds_file": tmp_path / "feeds.toml", "fetch_allow_private": True, "feeds_poll": False}
    settings = bot_settings.model_copy(update=feeds)  # polled here, not in the background
    feed_server.page("/chips", NEW_CHIPS["title"], NEW_CHIPS["text"], site="Example Wire")
    feed_server.page("/cup", FOOTBALL["title"], FOOTBALL["text"], site="Sport Desk")
    entries = [
        Entry("urn:wire:chips", NEW_CHIPS["title"], "/chips", "2026-04-02T08:00:00+00:00", "Chip controls."),
        Entry("urn:wire:cup", FOOTBALL["title"], "/cup", "2026-04-02T09:00:00+00:00", "A cup final."),
    ]
    url = feed_server.feed("/rss", "rss", "The Wire", [])
    add_feed(settings.feeds, url, source="Example Wire", every="15m")

    def poll_and_index(client: TestClient) -> list[str]:
        service = client.app.state.service  # type: ignore[attr-defined]
        report = service.poller().poll(force=True)  # as `qa feeds poll --once` does
        service.reindex()
        settle(settings)
        return [a for f in report.feeds for a in f.new]

    with TestClient(build_app(settings, hash_service)) as client:
        assert poll_and_index(client) == []  # the feed is empty when the channel follows the topic
        slash(client, fake_slack, f"follow {TOPIC}")
        feed_server.feed("/rss", "rss", "The Wire", entries)
        assert len(poll_and_index(client)) == 2
    [alert] = alerts(fake_slack)
    assert alert.body["text"] == f"New on {TOPIC}: {NEW_CHIPS['title']}"
    assert "Example Wire" in blocks(alert)
    assert NEW_CHIPS["text"].split(". ")[0] in blocks(alert)  # the passage, quoted from the fetched page

    with TestClient(build_app(settings, hash_service)) as client:  # a restart: the feed unchanged
        assert poll_and_index(client) == []
    assert len(alerts(fake_slack)) == 1
