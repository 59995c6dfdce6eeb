"""GET /articles: what's new, newest first; GET /articles/{id}: an article's text, or part of it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from qa.contract import ArticleList, ArticleText
from qa.http.deps import Service, reader
from qa.http.schemas import ARTICLE_ID

router = APIRouter(tags=["search"], dependencies=[Depends(reader)])


@router.get("/articles", response_model=ArticleList)
def articles(
    svc: Service,
    since: Annotated[dt.date | None, Query(description="Published on or after this day (YYYY-MM-DD)")] = None,
    source: Annotated[str | None, Query(max_length=200, description="Exact source name, case-insensitive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ArticleList:
    """Articles in the index, newest first (undated ones last)."""
    return svc.articles(since, source, limit)


@router.get("/articles/{article_id:path}", response_model=ArticleText)
def article(
    svc: Service,
    article_id: Annotated[str, Path(max_length=200, pattern=ARTICLE_ID)],
    start: Annotated[int, Query(ge=0, description="First character (offsets as in citations)")] = 0,
    end: Annotated[int | None, Query(ge=0, description="End character, exclusive; default the article's end")] = None,
) -> ArticleText:
    """The article's text from `start` to `end`: the text its citations' `start`/`end` point into, so
    `text[c.start - start : c.end - start] == c.quote` for a citation `c` inside the range."""
    return svc.article(article_id, start, end)
