"""Keys for the read side: with QA_READ_KEYS unset the read routes are open, as before; set, /search,
/ask, GET /articles (and an article's text) and /mcp need one of its keys or an admin key as a
Bearer token, and say so with a 401, a reason and WWW-Authenticate. Operations and the page stay
open, the keys are documented in OpenAPI and never logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.config import Settings
from qa.http.app import create_app
from qa.http.deps import key_matches
from tests.conftest import API_KEY, hash_service, index_now

READ_KEY = "read-key-0123"
OTHER_READ_KEY = "second-reader-key"
# One request to each read route: (method, path, JSON body).
READ_ROUTES = [
    ("POST", "/search", {"query": "interest rates"}),
    ("GET", "/search?q=interest+rates", None),
    ("POST", "/ask", {"question": "Did the central bank hold rates?"}),
    ("GET", "/articles", None),
    ("GET", "/articles/rates", None),
]
OPEN_ROUTES = ["/health", "/ready", "/metrics", "/", "/static/app.js", "/openapi.json"]
MCP_PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def client_for(settings: Settings) -> TestClient:
    index_now(settings)
    return TestClient(create_app(settings, hash_service))


@pytest.fixture
def locked(app_settings: Settings, corpus: None) -> Iterator[TestClient]:
    settings = app_settings.model_copy(update={"read_keys": f" {READ_KEY} ,{OTHER_READ_KEY}"})
    with client_for(settings) as c:
        yield c


def call(c: TestClient, method: str, path: str, body: object, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return c.request(method, path, json=body, headers=headers)


def test_read_routes_are_open_when_no_read_keys_are_set(app_settings: Settings, corpus: None) -> None:
    with client_for(app_settings) as c:
        for method, path, body in READ_ROUTES:
            assert call(c, method, path, body).status_code == 200, path
            assert call(c, method, path, body, key="anything").status_code == 200, path
        assert c.post("/mcp", json=MCP_PING, headers=MCP_HEADERS).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), READ_ROUTES)
def test_read_routes_need_a_read_or_admin_key_when_set(
    locked: TestClient, method: str, path: str, body: object
) -> None:
    for key in (None, "", "wrong", READ_KEY[:-1], READ_KEY + "x", f"{READ_KEY},{OTHER_READ_KEY}"):
        r = call(locked, method, path, body, key)
        assert r.status_code == 401, (path, key)
        assert "read key" in r.json()["detail"]
        assert r.headers["www-authenticate"].startswith("Bearer")
    for key in (READ_KEY, OTHER_READ_KEY, API_KEY):
        assert call(locked, method, path, body, key).status_code == 200, (path, key)


def test_mcp_needs_a_key_when_set(locked: TestClient) -> None:
    refused = locked.post("/mcp", json=MCP_PING, headers=MCP_HEADERS)
    assert refused.status_code == 401 and "read key" in refused.json()["detail"]
    assert refused.headers["www-authenticate"].startswith("Bearer")
    wrong = locked.post("/mcp", json=MCP_PING, headers=MCP_HEADERS | {"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    for key in (READ_KEY, API_KEY):
        r = locked.post("/mcp", json=MCP_PING, headers=MCP_HEADERS | {"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json()["id"] == 1


def test_operations_and_the_page_stay_open(locked: TestClient) -> None:
    for path in OPEN_ROUTES:
        assert locked.get(path).status_code == 200, path
    page = locked.get("/").text
    assert 'id="read-key"' in page  # the page asks for a key when the service answers 401


def test_admin_routes_still_take_only_admin_keys(locked: TestClient) -> None:
    assert locked.post("/reindex", headers={"Authorization": f"Bearer {READ_KEY}"}).status_code == 401
    assert locked.post("/reindex", headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200


def test_openapi_documents_the_read_key_on_the_read_routes(app_settings: Settings) -> None:
    document = create_app(app_settings, hash_service).openapi()
    scheme = document["components"]["securitySchemes"]["ReadKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and "QA_READ_KEYS" in scheme["description"]
    for method, path in [("post", "/search"), ("get", "/search"), ("post", "/ask"), ("get", "/articles")]:
        assert {"ReadKey": []} in document["paths"][path][method]["security"], (method, path)
    assert {"ReadKey": []} in document["paths"]["/articles/{article_id}"]["get"]["security"]
    for path in ("/health", "/ready", "/metrics"):
        assert "security" not in document["paths"][path]["get"], path


def test_keys_never_appear_in_the_log(locked: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for key in (READ_KEY, "wrong-guess-key"):
        call(locked, "POST", "/search", {"query": "rates"}, key)
        locked.post("/mcp", json=MCP_PING, headers=MCP_HEADERS | {"Authorization": f"Bearer {key}"})
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert READ_KEY not in caplog.text and "wrong-guess-key" not in caplog.text


def test_key_matches_compares_whole_keys() -> None:
    assert key_matches("abc", ["x", "abc"])
    assert not key_matches("ab", ["abc"]) and not key_matches("abcd", ["abc"]) and not key_matches("", ["abc"])
    assert not key_matches("abc", [])
