"""Topic alerts. A channel follows a topic (`/ask follow …`, bot/follow_command.py); articles that
arrive in the index afterwards, however they came (a feed, `qa fetch`, POST /articles, files and
`qa index`), are matched against every follow with the alerts' scorer (qa/search/topics.py), and
each story that matches well enough is posted to the channel once: title, link, date, source and
the matching passage.

New articles are known from the index itself: each commit the service loads is compared with the
articles recorded in the alert store (bot/follows.py), so nothing here depends on how they came.
`Alerts` decides what to post; `Alerter` is the background thread that posts it through Slack's
Web API (`chat.postMessage`), with a clean stop."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.error import URLError

import numpy as np
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import alert_message
from bot.config import SlackSettings
from bot.follows import AlertStore, Arrival, Follow
from index.errors import IndexNotFound
from index.manifest import Manifest
from qa.contract import Citation
from qa.live import Background
from qa.search.collapse import copy_of
from qa.search.hits import cite
from qa.search.snapshot import Snapshot
from qa.search.topics import ALERT_THRESHOLD, TopicMatch
from qa.service import QAService

log = logging.getLogger(__name__)

BATCH = 500  # arrivals checked in one pass
WINDOW = timedelta(hours=1)  # of the per-channel rate limit


def commit_stamp(manifest: Manifest) -> str:
    """What tells one commit from another, a rebuilt index's included (its versions start again)."""
    return f"{manifest.version}@{manifest.committed_at}"


@dataclass(frozen=True)
class Alert:
    follow: Follow
    citation: Citation  # the article and the part of its best passage to quote (verbatim)
    vector: np.ndarray  # the passage's embedding: a later copy of the story is known by it

    @property
    def channel(self) -> str:
        return self.follow.channel

    @property
    def article_id(self) -> str:
        return self.citation.article_id


