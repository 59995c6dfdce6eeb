"""The public contract, checked two ways:

1. the OpenAPI document the app generates from `qa.contract` equals the committed one
   (tests/contract/openapi.json): a renamed field or a changed type is a contract change, made on
   purpose by regenerating the file (`.venv/bin/python -m tests.test_contract --update`);
2. every route's real responses (successes and errors) validate against the committed document,
   and every documented route is exercised here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from qa.config import Settings
from qa.http.app import create_app
from tests.conftest import API_KEY, eventually, hash_service, index_now
from tests.feedserver import FeedServer

DOCUMENT = Path(__file__).with_name("contract") / "openapi.json"
ADMIN = {"Authorization": f"Bearer {API_KEY}"}


def generated(settings: Settings | None = None) -> dict[str, Any]:
    return create_app(settings or Settings(_env_file=None), hash_service).openapi()


def committed() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


def test_the_generated_document_is_the_committed_contract(app_settings: Settings) -> None:
    now = generated(app_settings)
    then = committed()
    changed = sorted(
        f"{kind} {name}"
        for kind, new, old in (
            ("schema", now["components"]["schemas"], then["components"]["schemas"]),
            ("path", now["paths"], then["paths"]),
        )
        for name in set(new) | set(old)
        if new.get(name) != old.get(name)
    )
    assert now == then, (
        f"the public contract changed ({', '.join(changed) or 'document metadata'}); if that is on purpose, "
        "regenerate it: .venv/bin/python -m tests.test_contract --update"
    )


class Checker:
    """Validates responses against the committed document and records which routes were seen."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, response: httpx.Response, path: str) -> httpx.Response:
        method = response.request.method.lower()
        operation = self.document["paths"][path][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"{method.upper()} {path} answered {response.status_code}, not documented"
        content = documented.get("content", {})
        media = response.headers["content-type"].split(";")[0]
        assert media in content, f"{method.upper()} {path} {response.status_code}: {media} not in {list(content)}"
        if media == "application/json":
            schema = {**content[media]["schema"], "components": self.document["components"]}
            errors = [
                f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in Draft202012Validator(schema).iter_errors(response.json())
            ]
            assert errors == [], f"{method.upper()} {path} {response.status_code} breaks the contract: {errors}"
        self.seen.add((method, path))
        return response


@pytest.fixture
def check() -> Checker:
    return Checker(committed())


@pytest.fixture
def client(app_settings: Settings, corpus: None) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, hash_service)) as c:
        yield c


def test_every_route_answers_as_documented(client: TestClient, app_settings: Settings, check: Checker) -> None:
    assert check(client.get("/ready"), "/ready").status_code == 503  # before the first commit
    assert check(client.post("/search", json={"query": "rates"}), "/search").status_code == 503
    index_now(app_settings)
    assert eventually(lambda: client.get("/ready").status_code == 200)

    check(client.get("/health"), "/health")
    check(client.get("/ready"), "/ready")
    assert check(client.get("/metrics"), "/metrics").status_code == 200
    found = check(client.post("/search", json={"query": "interest rates", "top_k": 2}), "/search").json()
    assert found["results"], "an empty list would prove nothing about the citation shape"
    filters = {"source": "Example Wire", "published_after": "2026-01-01"}
    check(client.post("/search", json={"query": "chips", "filters": filters}), "/search")
    check(client.get("/search", params={"q": "gigawatts power"}), "/search")
    timed = {"query": "chips licence last month", "now": "2026-02-20T09:30:00Z", "sort": "date"}
    assert check(client.post("/search", json=timed), "/search").json()["time"]["from"] == "2026-01-01"
    assert check(client.post("/search", json={"query": "x", "now": "yesterday"}), "/search").status_code == 422
    listed = check(client.get("/articles", params={"since": "2026-02-01"}), "/articles").json()
    assert [a["id"] for a in listed["articles"]] == ["rates", "power"]
    assert check(client.get("/articles", params={"limit": 0}), "/articles").status_code == 422
    one = "/articles/{article_id}"
    text = check(client.get("/articles/rates", params={"start": 4, "end": 16}), one).json()
    assert text["text"] == "central bank" and text["length"] > 16
    assert check(client.get("/articles/no-such"), one).status_code == 404
    assert check(client.get("/articles/rates", params={"start": 9, "end": 3}), one).status_code == 422
    answered = check(client.post("/ask", json={"question": "Did the central bank hold rates?"}), "/ask").json()
    assert answered["sentences"] and answered["answer"]
    nothing = check(client.post("/ask", json={"question": "zebra giraffe"}), "/ask").json()
    assert nothing["answer"] is None and nothing["message"]

    for bad in ({}, {"query": ""}, {"query": "x", "top_k": 0}, {"query": "x", "extra": 1}, {"query": " "}):
        assert check(client.post("/search", json=bad), "/search").status_code == 422
    assert check(client.get("/search"), "/search").status_code == 422
    assert check(client.post("/ask", json={"question": "x" * 5000}), "/ask").status_code == 422

    article = {"id": "api/new", "title": "Harbour tolls", "text": "Harbour tolls rose again.", "source": "Wire"}
    assert check(client.post("/articles", json=article), "/articles").status_code == 401
    assert check(client.post("/articles", json=article, headers=ADMIN), "/articles").json()["added"] == ["api/new"]
    big = article | {"text": "word " * 5000}
    assert check(client.post("/articles", json=big, headers=ADMIN), "/articles").status_code == 413
    taken = article | {"id": "rates"}
    assert check(client.post("/articles", json=taken, headers=ADMIN), "/articles").status_code == 409
    delete = "/articles/{article_id}"
    assert check(client.delete("/articles/api/new", headers=ADMIN), delete).json()["deleted"] == ["api/new"]
    assert check(client.delete("/articles/api/new", headers=ADMIN), delete).status_code == 404
    assert check(client.post("/reindex", headers=ADMIN), "/reindex").status_code == 200
    assert check(client.post("/reindex", headers={"Authorization": "Bearer wrong"}), "/reindex").status_code == 401
    fetch = "/articles/fetch"
    assert check(client.post(fetch, json={"url": "ftp://x.example/a"}, headers=ADMIN), fetch).status_code == 422
    loopback = {"url": "http://127.0.0.1:9/"}  # refused before any connection: not an allowed address
    assert check(client.post(fetch, json=loopback, headers=ADMIN), fetch).status_code == 422
    assert check(client.post(fetch, json=loopback), fetch).status_code == 401

    documented = {(m, p) for p, ops in check.document["paths"].items() for m in ops}
    assert documented - check.seen == set(), "documented routes this test never called"


