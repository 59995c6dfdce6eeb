"""What routes depend on: the service and settings of the app, and the key checks (admin, read)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa.config import Settings
from qa.http.observability import Metrics
from qa.questions import refusal
from qa.service import QAService


async def get_service(request: Request) -> QAService:
    """Async on purpose: a sync dependency would cost each request a trip through the thread pool."""
    service: QAService = request.app.state.service
    return service


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


Service = Annotated[QAService, Depends(get_service)]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppMetrics = Annotated[Metrics, Depends(get_metrics)]

bearer = HTTPBearer(auto_error=False, description="An API key from QA_API_KEYS")
read_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ReadKey",
    description="Needed only when QA_READ_KEYS is set: one of its keys, or an admin key from QA_API_KEYS",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
ReadCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(read_bearer)]
READ_KEY_MISSING = "missing or wrong read key: send one of QA_READ_KEYS as Authorization: Bearer <key>"


def key_matches(given: str, keys: list[str]) -> bool:
    """Whether `given` is one of `keys`. Compared with every key, in constant time each, so timing
    tells nothing about which matched or how much of one did."""
    ok = [hmac.compare_digest(given.encode(), k.encode()) for k in keys]
    return any(ok)


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header value ("" when there is none)."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def admin(settings: AppSettings, credentials: Credentials) -> None:
    """Async, like get_service: a key check needs no trip through the thread pool."""
    keys = settings.api_key_list
    if not keys:
        raise HTTPException(403, "admin routes are off: set QA_API_KEYS to enable them")
    if not key_matches(credentials.credentials if credentials else "", keys):
        raise HTTPException(401, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"})


READ_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="news-qa"'}


def read_key_refused(settings: Settings, given: str) -> bool:
    """Whether QA_READ_KEYS is set and `given` is neither one of them nor an admin key."""
    keys = settings.read_key_list
    return bool(keys) and not key_matches(given, keys)


async def reader(settings: AppSettings, credentials: ReadCredentials) -> None:
    """Open when QA_READ_KEYS is empty; otherwise a read key or an admin key."""
    if read_key_refused(settings, credentials.credentials if credentials else ""):
        raise HTTPException(401, READ_KEY_MISSING, headers=READ_CHALLENGE)


def question(text: str, field: str, settings: Settings) -> str:
    """The question or query, stripped; 422 with the reason when it is refused."""
    if found := refusal(text, settings.max_query_chars):
        raise HTTPException(422, found.message(field))
    return text.strip()
