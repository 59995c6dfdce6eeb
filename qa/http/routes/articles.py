"""GET /articles: what's new, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from qa.contract import ArticleList
from qa.http.deps import Service

router = APIRouter(tags=["search"])


@router.get("/articles", response_model=ArticleList)
def articles(
    svc: Service,
    since: Annotated[dt.date | None, Query(description="Published on or after this day (YYYY-MM-DD)")] = None,
    source: Annotated[str | None, Query(max_length=200, description="Exact source name, case-insensitive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ArticleList:
    """Articles in the index, newest first (undated ones last)."""
    return svc.articles(since, source, limit)
