"""Admin routes (an API key from QA_API_KEYS as a Bearer token): each write answers with what it
did and the index version it committed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from index.feeds.fetch import FetchError
from qa.contract import Problem, WriteResult
from qa.http.deps import AppSettings, Service, admin
from qa.http.schemas import ArticleIn, FetchRequest

router = APIRouter(tags=["admin"], dependencies=[Depends(admin)])


@router.post("/articles", response_model=WriteResult)
def add_article(body: ArticleIn, svc: Service, settings: AppSettings) -> WriteResult:
    """Add or replace one article: written into the corpus folder, then indexed."""
    if len(body.text.encode()) > settings.max_article_bytes:
        raise HTTPException(413, f"article text over the {settings.max_article_bytes:,}-byte limit")
    article = body.to_article()
    if not article.text:
        raise HTTPException(422, "text is empty")
    return svc.add_article(article)


@router.post(
    "/articles/fetch",
    response_model=WriteResult,
    responses={
        502: {"model": Problem, "description": "The page could not be fetched (unreachable, HTTP error, too large …)"}
    },
)
def fetch_article(body: FetchRequest, svc: Service) -> WriteResult:
    """Fetch one page, extract its article, write it into the corpus folder, then index it.
    422: not an http(s) URL, an address that is not fetched, or no article text in the page;
    502: the page could not be fetched, with the reason."""
    try:
        return svc.fetch_url(body.url)
    except FetchError as e:
        if e.kind in ("refused", "bad_url"):
            raise HTTPException(422, str(e)) from None
        raise HTTPException(502, f"could not fetch: {e}") from None


@router.delete("/articles/{article_id:path}", response_model=WriteResult)
def delete_article(article_id: str, svc: Service) -> WriteResult:
    """Remove an article: its corpus file is deleted, then the index reconciled."""
    return svc.delete_article(article_id)


@router.post("/reindex", response_model=WriteResult)
def reindex(svc: Service) -> WriteResult:
    """Reconcile the corpus folder with the index, as `qa index` does."""
    return svc.reindex()
