"""`qa mcp`: the MCP tools over stdin and stdout, for desktop assistants that start the server as a
subprocess. stdout carries the protocol alone: logs go to stderr, and while the service starts
(models load) anything printed goes to stderr too."""

from __future__ import annotations

import contextlib
import logging
import sys

from qa.config import Settings
from qa.live import Live
from qa.mcp.tools import build_server
from qa.service import QAService

log = logging.getLogger(__name__)


def serve_stdio(settings: Settings) -> None:
    """Serve until the client closes stdin; new commits are picked up as under `qa serve`."""
    with contextlib.redirect_stdout(sys.stderr):
        service = QAService(settings)
        live = Live(service, watch=False).start()
    server = build_server(lambda: service, settings)
    log.info("MCP server on stdio over %s", settings.index_dir)
    try:
        server.run("stdio")
    finally:
        live.stop()
