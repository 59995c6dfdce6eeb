"""Schemathesis against the app's own OpenAPI schema, in-process over ASGI.

Every operation gets a fresh app over a small, indexed corpus in a tmp folder (the admin routes may
add or delete articles there). Schemathesis 4.x starts the app's lifespan itself on the first
request it sends over ASGI (so the index is loaded and the commit poller runs) and its pytest plugin
shuts the lifespan down when the test ends.

The schema is loaded from `app.openapi()` of an app built at import (no lifespan, nothing loaded),
and each call is sent to the test's own app with `case.call(app=...)`:
`schemathesis.pytest.from_fixture` would be the natural fit, but schemathesis 4.32 sets
`request.node._nodeid`, which pytest 9 no longer has (AttributeError).

The tests at the end pin what the fuzzing found (each bug fixed since), so that it stays fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa.config import Settings
from qa.http.app import create_app
from tests.conftest import API_KEY, hash_service, index_now

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def fuzz_app(app_settings: Settings, corpus: None) -> FastAPI:
    index_now(app_settings)
    return create_app(app_settings, hash_service)


def _schema_document() -> dict[str, Any]:
    settings_ = Settings(corpus_dir="corpus", index_dir="unused-index", model="hash", api_keys=API_KEY, _env_file=None)
    return create_app(settings_, hash_service).openapi()  # the lifespan never runs here


schema = schemathesis.openapi.from_dict(_schema_document())


def _is_body_parse_error(response: schemathesis.Response) -> bool:
    """FastAPI's 400 for a body it cannot decode at all (e.g. invalid UTF-8, where malformed JSON is a
    422): not in the schema, which lists no 400. A documentation gap, reported; tolerated here."""
    return response.status_code == 400 and response.json() == {"detail": "There was an error parsing the body"}


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is never a fluke
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case, fuzz_app: FastAPI) -> None:
    # Admin routes get a valid key (overriding any generated Authorization header), so that
    # generated articles and ids reach the writer instead of stopping at the 401.
    headers = AUTH if "admin" in (case.operation.tags or []) else None
    response = case.call(app=fuzz_app, headers=headers)
    checks = [not_a_server_error, content_type_conformance, response_headers_conformance, response_schema_conformance]
    if not _is_body_parse_error(response):
        checks.append(status_code_conformance)
    case.validate_response(response, checks=checks, headers=headers)
    if (case.method.upper(), case.path) == ("GET", "/ready"):  # not the coverage phase's other methods
        assert response.status_code == 200  # the lifespan ran: the index is loaded


# -- what the fuzzing found, pinned ----------------------------------------------------------------


@pytest.fixture
def client(fuzz_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(fuzz_app, raise_server_exceptions=False) as c:
        yield c


def test_request_validation_errors_match_the_documented_422_schema(client: TestClient) -> None:
    # Every 422 is documented as Problem; request validation errors once answered a list there
    # while Problem.detail was a string.
    response = client.post("/search", json={})
    assert response.status_code == 422 and isinstance(response.json()["detail"], list)
    schema["/search"]["POST"].Case(body={}).validate_response(response, checks=[response_schema_conformance])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/search", '{"query": "rates \\ud800"}'),
        ("/ask", '{"question": "rates \\ud800?"}'),
        ("/articles", '{"id": "s1", "title": "T", "text": "Bad \\ud800 text."}'),
        ("/search", '{"query": "rates", "\\ud800": 1}'),
        ("/search", '{"query": "rates", "filters": {"source": "\\udc00"}}'),
    ],
)
def test_lone_surrogate_in_json_is_a_422_not_a_500(client: TestClient, path: str, body: str) -> None:
    # Valid JSON, but not valid Unicode: a 422 whose body must not echo the text back (it cannot be
    # encoded; FastAPI's default handler did, and answered 500).
    r = client.post(path, content=body.encode(), headers={"content-type": "application/json", **AUTH})
    assert r.status_code == 422
    schema[path]["POST"].Case(body={}).validate_response(r, checks=[response_schema_conformance])


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_posted_article_with_a_unicode_line_separator_is_indexed(client: TestClient, separator: str) -> None:
    # The article's JSON Lines file keeps these unescaped; the loader must not split lines at them.
    text = f"First sentence.{separator}Zebras graze at dawn."
    r = client.post("/articles", json={"id": "sep", "title": "Zebras", "text": text}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["skipped"] == [] and r.json()["added"] == ["sep"]
    hit = client.post("/search", json={"query": "zebras graze dawn", "top_k": 1}).json()["results"][0]
    assert hit["article_id"] == "sep" and text[hit["start"] : hit["end"]] == hit["quote"]
