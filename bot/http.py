"""The Slack front end of `qa serve`: HTTP events at POST /slack/events in the FastAPI app, and
Socket Mode when SLACK_APP_TOKEN is set too. One bolt App serves both."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.alerts import Alerter, start_alerter
from bot.app import build_slack_bot
from bot.config import SlackSettings
from bot.socket import SocketMode
from qa.service import QAService

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


class SlackFrontend:
    """A `qa.http.app.Frontend`: mounts the events route when HTTP events are configured, builds the
    Slack app and starts its topic alerts once the service exists (`start`), and stops both (and
    Socket Mode) at `stop`."""

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings
        self.app: App | None = None
        self.socket: SocketMode | None = None
        self.alerter: Alerter | None = None

    def mount(self, app: FastAPI) -> None:
        if self.settings.http_enabled:
            app.add_api_route(EVENTS_PATH, self.events, methods=["POST"], include_in_schema=False)
            log.info("Slack events enabled at %s", EVENTS_PATH)
        if self.settings.socket_enabled:
            log.info("Slack Socket Mode enabled: it connects once the index service starts")

    def start(self, service: QAService) -> None:
        try:
            bot = build_slack_bot(service, self.settings)
        except Exception as e:  # the HTTP API keeps serving; the message never holds a token
            log.error("Slack is off: the bot could not start (%s: %s)", type(e).__name__, e)
            return
        self.app = bot.app
        self.alerter = start_alerter(bot.alerts, bot.app.client, self.settings)
        if self.settings.socket_enabled:
            try:
                self.socket = SocketMode(self.app, self.settings).connect()
            except Exception as e:
                log.error("Slack Socket Mode could not connect (%s: %s)", type(e).__name__, e)

    def stop(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        if self.alerter is not None:
            self.alerter.stop()
            self.alerter = None

    async def events(self, request: Request) -> Response:
        """Slack's signed requests (events, commands, button clicks): bolt checks the signature
        (401 when missing, wrong or stale), acks, and answers in its own threads."""
        if self.app is None:
            return JSONResponse({"detail": "the Slack bot is not running"}, status_code=503)
        raw = await request.body()
        if problem := self._refused(raw, request):
            return problem
        body = raw.decode("utf-8", errors="replace")
        bolt_request = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        reply = await run_in_threadpool(self.app.dispatch, bolt_request)
        return Response(reply.body, status_code=reply.status, headers=reply.first_headers())

    def _refused(self, raw: bytes, request: Request) -> Response | None:
        """401 for a missing, malformed, stale or wrong signature; 400 for a signed body that is
        not what its content type says. (Checked before bolt sees the request, which would
        answer some of these with a 500.)"""
        timestamp = request.headers.get("x-slack-request-timestamp", "").strip()
        signature = request.headers.get("x-slack-signature", "")
        if not timestamp.isdigit():
            return JSONResponse({"detail": "missing or malformed X-Slack-Request-Timestamp"}, status_code=401)
        if not SignatureVerifier(self.settings.signing_secret).is_valid(raw, timestamp, signature):
            return JSONResponse({"detail": "missing, wrong or stale Slack signature"}, status_code=401)
        if "json" in request.headers.get("content-type", ""):
            try:
                json.loads(raw)
            except ValueError:
                return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
        return None


def slack_frontends(slack: SlackSettings) -> list[SlackFrontend]:
    """The Slack front end when its settings turn it on; none (saying so) otherwise."""
    if not (slack.http_enabled or slack.socket_enabled):
        log.info(
            "Slack is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN for events at %s, "
            "or SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Socket Mode",
            EVENTS_PATH,
        )
        return []
    return [SlackFrontend(slack)]
