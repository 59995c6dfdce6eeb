"""Admin routes (an API key from QA_API_KEYS as a Bearer token): each write answers with what it
did and the index version it committed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from qa.contract import WriteResult
from qa.http.deps import AppSettings, Service, admin
from qa.http.schemas import ArticleIn

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


@router.delete("/articles/{article_id:path}", response_model=WriteResult)
def delete_article(article_id: str, svc: Service) -> WriteResult:
    """Remove an article: its corpus file is deleted, then the index reconciled."""
    return svc.delete_article(article_id)


@router.post("/reindex", response_model=WriteResult)
def reindex(svc: Service) -> WriteResult:
    """Reconcile the corpus folder with the index, as `qa index` does."""
    return svc.reindex()
