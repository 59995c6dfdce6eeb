"""`/mcp` under `qa serve`: the MCP tools over Streamable HTTP, stateless with JSON responses (no
session lives in the process, so any replica behind a load balancer answers any request), behind
the same read-key check as the other read routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from qa.config import Settings
from qa.http.deps import READ_CHALLENGE, READ_KEY_MISSING, bearer_token, read_key_refused
from qa.mcp.tools import ServiceGetter, build_server

PATH = "/mcp"


class McpEndpoint:
    """An ASGI endpoint: 401 without a read key when QA_READ_KEYS is set, else the SDK's transport."""

    def __init__(self, manager: StreamableHTTPSessionManager, settings: Settings) -> None:
        self.manager = manager
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.lower(): v for k, v in scope["headers"]}
        given = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        if read_key_refused(self.settings, given):
            await JSONResponse({"detail": READ_KEY_MISSING}, 401, headers=READ_CHALLENGE)(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)


def mount_mcp(app: FastAPI, settings: Settings, service: ServiceGetter) -> StreamableHTTPSessionManager:
    """Add `/mcp` to the app; the manager returned must run (`async with manager.run()`) in the
    app's lifespan."""
    server = build_server(service, settings)
    # No Host/Origin allow-list, like the rest of the HTTP API: behind a load balancer the Host is
    # the public name. Set QA_READ_KEYS where the port is reachable by others.
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    endpoint: Any = McpEndpoint(manager, settings)
    # POST only: stateless, there is no session to DELETE, and a GET stream could never carry a
    # message, so both are 405, as the transport's specification allows (a GET would hang open).
    app.add_route(PATH, endpoint, methods=["POST"], include_in_schema=False)
    return manager
