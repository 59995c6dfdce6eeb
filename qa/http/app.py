"""The HTTP service: `create_app(settings)` builds a FastAPI app; the index and the model load in
its lifespan, never at import. Front ends built on it (the Slack adapter) are passed in as
`frontends`: mounted when the app is built, started once the service exists, stopped at shutdown.
The MCP tools are served at `/mcp` (qa/mcp/http.py) over the same service."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from index.errors import (
    BadArticle,
    CorruptIndex,
    DiskFull,
    IndexNotFound,
    IndexStoreError,
    ModelMismatch,
    WriterBusy,
)
from index.feeds.poll import Poller
from qa.article_text import TextUnavailable
from qa.config import Settings
from qa.contract import Problem
from qa.http.observability import Metrics, RequestMiddleware
from qa.http.routes import admin, articles, operations, search
from qa.http.routes.operations import STATIC
from qa.live import Live
from qa.mcp.http import mount_mcp
from qa.service import BadRange, Conflict, NotFound, QAService

log = logging.getLogger(__name__)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 408, 409, 413, 422, 503, 507)
}
PROBLEMS: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (BadRange, 422),
    (TextUnavailable, 503),
    (BadArticle, 422),
    (IndexNotFound, 503),
    (ModelMismatch, 503),
    (CorruptIndex, 503),
    (WriterBusy, 503),
    (DiskFull, 507),
    (IndexStoreError, 503),
)


class Frontend(Protocol):
    """A front end served by the same process over the same service (e.g. `bot.http.SlackFrontend`)."""

    def mount(self, app: FastAPI) -> None: ...

    def start(self, service: QAService) -> None: ...

    def stop(self) -> None: ...


def create_app(
    settings: Settings,
    service_factory: Callable[[Settings], QAService] = QAService,
    frontends: Sequence[Frontend] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await run_in_threadpool(service_factory, settings)
        app.state.service = service
        live = await run_in_threadpool(Live(service, watch=settings.watch, feeds=settings.feeds_poll).start)
        for frontend in frontends:
            frontend.start(service)
        async with mcp.run():  # the MCP transport's task group, for the app's lifetime
            yield
        for frontend in frontends:
            frontend.stop()
        live.stop()

    app = FastAPI(
        title="News QA",
        version="0.1.0",
        description="Cited passages and extractive answers from a corpus of news articles.",
        lifespan=lifespan,
        responses=ERRORS,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.metrics.track_feeds(Poller(Path(settings.corpus_dir), settings.feeds, settings.fetch_config()).status)
    app.add_middleware(
        RequestMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
    )
    for router in (search.router, articles.router, admin.router, operations.router):
        app.include_router(router)
    for frontend in frontends:
        frontend.mount(app)
    mcp = mount_mcp(app, settings, lambda: app.state.service)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    def problem(status: int) -> Callable[[Request, Exception], JSONResponse]:
        def handle(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        return handle

    for exc_type, status in PROBLEMS:
        app.add_exception_handler(exc_type, problem(status))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own handler echoes the input back, which fails on text JSON cannot encode
        # (a lone surrogate): keep where and why, drop the input.
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:16]  # run outside RequestMiddleware: the request's id is gone here
        log.exception("unexpected error (error id %s)", error_id)
        return JSONResponse({"detail": f"internal error (error id {error_id})"}, status_code=500)

    app.add_exception_handler(Exception, unexpected)
