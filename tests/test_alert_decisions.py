"""What the alerts decide, step by step without a thread or Slack: which articles are news to a
follow, and that each article is posted to a channel at most once."""

from __future__ import annotations

import shutil
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.alerts import Alert, Alerter, Alerts
from bot.config import SlackSettings
from bot.follows import AlertStore
from index.articles import Article
from qa.config import Settings
from qa.service import QAService
from tests.conftest import eventually, hash_service, index_now

TOPIC = "AI chip exports"


def chip_article(n: int, extra: str = "") -> Article:
    return Article(
        id=f"wire/chips-{n}",
        title=f"AI chip export rules, part {n}",
        text=f"New export rules for AI chips take effect in {n} countries. Chip makers expect lower exports.{extra}",
        source="Example Wire",
    )


@pytest.fixture
def service(app_settings: Settings, corpus: None) -> QAService:
    index_now(app_settings)
    return hash_service(app_settings)


@pytest.fixture
def alerts(service: QAService) -> Alerts:
    settings = SlackSettings(qa_alert_threshold=0.4, _env_file=None)  # type: ignore[call-arg]
    return Alerts(service, AlertStore.in_index(service.settings.index_dir), settings)


def due_ids(alerts: Alerts) -> list[str]:
    due, last = alerts.due()
    if last:
        alerts.store.checked(last)
    return [a.article_id for a in due]


def test_only_articles_indexed_after_the_follow_are_news_to_it(service: QAService, alerts: Alerts) -> None:
    alerts.observe()  # alerts begin: the index's articles are the baseline, not arrivals
    assert alerts.store.pending(10) == []
    alerts.follow("C1", TOPIC, "U1")
    service.add_article(chip_article(1))  # arrives, not checked yet, before C2 follows
    alerts.follow("C2", TOPIC, "U2")
    assert service.match_topics([TOPIC], ["wire/chips-1"], alerts.threshold)  # it would match
    service.add_article(chip_article(2))
    due, last = alerts.due()
    assert sorted((a.channel, a.article_id) for a in due) == [
        ("C1", "wire/chips-1"),
        ("C1", "wire/chips-2"),
        ("C2", "wire/chips-2"),
    ]
    alerts.store.checked(last)
    assert due_ids(alerts) == []  # checked once


def test_rebuilds_and_unchanged_commits_bring_nothing_new(service: QAService, alerts: Alerts) -> None:
    alerts.follow("C1", TOPIC, "U1")
    service.add_article(chip_article(1))
    assert due_ids(alerts) == ["wire/chips-1"]
    service.writer().reconcile(service.settings.corpus_dir, rebuild=True)  # same articles, new version
    service.refresh()
    assert due_ids(alerts) == []
    shutil.rmtree(service.settings.index_dir / "segments")  # the index built again from nothing:
    (service.settings.index_dir / "manifest.json").unlink()  # its versions start again
    index_now(service.settings)
    fresh = hash_service(service.settings)
    again = Alerts(fresh, alerts.store, SlackSettings(qa_alert_threshold=0.4, _env_file=None))  # type: ignore[call-arg]
    assert due_ids(again) == []
    assert alerts.store.observed() is not None and alerts.store.observed().startswith("1@")  # type: ignore[union-attr]


def test_a_changed_article_is_checked_again_but_posted_once(service: QAService, alerts: Alerts) -> None:
    alerts.follow("C1", TOPIC, "U1")
    service.add_article(chip_article(1))
    posts: list[Alert] = []
    due, _ = alerts.due()
    assert [a.article_id for a in alerts.deliver(due, lambda a: posts.append(a) or "1.0")] == ["wire/chips-1"]
    assert alerts.deliver(due, lambda a: posts.append(a) or "1.1") == []  # a re-run (crash before the checkpoint)
    service.add_article(chip_article(1, " Officials will review them in a year."))
    due, _ = alerts.due()
    assert [a.article_id for a in due] == ["wire/chips-1"]  # the change is looked at ...
    assert alerts.deliver(due, lambda a: posts.append(a) or "1.2") == []  # ... and not posted again
    assert len(posts) == 1
    quote = posts[0].citation
    assert service.snapshot().manifest.articles  # the quote is verbatim, with the article's offsets
    assert chip_article(1).text[quote.start : quote.end] == quote.quote


def test_a_failed_post_is_recorded_and_not_retried(service: QAService, alerts: Alerts) -> None:
    alerts.follow("C1", TOPIC, "U1")
    service.add_article(chip_article(1))
    due, _ = alerts.due()

    def refused(alert: Alert) -> str:
        response = SlackResponse(client=None, http_verb="POST", api_url="", req_args={}, data={"ok": False,
                                 "error": "channel_not_found"}, headers={}, status_code=200)  # fmt: skip
        raise SlackApiError("refused", response)

    assert alerts.deliver(due, refused) == []
    assert alerts.deliver(due, lambda a: "1.0") == []
    [stats] = alerts.store.stats("C1")
    assert stats.posted == 0


def test_the_same_article_matching_two_topics_of_a_channel_is_posted_once(service: QAService, alerts: Alerts) -> None:
    alerts.follow("C1", TOPIC, "U1")
    alerts.follow("C1", "chip makers", "U2")
    alerts.follow("C2", "chip makers", "U2")
    service.add_article(chip_article(1))
    due, _ = alerts.due()
    assert sorted((a.channel, a.follow.topic) for a in due) == [
        ("C1", TOPIC),
        ("C1", "chip makers"),
        ("C2", "chip makers"),
    ]
    posted = alerts.deliver(due, lambda a: "1.0")
    assert sorted(a.channel for a in posted) == ["C1", "C2"]


def test_a_failing_check_is_logged_once_and_retried(
    alerts: Alerts, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def broken() -> tuple[list[Alert], int]:
        calls.append(1)
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(alerts, "due", broken)
    alerter = Alerter(alerts, client=None, interval=0.01).start()  # type: ignore[arg-type]
    try:
        assert eventually(lambda: len(calls) >= 5)
    finally:
        alerter.stop()
    assert caplog.text.count("checking for topic alerts failed") == 1


def test_a_post_that_never_reached_slack_is_tried_again(service: QAService, alerts: Alerts) -> None:
    alerts.follow("C1", TOPIC, "U1")
    service.add_article(chip_article(1))
    due, _ = alerts.due()

    def down(alert: Alert) -> str:
        raise URLError(ConnectionRefusedError(111, "Connection refused"))

    with pytest.raises(URLError):
        alerts.deliver(due, down)
    assert [a.article_id for a in alerts.deliver(due, lambda a: "1.0")] == ["wire/chips-1"]
    assert alerts.deliver(due, lambda a: "1.1") == []
