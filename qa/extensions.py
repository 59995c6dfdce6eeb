"""Plug-ins found through package entry points, so that front ends built on `qa` (the Slack bot in
`bot/`) can add routes and commands without `qa` importing them: imports go bot -> qa, never back.

- group `qa.app_extensions`: `extend(app: FastAPI, settings: Settings) -> Lifecycle | None`,
  called by `create_app`; a returned Lifecycle is started with the service once the index is
  loaded, and stopped at shutdown.
- group `qa.commands`: `register(subparsers) -> None`, adds subcommands to `qa`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Lifecycle(Protocol):
    def start(self, service: Any) -> None: ...

    def stop(self) -> None: ...


def load(group: str) -> list[Callable[..., Any]]:
    """The loaded entry points of a group, in name order; a broken plug-in is logged and skipped."""
    found = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            found.append(ep.load())
        except Exception:  # a plug-in must not take the service down
            log.exception("could not load plug-in %s from %s", ep.name, ep.value)
    return found
