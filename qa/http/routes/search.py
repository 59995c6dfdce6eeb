"""POST/GET /search and POST /ask: cited passages, and extractive answers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from qa.contract import AskResult, SearchResult
from qa.http.deps import AppMetrics, AppSettings, Service, question, reader
from qa.http.observability import Metrics
from qa.http.schemas import AskRequest, ReferenceTime, SearchRequest

router = APIRouter(tags=["search"], dependencies=[Depends(reader)])


def _json(result: SearchResult | AskResult, route: str, metrics: Metrics) -> Response:
    """The service's result as JSON, as it is: `response_model` documents its shape, and
    tests/test_contract.py checks every answer against that document. Its stage times also go to
    `/metrics` and to a `Server-Timing` header (shown by a browser's developer tools)."""
    metrics.observe_stages(route, result.stages_ms)
    timing = ", ".join(f"{stage};dur={ms}" for stage, ms in result.stages_ms.items())
    headers = {"Server-Timing": timing} if timing else None
    return Response(result.model_dump_json(), media_type="application/json", headers=headers)


@router.post("/search", response_model=SearchResult)
def search(body: SearchRequest, svc: Service, settings: AppSettings, metrics: AppMetrics) -> Response:
    """Cited passages that best match the query; filters apply before the top-k cut."""
    query = question(body.query, "query", settings)
    filters = body.filters.to_filters() if body.filters else None
    return _json(svc.search(query, body.top_k, filters, body.now, body.sort), "/search", metrics)


@router.get("/search", response_model=SearchResult)
def search_get(
    svc: Service,
    settings: AppSettings,
    metrics: AppMetrics,
    q: Annotated[str, Query(min_length=1, description="Question or search words")],
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
    now: Annotated[ReferenceTime | None, Query(description="Reference time (ISO); default: the server's clock")] = None,
    sort: Annotated[Literal["relevance", "date"], Query(description="Best or newest first")] = "relevance",
) -> Response:
    return _json(svc.search(question(q, "q", settings), top_k, None, now, sort), "/search", metrics)


@router.post("/ask", response_model=AskResult)
def ask(body: AskRequest, svc: Service, settings: AppSettings, metrics: AppMetrics) -> Response:
    """An extractive answer: 1-3 verbatim sentences with citation numbers, or null."""
    filters = body.filters.to_filters() if body.filters else None
    result = svc.ask(question(body.question, "question", settings), body.top_k, filters, body.now)
    return _json(result, "/ask", metrics)
