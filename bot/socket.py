"""Socket Mode: the bot opens a WebSocket to Slack (no public URL needed). Used by `qa bot` and,
when SLACK_APP_TOKEN is set, by `qa serve`."""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.alerts import start_alerter
from bot.app import build_slack_bot
from bot.config import SlackSettings
from qa.config import Settings
from qa.live import Live
from qa.service import QAService

log = logging.getLogger(__name__)


class SocketMode:
    """One Socket Mode connection for a bolt App (slack_sdk's built-in client: apps.connections.open
    at SLACK_API_URL gives the WebSocket URL; envelopes are acked as soon as bolt acks them)."""

    def __init__(self, app: App, settings: SlackSettings) -> None:
        self.handler = SocketModeHandler(app, settings.app_token)

    def connect(self) -> SocketMode:
        self.handler.connect()
        log.info("Slack Socket Mode connected")
        return self

    def close(self) -> None:
        self.handler.close()
        log.info("Slack Socket Mode closed")


def serve(settings: Settings, slack: SlackSettings, stop: threading.Event) -> None:
    """`qa bot`: answer over Socket Mode and post topic alerts until `stop` is set, picking up new
    index commits."""
    service = QAService(settings)
    live = Live(service).start()
    try:
        bot = build_slack_bot(service, slack)
        socket = SocketMode(bot.app, slack).connect()
        alerter = start_alerter(bot.alerts, bot.app.client, slack)
        try:
            stop.wait()
        finally:
            alerter.stop()
            socket.close()
    finally:
        live.stop()
