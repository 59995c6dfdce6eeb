"""The HTTP service: `create_app(settings)` builds a FastAPI app; the index and the model load in
its lifespan, never at import."""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from index.articles import Article
from index.errors import BadArticle, CorruptIndex, IndexNotFound, IndexStoreError, ModelMismatch, WriterBusy
from qa import extensions
from qa.config import Settings
from qa.extensions import Lifecycle
from qa.live import CommitPoller, CorpusWatcher
from qa.observability import Metrics, RequestMiddleware, request_id
from qa.reader import Filters
from qa.schemas import (
    ArticleIn,
    AskRequest,
    AskResponse,
    FiltersIn,
    Problem,
    ReadyResponse,
    SearchRequest,
    SearchResponse,
    WriteResponse,
)
from qa.service import Conflict, NotFound, QAService, question_problem

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}


async def get_service(request: Request) -> QAService:
    """Async on purpose: a sync dependency would cost each request a trip through the thread pool."""
    service: QAService = request.app.state.service
    return service


Service = Annotated[QAService, Depends(get_service)]


bearer = HTTPBearer(auto_error=False, description="An API key from QA_API_KEYS")


def create_app(settings: Settings, service_factory: Callable[[Settings], QAService] = QAService) -> FastAPI:
    metrics = Metrics()

    lifecycles: list[Lifecycle] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await run_in_threadpool(service_factory, settings)
        app.state.service = service
        poller = CommitPoller(service, settings.reload_interval)
        try:
            await run_in_threadpool(poller.check)
            await run_in_threadpool(service.embedder.embed_query, "warm up")  # load the model now
        except IndexNotFound:
            log.warning("no index in %s yet: /ready answers 503 until `qa index` commits one", settings.index_dir)
        poller.start()
        watcher = CorpusWatcher(service, settings.watch_debounce_ms).start() if settings.watch else None
        for lifecycle in lifecycles:
            lifecycle.start(service)
        yield
        for lifecycle in lifecycles:
            lifecycle.stop()
        poller.stop()
        if watcher:
            watcher.stop()

    app = FastAPI(
        title="News QA",
        version="0.1.0",
        description="Cited passages and extractive answers from a corpus of news articles.",
        lifespan=lifespan,
        responses=ERRORS,
    )
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    for extend in extensions.load("qa.app_extensions"):
        lifecycle = extend(app, settings)
        if lifecycle is not None:
            lifecycles.append(lifecycle)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_error_handlers(app)

    def text_limit(value: str, field: str) -> str:
        if problem := question_problem(value, settings, field):
            raise HTTPException(422, problem)
        return value.strip()

    def admin(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        keys = settings.api_key_list
        if not keys:
            raise HTTPException(403, "admin routes are off: set QA_API_KEYS to enable them")
        given = credentials.credentials if credentials else ""
        # Compare with every key, in constant time each, so timing tells nothing about which matched.
        ok = [hmac.compare_digest(given.encode(), k.encode()) for k in keys]
        if not any(ok):
            raise HTTPException(401, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"})

    Admin = Depends(admin)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    # /search and /ask return the JSON of what QAService built at once: `response_model` documents
    # its shape in the OpenAPI schema without re-validating and re-serialising it. (The admin
    # routes keep validation: their data come from the write side.)

    @app.post("/search", response_model=SearchResponse, tags=["search"])
    def search(body: SearchRequest, svc: Service) -> JSONResponse:
        """Cited passages that best match the query; filters apply before the top-k cut."""
        query = text_limit(body.query, "query")
        return JSONResponse(svc.search(query, body.top_k, _filters(body.filters)).to_json())

    @app.get("/search", response_model=SearchResponse, tags=["search"])
    def search_get(
        svc: Service,
        q: Annotated[str, Query(min_length=1, description="Question or search words")],
        top_k: Annotated[int, Query(ge=1, le=50)] = 5,
    ) -> JSONResponse:
        return JSONResponse(svc.search(text_limit(q, "q"), top_k).to_json())

    @app.post("/ask", response_model=AskResponse, tags=["search"])
    def ask(body: AskRequest, svc: Service) -> JSONResponse:
        """An extractive answer: 1-3 verbatim sentences with citation numbers, or null."""
        return JSONResponse(
            svc.ask(text_limit(body.question, "question"), body.top_k, _filters(body.filters)).to_json()
        )

    @app.post("/articles", response_model=WriteResponse, dependencies=[Admin], tags=["admin"])
    def add_article(body: ArticleIn, svc: Service) -> dict[str, object]:
        """Add or replace one article: written into the corpus folder, then indexed."""
        if len(body.text.encode()) > settings.max_article_bytes:
            raise HTTPException(413, f"article text over the {settings.max_article_bytes:,}-byte limit")
        article = Article(
            id=body.id.strip(),
            title=body.title.strip(),
            text=body.text.strip(),
            url=body.url,
            published=body.published.isoformat() if body.published else None,
            source=body.source,
        )
        if not article.text:
            raise HTTPException(422, "text is empty")
        return svc.add_article(article).to_json()

    @app.delete("/articles/{article_id:path}", response_model=WriteResponse, dependencies=[Admin], tags=["admin"])
    def delete_article(article_id: str, svc: Service) -> dict[str, object]:
        """Remove an article: its corpus file is deleted, then the index reconciled."""
        return svc.delete_article(article_id).to_json()

    @app.post("/reindex", response_model=WriteResponse, dependencies=[Admin], tags=["admin"])
    def reindex(svc: Service) -> dict[str, object]:
        """Reconcile the corpus folder with the index, as `qa index` does."""
        return svc.reindex().to_json()

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", response_model=ReadyResponse, tags=["operations"])
    def ready(svc: Service) -> dict[str, object]:
        snap = svc.reader.loaded()
        if snap is None:
            raise HTTPException(503, "no index loaded yet")
        return {
            "status": "ready",
            "index_version": snap.version,
            "articles": snap.article_count,
            "chunks": snap.chunk_count,
        }

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    def prometheus(svc: Service) -> PlainTextResponse:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        snap = svc.reader.loaded()
        if snap is not None:
            metrics.index_version.set(snap.version)
            metrics.articles.set(snap.article_count)
            metrics.chunks.set(snap.chunk_count)
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _filters(body: FiltersIn | None) -> Filters | None:
    if body is None:
        return None
    return Filters(
        source=body.source,
        published_after=body.published_after.isoformat() if body.published_after else None,
        published_before=body.published_before.isoformat() if body.published_before else None,
    )


def _add_error_handlers(app: FastAPI) -> None:
    def problem(status: int) -> Callable[[Request, Exception], JSONResponse]:
        def handle(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        return handle

    for exc_type, status in (
        (NotFound, 404),
        (Conflict, 409),
        (BadArticle, 422),
        (IndexNotFound, 503),
        (ModelMismatch, 503),
        (CorruptIndex, 503),
        (WriterBusy, 503),
        (IndexStoreError, 503),
    ):
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
        error_id = request_id.get() if request_id.get() != "-" else uuid.uuid4().hex[:16]
        log.exception("unexpected error (error id %s)", error_id)
        return JSONResponse({"detail": f"internal error (error id {error_id})"}, status_code=500)

    app.add_exception_handler(Exception, unexpected)
