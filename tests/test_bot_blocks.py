"""The Slack bot's parts without Slack: Block Kit rendering and its limits, question text, event
dedupe, the feedback store, and the app manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.app import SeenEvents, ignored
from bot.blocks import MAX_TEXT, alert_message, answer_message, fit, notice, section, split_text, voted
from bot.config import SlackSettings
from bot.feedback import FeedbackStore
from bot.handlers import clean_text
from qa.contract import NO_ANSWER, AnswerSentence, AskResult, Citation
from tests.conftest import block_kit_problems


def cite(n: int, **fields: object) -> Citation:
    values: dict[str, object] = {
        "n": n, "article_id": f"a{n}", "title": f"Title {n}", "url": f"https://news.example.com/{n}",
        "published": "2026-03-18", "source": "Daily Ledger", "quote": f"Quote number {n}.",
        "start": 0, "end": 10, "score": 0.5,
    }  # fmt: skip
    values.update(fields)
    return Citation(**values)  # type: ignore[arg-type]


def result(sentences: list[tuple[str, tuple[int, ...]]], citations: list[Citation]) -> AskResult:
    answer = [
        AnswerSentence(text=text, citations=list(ns), article_id=f"a{ns[0]}", start=0, end=len(text), score=0.9)
        for text, ns in sentences
    ]
    return AskResult.of("q", answer, citations, index_version=3, took_ms=1.0)


def text_of(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_answer_has_markers_sources_and_buttons() -> None:
    r = result([("Rates held at 3.5%.", (2,)), ("Cuts slow.", (1, 2))], [cite(n) for n in (1, 2)])
    message = answer_message(r, "answer-id")
    assert message.text == "Rates held at 3.5%. [2] Cuts slow. [1][2]"
    assert message.blocks[0]["text"]["text"] == message.text
    sources = message.blocks[1]["text"]["text"]
    assert sources.startswith("*Sources*\n*<https://news.example.com/1|[1] Title 1>* · Daily Ledger · 2026-03-18\n")
    assert ">Quote number 2." in sources
    assert [e["value"] for e in message.blocks[-1]["elements"]] == ["answer-id", "answer-id"]
    assert block_kit_problems(message.payload()) == []


def test_passages_of_one_article_are_shown_under_one_source() -> None:
    same = [cite(1), cite(2, article_id="a1", quote="Second passage of article one."), cite(3)]
    sources = answer_message(result([("Rates held.", (1, 2))], same), None).blocks[1]["text"]["text"]
    assert sources.count("Title 1") == 1 and sources.count("https://news.example.com/1") == 1
    assert "*<https://news.example.com/1|[1][2] Title 1>* · Daily Ledger · 2026-03-18\n>[1] Quote number 1." in sources
    assert ">[2] Second passage of article one." in sources
    assert "|[3] Title 3>*" in sources and ">Quote number 3." in sources  # one passage: no number repeated


def test_a_latest_question_says_as_of_when() -> None:
    from qa.contract import TimeApplied

    r = result([("Rates held.", (1,))], [cite(1)])
    dated = [s.model_copy(update={"published": "2026-11-29"}) for s in r.sentences]
    latest = TimeApplied(from_=None, to=None, reason="current state", latest=True, as_of="2026-12-01")
    message = answer_message(r.model_copy(update={"sentences": dated, "time": latest}), None)
    assert "As of 2026-11-29" in text_of(message.blocks)
    assert "As of" not in text_of(answer_message(r, None).blocks)


def test_at_most_five_sources_the_cited_ones_first() -> None:
    r = result([("Late fact.", (8,))], [cite(n) for n in range(1, 9)])
    sources = answer_message(r, "id").blocks[1]["text"]["text"]
    assert [n for n in range(1, 9) if f"[{n}] Title" in sources] == [1, 2, 3, 4, 8]


def test_markup_is_escaped_and_links_stay_whole() -> None:
    nasty = cite(1, title="<!channel> A|B & C", url="https://x.example/a|b>c", source=None, quote="1 < 2 & 3 > 2")
    blocks = answer_message(result([("Fish & <chips>.", (1,))], [nasty]), None).blocks
    assert blocks[0]["text"]["text"] == "Fish &amp; &lt;chips&gt;. [1]"
    assert "*<https://x.example/a%7Cb%3Ec|[1] &lt;!channel&gt; A¦B &amp; C>* · 2026-03-18" in blocks[1]["text"]["text"]
    assert ">1 &lt; 2 &amp; 3 &gt; 2" in blocks[1]["text"]["text"]
    no_link = cite(1, url="javascript:alert(1)")
    assert "*[1] Title 1*" in answer_message(result([], [no_link]), None).blocks[1]["text"]["text"]
    assert all(b["type"] != "actions" for b in blocks)  # no answer id: no buttons


def test_nothing_found_shows_the_closest_passages() -> None:
    message = answer_message(result([], [cite(n) for n in range(1, 6)]), "id")
    assert message.text == NO_ANSWER and message.blocks[0]["text"]["text"] == NO_ANSWER
    closest = message.blocks[1]["text"]["text"]
    assert closest.startswith("*Closest passages*") and "[3] Title" in closest and "[4] Title" not in closest
    assert [b["type"] for b in answer_message(result([], []), "id").blocks] == ["section", "actions"]


def test_nothing_found_says_why_when_the_service_says_why() -> None:
    why = "Nothing in the corpus answers this question: the closest article does not mention 2006."
    r = AskResult.of("who won in 2006?", [], [cite(1)], index_version=3, took_ms=1.0, message=why)
    message = answer_message(r, None)
    assert message.text == why and message.blocks[0]["text"]["text"] == why


def test_huge_answers_and_sources_are_split_and_shortened_to_fit() -> None:
    words = " ".join(f"word{i}" for i in range(2500))  # ~20,000 characters
    long_source = cite(1, title="T" * 5000, url="https://e.example/" + "p" * 900, quote=words, source="S" * 500)
    r = result([(words, (1,)), ("x" * 9000, (1,))], [long_source] + [cite(n, quote=words) for n in range(2, 6)])
    message = answer_message(r, "id")
    assert block_kit_problems(message.payload()) == []
    assert len(message.text) <= 3000 and message.blocks[-1]["type"] == "actions"
    answer = "".join(b["text"]["text"] for b in message.blocks if b["type"] == "section" and "word" in str(b))
    assert "word0 " in answer and "word2499" in answer and "x" * 100 in answer  # split, not cut
    sources = next(b["text"]["text"] for b in message.blocks if "*Sources*" in str(b))
    assert "word0" in sources and "word2499" not in sources and "…" in sources  # quotes shortened


def test_more_than_fifty_blocks_are_trimmed_keeping_the_buttons() -> None:
    blocks = [section(f"part {i}") for i in range(80)] + answer_message(result([], []), "id").blocks[-1:]
    trimmed = fit(blocks)
    assert len(trimmed) == 50 and trimmed[-1]["type"] == "actions" and "trimmed" in text_of(trimmed[-2:])
    assert block_kit_problems({"text": "t", "blocks": trimmed}) == []


@pytest.mark.parametrize("text", ["&amp;" * 1000, "a" * 7000, ("line\n" * 900), "word " * 1300])
def test_split_text_keeps_limits_and_escapes(text: str) -> None:
    pieces = split_text(text)
    assert all(0 < len(p) <= MAX_TEXT for p in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert all(p.count("&") == p.count("&amp;") for p in pieces)


def test_a_vote_replaces_the_buttons_with_thanks() -> None:
    blocks = answer_message(result([("A.", (1,))], [cite(1)]), "id").blocks
    after = voted(blocks, "up", "U7")
    assert all(b["type"] != "actions" for b in after) and after[:-1] == blocks[:-1]
    assert after[-1]["elements"][0]["text"] == "👍 Thanks for the feedback, <@U7>."
    assert block_kit_problems({"text": "n", "blocks": notice("x" * 7000).blocks}) == []


def test_clean_text_removes_slack_markup() -> None:
    raw = "<@UBOT> what did <@U2|ann> say in <#C1|general> about <https://x.example|this> &amp; <!here>  rates?"
    assert clean_text(raw) == "what did say in #general about this & rates?"
    assert clean_text("<@UBOT>") == "" and clean_text("see <https://x.example>") == "see https://x.example"


def test_seen_events_repeat_expire_and_stay_bounded() -> None:
    now = [0.0]
    seen = SeenEvents(size=3, ttl=60, clock=lambda: now[0])
    assert seen.first("Ev1") and not seen.first("Ev1") and seen.first("")
    now[0] = 61
    assert seen.first("Ev1")  # forgotten after the time to live
    for n in range(2, 6):
        seen.first(f"Ev{n}")
    assert seen.first("Ev2")  # pushed out by newer ids


def test_only_peoples_questions_get_through() -> None:
    person = {"type": "message", "channel_type": "im", "user": "U1", "text": "q"}
    assert not ignored(person) and not ignored({"type": "app_mention", "user": "U1"})
    for other in ({"bot_id": "B1"}, {"subtype": "message_changed"}, {"user": None}, {"channel_type": "channel"}):
        assert ignored({**person, **other})


def test_feedback_store_keeps_answers_threads_and_votes(tmp_path: Path) -> None:
    store = FeedbackStore.in_index(tmp_path / "new-index")
    r = result([("A.", (1,))], [cite(1)])
    first = store.record_answer(channel="C1", thread_ts="1.0", user="U1", question="first?", asked="first?", result=r)
    store.record_answer(channel="C1", thread_ts="1.0", user="U1", question="then?", asked="first? then?", result=r)
    assert store.thread_question("C1", "1.0") == "first?" and store.thread_question("C1", "2.0") is None
    store.record_vote(first, "up", "U2")
    store.record_vote("unknown-id", "down", "U3")  # kept, without the answer it no longer finds
    import sqlite3

    with sqlite3.connect(tmp_path / "new-index" / "feedback.sqlite3") as db:
        rows = db.execute("SELECT answer_id, question, answer, vote, user, citations FROM feedback").fetchall()
    assert rows[0][:5] == (first, "first?", "A. [1]", "up", "U2") and json.loads(rows[0][5])[0]["n"] == 1
    assert rows[1][:5] == ("unknown-id", None, None, "down", "U3")


def test_manifests_ask_for_what_the_bot_uses() -> None:
    for name, socket_mode in (("manifest.yml", True), ("manifest-http.yml", False)):
        manifest = yaml.safe_load((Path(__file__).parents[1] / "bot" / name).read_text(encoding="utf-8"))
        settings = manifest["settings"]
        assert settings["socket_mode_enabled"] is socket_mode and settings["interactivity"]["is_enabled"]
        assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
        assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
            "app_mentions:read", "chat:write", "commands", "im:history", "reactions:write"
        }  # fmt: skip
        [command] = manifest["features"]["slash_commands"]
        assert command["command"] == SlackSettings(_env_file=None).qa_slack_command
        assert "follow AI chip exports" in command["usage_hint"] and "following" in command["usage_hint"]
        urls = [settings["event_subscriptions"].get("request_url"), settings["interactivity"].get("request_url")]
        assert all(u.endswith("/slack/events") for u in urls) if not socket_mode else urls == [None, None]


def test_settings_hide_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-1")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("QA_SLACK_COMMAND", "news")
    s = SlackSettings(_env_file=None)
    assert s.bot_token == "xoxb-secret-1" and "xoxb-secret-1" not in repr(s) + str(s.model_dump())
    assert s.slack_api_url == "http://127.0.0.1:9/api/" and s.qa_slack_command == "/news"
    assert not s.http_enabled and not s.socket_enabled


def test_an_alert_shows_the_article_and_its_passage_within_slack_limits() -> None:
    c = cite(1, title="T" * 400, url="https://news.example.com/a|b", quote="Chips & <exports>. " * 200)
    message = alert_message("chips & <exports>", c, command="/news")
    assert block_kit_problems(message.payload()) == []
    shown = text_of(message.blocks)
    assert "New on *chips &amp; &lt;exports&gt;*" in shown and "[1]" not in shown
    assert "<https://news.example.com/a%7Cb|" in shown and "· Daily Ledger · 2026-03-18" in shown
    assert ">Chips &amp; &lt;exports&gt;. Chips" in shown and "…" in shown  # shortened, still verbatim up to the cut
    assert "`/news unfollow chips &amp; &lt;exports&gt;` stops this one" in shown
    assert message.text.startswith("New on chips &amp; &lt;exports&gt;: TTT")