def test_fetch_answers_as_documented(feed_settings: Settings, feed_server: FeedServer, check: Checker) -> None:
    page = feed_server.page(
        "/news/fed", "Fed holds rates", "The central bank held interest rates at 3.5% on Wednesday."
    )
    down = feed_server.serve("/down", b"", status=500)
    with TestClient(create_app(feed_settings, hash_service)) as client:
        fetched = check(client.post("/articles/fetch", json={"url": page}, headers=ADMIN), "/articles/fetch")
        assert fetched.status_code == 200 and len(fetched.json()["added"]) == 1
        failed = check(client.post("/articles/fetch", json={"url": down}, headers=ADMIN), "/articles/fetch")
        assert failed.status_code == 502 and "HTTP 500" in failed.json()["detail"]


def test_admin_off_answers_as_documented(app_settings: Settings, check: Checker) -> None:
    settings = app_settings.model_copy(update={"api_keys": ""})
    with TestClient(create_app(settings, hash_service)) as client:
        assert check(client.post("/reindex", headers=ADMIN), "/reindex").status_code == 403


def test_read_keys_answer_as_documented(app_settings: Settings, corpus: None, check: Checker) -> None:
    settings = app_settings.model_copy(update={"read_keys": "reader"})
    index_now(settings)
    with TestClient(create_app(settings, hash_service)) as client:
        assert check(client.post("/search", json={"query": "rates"}), "/search").status_code == 401
        assert check(client.get("/articles/rates"), "/articles/{article_id}").status_code == 401
        reader = {"Authorization": "Bearer reader"}
        assert check(client.get("/articles/rates", headers=reader), "/articles/{article_id}").status_code == 200


def test_a_renamed_field_or_changed_type_breaks_the_check(check: Checker) -> None:
    """The check itself: a response whose citation lost `quote` to `quotation`, or whose score is a
    string, is refused."""
    citation = {
        "n": 1, "article_id": "a", "title": "T", "url": None, "published": None, "source": None,
        "quote": "q", "start": 0, "end": 1, "score": 0.5,
    }  # fmt: skip
    body = {"query": "q", "results": [citation], "index_version": 1, "took_ms": 1.0}
    request = httpx.Request("POST", "http://test/search")

    def response(data: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json=data, request=request)

    check(response(body), "/search")
    renamed = {k: v for k, v in citation.items() if k != "quote"} | {"quotation": "q"}
    with pytest.raises(AssertionError, match=r"'quotation' was unexpected"):
        check(response(body | {"results": [renamed]}), "/search")
    with pytest.raises(AssertionError, match="score"):
        check(response(body | {"results": [citation | {"score": "0.5"}]}), "/search")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(json.dumps(generated(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {DOCUMENT}")
