"""What routes depend on: the service and settings of the app, and the admin key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa.config import Settings
from qa.questions import refusal
from qa.service import QAService


async def get_service(request: Request) -> QAService:
    """Async on purpose: a sync dependency would cost each request a trip through the thread pool."""
    service: QAService = request.app.state.service
    return service


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Service = Annotated[QAService, Depends(get_service)]
AppSettings = Annotated[Settings, Depends(get_settings)]

bearer = HTTPBearer(auto_error=False, description="An API key from QA_API_KEYS")


def admin(settings: AppSettings, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    keys = settings.api_key_list
    if not keys:
        raise HTTPException(403, "admin routes are off: set QA_API_KEYS to enable them")
    given = credentials.credentials if credentials else ""
    # Compare with every key, in constant time each, so timing tells nothing about which matched.
    ok = [hmac.compare_digest(given.encode(), k.encode()) for k in keys]
    if not any(ok):
        raise HTTPException(401, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"})


def question(text: str, field: str, settings: Settings) -> str:
    """The question or query, stripped; 422 with the reason when it is refused."""
    if found := refusal(text, settings.max_query_chars):
        raise HTTPException(422, found.message(field))
    return text.strip()
