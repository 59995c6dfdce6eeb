"""`build_slack_bot`: the bolt App with its listeners (and its topic alerts), for HTTP events and
Socket Mode alike. No app object at module level: each call builds a new one."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.alerts import Alerts
from bot.config import SlackSettings
from bot.feedback import FeedbackStore
from bot.follow_command import FollowCommand
from bot.handlers import Answerer, register
from qa.service import QAService

log = logging.getLogger(__name__)


class SeenEvents:
    """Event ids seen lately (bounded, with a time to live), so a redelivery is answered once."""

    def __init__(self, size: int = 10_000, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.ttl, self.clock = size, ttl, clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, event_id: str) -> bool:
        """True the first time an id is seen (and for no id at all), False for a repeat."""
        if not event_id:
            return True
        with self._lock:
            now = self.clock()
            while self._seen and next(iter(self._seen.values())) < now - self.ttl:
                self._seen.popitem(last=False)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            if len(self._seen) > self.size:
                self._seen.popitem(last=False)
            return True


def ignored(event: dict[str, Any]) -> bool:
    """Events that are not a person's question: bots (this one included: no loops), edits and
    other subtypes, and channel messages (in channels the bot answers mentions only)."""
    if event.get("bot_id") or event.get("subtype") or not event.get("user"):
        return True
    return event.get("type") == "message" and event.get("channel_type") != "im"


class _UnusedTokenNote(logging.Filter):
    """bolt warns that `token` goes unused whenever SLACK_BOT_TOKEN is set and a client is given,
    as here always (the client carries SLACK_API_URL): nothing for an operator to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


@dataclass(frozen=True)
class SlackBot:
    app: App
    alerts: Alerts  # the follows its slash command saves, for the alerter beside it


def build_slack_bot(service: QAService, settings: SlackSettings, client: WebClient | None = None) -> SlackBot:
    """The bolt App over `service`, and its topic alerts. `client` defaults to a WebClient with
    the bot token at SLACK_API_URL; building it calls auth.test, so a wrong token fails here, loudly."""
    client = client or WebClient(token=settings.bot_token, base_url=settings.slack_api_url)
    bolt_log = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _UnusedTokenNote) for f in bolt_log.filters):
        bolt_log.addFilter(_UnusedTokenNote())
    app = App(
        client=client,
        signing_secret=settings.signing_secret,
        process_before_response=False,  # ack within Slack's 3 seconds, answer after
        name="news-qa",
    )
    seen = SeenEvents()

    def skip_repeats_and_bots(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
        if body.get("type") == "event_callback":
            if not seen.first(str(body.get("event_id") or "")):
                log.info("event %s delivered again: already answered", body.get("event_id"))
                return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
            if ignored(body.get("event") or {}):
                return BoltResponse(status=200, body="")
        return next()

    app.middleware(skip_repeats_and_bots)
    answerer = Answerer(service, FeedbackStore.in_index(service.settings.index_dir))
    alerts = Alerts.in_index(service, settings)
    register(app, answerer, settings.qa_slack_command, FollowCommand(alerts, settings.qa_slack_command))
    return SlackBot(app, alerts)
