"""GET /health (alive), /ready (an index is loaded), /metrics (Prometheus), and the search page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, PlainTextResponse

from qa.contract import Health, Ready
from qa.http.deps import Service

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Ready)
async def ready(svc: Service) -> Ready:  # no I/O: answered without the thread pool
    snap = svc.reader.loaded()
    if snap is None:
        raise HTTPException(503, "no index loaded yet")
    return Ready(status="ready", index_version=snap.version, articles=snap.article_count, chunks=snap.chunk_count)


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(request: Request, svc: Service) -> PlainTextResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    metrics = request.app.state.metrics
    snap = svc.reader.loaded()
    if snap is not None:
        metrics.index_version.set(snap.version)
        metrics.articles.set(snap.article_count)
        metrics.chunks.set(snap.chunk_count)
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