class Alerts:
    """Follows and the decisions of what to post, over one service and one store."""

    def __init__(self, service: QAService, store: AlertStore, settings: SlackSettings) -> None:
        self.service = service
        self.store = store
        self.threshold = ALERT_THRESHOLD if settings.qa_alert_threshold is None else settings.qa_alert_threshold
        self.max_per_hour = settings.qa_alert_max_per_hour
        self._observed = ""  # the stamp of the commit this process last recorded in the store

    @classmethod
    def in_index(cls, service: QAService, settings: SlackSettings) -> Alerts:
        return cls(service, AlertStore.in_index(service.settings.index_dir), settings)

    def observe(self) -> Snapshot | None:
        """Record the loaded commit's articles in the store (its new ones become arrivals)."""
        try:
            snap = self.service.snapshot()
        except IndexNotFound:
            return None
        stamp = commit_stamp(snap.manifest)
        if stamp != self._observed:  # the store would find nothing new in a commit it has recorded
            articles = {aid: e.hash for aid, e in snap.manifest.articles.items()}
            self.store.observe(snap.version, stamp, articles)
            self._observed = stamp
        return snap

    def follow(self, channel: str, topic: str, user: str | None) -> tuple[Follow, bool]:
        """Follow `topic` in `channel`: articles in the index now are not news to it."""
        with contextlib.suppress(IndexNotFound):
            self.service.refresh()
        self.observe()
        return self.store.follow(channel, topic, user)

    def due(self) -> tuple[list[Alert], int]:
        """The alerts new arrivals call for (best first), and the last arrival checked (0: none)."""
        snap = self.observe()
        arrivals = self.store.pending(BATCH) if snap is not None else []
        if not arrivals:
            return [], 0
        follows = self.store.follows()
        return (self._match(follows, arrivals) if follows else []), arrivals[-1].seq

    def _match(self, follows: list[Follow], arrivals: list[Arrival]) -> list[Alert]:
        first_seen = {a.article_id: a.first_seq for a in arrivals}
        oldest = min(f.after_seq for f in follows)
        candidates = [aid for aid, seq in first_seen.items() if seq > oldest]
        topics = {topic: t for t, topic in enumerate(dict.fromkeys(f.topic for f in follows))}
        by_topic: dict[int, list[TopicMatch]] = {}
        for m in self.service.match_topics(list(topics), candidates, self.threshold) if candidates else []:
            by_topic.setdefault(m.topic, []).append(m)
        alerts = [
            Alert(f, cite([m.hit])[0], m.hit.vector)
            for f in follows
            for m in by_topic.get(topics[f.topic], [])
            if first_seen[m.hit.row.article_id] > f.after_seq
        ]
        alerts.sort(key=lambda a: (-a.citation.score, a.article_id, a.follow.id))
        return alerts

    def deliver(self, alerts: list[Alert], post: Callable[[Alert], str]) -> list[Alert]:
        """Post each alert through `post` (which returns the message's ts), best first, unless the
        article was ever alerted in its channel, it repeats a story already posted there, or the
        channel had its hourly share; every decision is stored. The alerts posted."""
        posted: list[Alert] = []
        for channel in dict.fromkeys(a.channel for a in alerts):
            mine = [a for a in alerts if a.channel == channel]
            done = self.store.decided(channel, sorted({a.article_id for a in mine}))
            stories = self.store.recent_stories(channel)
            quotes, vectors = [s.quote for s in stories], [s.vector for s in stories]
            ids = [s.article_id for s in stories]
            room = self.max_per_hour - self.store.posted_within(channel, WINDOW)
            for a in mine:
                if a.article_id in done:
                    continue
                done.add(a.article_id)
                c = a.citation
                if (i := copy_of(c.quote, a.vector, quotes, vectors)) is not None:
                    self.store.skip(channel, a.article_id, a.follow, c.score, c.quote, "copy", detail=ids[i])
                elif room <= 0:
                    self.store.skip(channel, a.article_id, a.follow, c.score, c.quote, "limited")
                    log.info("alert of %s to %s dropped: %d an hour at most", a.article_id, channel, self.max_per_hour)
                elif self._post(a, post):
                    room -= 1
                    posted.append(a)
                    quotes.append(c.quote)
                    vectors.append(a.vector)
                    ids.append(a.article_id)
        return posted

    def _post(self, a: Alert, post: Callable[[Alert], str]) -> bool:
        """Post one alert once: claimed first, then posted. A post that cannot have reached Slack
        (no connection, or Slack's rate limit) gives the claim back and ends the pass, to be tried
        again by the next; any other failure is stored and never retried (it may have been shown)."""
        c = a.citation
        if not self.store.claim(a.channel, a.article_id, a.follow, c.score, c.quote, a.vector):
            return False  # another process took it
        try:
            ts = post(a)
        except SlackApiError as e:
            error = str(e.response.get("error") or "error")
            if error == "ratelimited":
                self.store.release(a.channel, a.article_id)
                raise
            self.store.failed(a.channel, a.article_id, error)
            log.warning("could not post the alert of %s to %s: %s", a.article_id, a.channel, error)
            return False
        except URLError:  # raised before any answer came: Slack never saw the message
            self.store.release(a.channel, a.article_id)
            raise
        except Exception as e:
            self.store.failed(a.channel, a.article_id, type(e).__name__)
            raise
        self.store.posted(a.channel, a.article_id, ts)
        return True


def start_alerter(alerts: Alerts, client: WebClient, settings: SlackSettings) -> Alerter:
    """The alerter of a running Slack front end, started."""
    return Alerter(alerts, client, settings.qa_alert_interval, settings.qa_slack_command).start()


class Alerter(Background):
    """Checks for newly indexed articles every `interval` seconds and posts the alerts due,
    until `stop`."""

    join_timeout = 30.0

    def __init__(self, alerts: Alerts, client: WebClient, interval: float, command: str = "/ask") -> None:
        super().__init__("topic-alerts")
        self.alerts = alerts
        self.client = client
        self.interval = interval
        self.command = command

    def run_once(self) -> list[Alert]:
        """One check: the alerts posted."""
        due, last = self.alerts.due()
        posted = self.alerts.deliver(due, self._post) if due else []
        if last:
            self.alerts.store.checked(last)
        return posted

    def _post(self, alert: Alert) -> str:
        message = alert_message(alert.follow.topic, alert.citation, self.command)
        reply = self.client.chat_postMessage(
            channel=alert.channel, unfurl_links=False, unfurl_media=False, **message.payload()
        )
        return str(reply["ts"])

    def run(self) -> None:
        failing = ""  # the last failure, said once rather than at every check
        while not self._stop.is_set():
            try:
                self.run_once()
                failing = ""
            except Exception as e:  # keep checking (e.g. an index built with another model, replaced later)
                if repr(e) != failing:
                    log.exception("checking for topic alerts failed; trying again every %s s", self.interval)
                failing = repr(e)
            self._stop.wait(self.interval)
