"""The served app: qa's HTTP API and page, with the Slack front end when SLACK_* settings turn it on."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from bot.config import SlackSettings
from bot.http import SlackFrontend, slack_frontends
from qa.config import Settings
from qa.http.app import create_app
from qa.service import QAService


def frontends(slack: SlackSettings | None = None) -> list[SlackFrontend]:
    """The front ends served beside the API: Slack's, as SLACK_* settings (or `slack`) say."""
    return slack_frontends(slack or SlackSettings())


def build_app(
    settings: Settings | None = None,
    service_factory: Callable[[Settings], QAService] = QAService,
    slack: SlackSettings | None = None,
) -> FastAPI:
    settings = settings or Settings()
    return create_app(settings, service_factory, frontends(slack))
