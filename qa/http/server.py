"""Serving the app with uvicorn, guarded against slow clients: a connection that has not sent its
request headers within `QA_HEADER_TIMEOUT` seconds is answered 408 and closed (uvicorn itself
has no such limit), an idle keep-alive connection is closed after `QA_KEEP_ALIVE_S`, at most
`QA_MAX_CONNECTIONS` connections are served at once (beyond that, 503), and a request body that
stalls for `QA_BODY_TIMEOUT` seconds is answered 408 (qa/http/observability.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from qa.config import Settings

_TIMEOUT_BODY = b'{"detail": "request headers not received in time"}'
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_TIMEOUT_BODY)}\r\n\r\n".encode()
    + _TIMEOUT_BODY
)


class GuardedH11Protocol(H11Protocol):
    """h11 with a deadline for each request's headers (set by `serve`)."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._between_requests():
            self._arm()  # the next request's headers are coming in
        super().data_received(data)
        if not self._between_requests():
            self._disarm()  # its headers are complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._between_requests() and not self.transport.is_closing():
            self.logger.info("closed a connection that sent no complete request headers in %.0f s", self.header_timeout)
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()


def serve(app: FastAPI, settings: Settings, host: str, port: int) -> None:
    import uvicorn

    protocol = type("Guarded", (GuardedH11Protocol,), {"header_timeout": settings.header_timeout})
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol,
        timeout_keep_alive=int(settings.keep_alive_s),
        limit_concurrency=settings.max_connections,
        log_config=None,
        access_log=False,
    )
