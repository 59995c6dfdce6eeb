"""The HTTP contract through TestClient (lifespan included), with the hashing embedder."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from index.loaders import load_corpus
from qa.config import Settings
from qa.contract import AskResult, SearchResult
from qa.http.app import create_app
from tests.conftest import API_KEY, WriteArticle, eventually, hash_service, index_now


@pytest.fixture
def client(app_settings: Settings, corpus: None) -> Iterator[TestClient]:
    index_now(app_settings)
    with TestClient(create_app(app_settings, hash_service)) as c:
        yield c


def assert_quotes_are_verbatim(settings: Settings, citations: list[dict[str, object]]) -> None:
    texts = {a.id: a.text for a in load_corpus(settings.corpus_dir).articles}
    for c in citations:
        assert texts[str(c["article_id"])][int(c["start"]) : int(c["end"])] == c["quote"]  # type: ignore[call-overload]


# -- search and ask -----------------------------------------------------------------------------


def test_post_search_returns_cited_passages(client: TestClient, app_settings: Settings) -> None:
    r = client.post("/search", json={"query": "interest rates central bank", "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"query", "results", "index_version", "took_ms", "stages_ms", "time"}
    SearchResult.model_validate(body, strict=True)  # the contract's shape
    assert body["results"][0]["article_id"] == "rates"
    assert body["results"][0]["url"] == "https://ledger.example.org/fed"
    assert len(body["results"]) == 2 and body["index_version"] == 1
    assert_quotes_are_verbatim(app_settings, body["results"])


def test_get_search(client: TestClient, app_settings: Settings) -> None:
    r = client.get("/search", params={"q": "chips licence Malaysia", "top_k": 1})
    assert r.status_code == 200
    [hit] = r.json()["results"]
    assert hit["article_id"] == "chips" and hit["n"] == 1
    assert_quotes_are_verbatim(app_settings, r.json()["results"])


def test_filters_apply_before_the_top_k_cut(
    client: TestClient, write_article: WriteArticle, app_settings: Settings
) -> None:
    for i in range(12):
        write_article(f"noise{i}.md", f"Interest rates story {i}: interest rates interest rates.", source="Noise")
    index_now(app_settings)
    eventually(lambda: client.get("/ready").json()["articles"] == 15)
    body = {"query": "interest rates", "top_k": 3, "filters": {"source": "example wire"}}
    results = client.post("/search", json=body).json()["results"]
    assert sorted(r["article_id"] for r in results) == ["chips", "power"]  # all that exist, not 0
    dated = {
        "query": "interest rates",
        "top_k": 5,
        "filters": {"published_after": "2026-02-01", "published_before": "2026-02-28"},
    }
    assert [r["article_id"] for r in client.post("/search", json=dated).json()["results"]] == ["power"]


def test_ask_answers_with_verbatim_cited_sentences(client: TestClient, app_settings: Settings) -> None:
    r = client.post("/ask", json={"question": "Did the central bank hold interest rates?"})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"] and body["message"] is None
    AskResult.model_validate(body, strict=True)
    assert 1 <= len(body["sentences"]) <= 3
    texts = {a.id: a.text for a in load_corpus(app_settings.corpus_dir).articles}
    numbers = {c["n"] for c in body["citations"]}
    for s in body["sentences"]:
        assert texts[s["article_id"]][s["start"] : s["end"]] == s["text"]
        assert s["citations"] and set(s["citations"]) <= numbers
        for n in s["citations"]:
            cited = body["citations"][n - 1]
            assert cited["article_id"] == s["article_id"] and cited["start"] <= s["start"] <= s["end"] <= cited["end"]
        assert s["text"] in body["answer"]
    assert "The central bank held interest rates at 3.5% on Wednesday." in body["answer"]
    assert_quotes_are_verbatim(app_settings, body["citations"])


def test_ask_says_plainly_when_nothing_answers(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Which footballer scored the winning penalty?"}).json()
    assert body["answer"] is None and body["sentences"] == []
    assert body["message"] == "Nothing in the corpus answers this question."


def test_search_and_ask_say_where_their_time_went(client: TestClient) -> None:
    searched = client.post("/search", json={"query": "interest rates central bank"})
    asked = client.post("/ask", json={"question": "Did the central bank hold interest rates?"})
    stages = {"embed", "dense", "lexical", "fuse", "rerank"}
    for r, expected in ((searched, stages), (asked, stages | {"answer"})):
        body = r.json()
        assert set(body["stages_ms"]) == expected
        assert all(ms >= 0 for ms in body["stages_ms"].values())
        assert sum(body["stages_ms"].values()) <= body["took_ms"] + 0.1  # stages are parts of the whole
        timing = dict(part.split(";dur=") for part in r.headers["server-timing"].split(", "))
        assert {k: float(v) for k, v in timing.items()} == body["stages_ms"]
    assert list(asked.json()["stages_ms"])[-1] == "answer"  # in running order
    metrics = client.get("/metrics").text
    assert 'qa_stage_duration_seconds_count{route="/ask",stage="answer"} 1.0' in metrics
    assert 'qa_stage_duration_seconds_count{route="/search",stage="dense"} 1.0' in metrics
    assert 'qa_stage_duration_seconds_count{route="/search",stage="answer"}' not in metrics


@pytest.mark.parametrize(
    ("method", "url", "payload", "status", "reason"),
    [
        ("post", "/search", {"query": ""}, 422, "at least 1 character"),
        ("post", "/search", {"query": "   "}, 422, "query is empty"),
        ("post", "/search", {"query": "x" * 1001}, 422, "the limit is 1,000"),
        ("post", "/search", {"query": "rates", "top_k": 0}, 422, "greater than or equal to 1"),
        ("post", "/search", {"query": "rates", "top_k": 51}, 422, "less than or equal to 50"),
        ("post", "/search", {"query": "rates", "filters": {"published_after": "soon"}}, 422, "valid date"),
        ("post", "/search", {"query": "rates", "colour": "red"}, 422, "Extra inputs"),
        ("post", "/search", {}, 422, "Field required"),
        ("post", "/ask", {"question": "q" * 1001}, 422, "the limit is 1,000"),
        ("get", "/search?q=", None, 422, "at least 1 character"),
        ("get", "/search?q=rates&top_k=abc", None, 422, "valid integer"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(
    client: TestClient, method: str, url: str, payload: object, status: int, reason: str
) -> None:
    r = client.request(method.upper(), url, json=payload)
    assert r.status_code == status
    assert reason in json.dumps(r.json())


def test_malformed_json_is_a_422(client: TestClient) -> None:
    r = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in json.dumps(r.json())


def test_oversized_body_is_a_413(client: TestClient) -> None:
    r = client.post("/search", content=b"{" + b" " * 100_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and "byte limit" in r.json()["detail"]


def test_streamed_oversized_body_is_a_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b" " * 1000

    r = client.post("/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


# -- operations ---------------------------------------------------------------------------------


def test_health_ready_metrics_and_request_ids(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready", "index_version": 1, "articles": 3, "chunks": 3}
    r = client.get("/search", params={"q": "rates"}, headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len(client.get("/health").headers["x-request-id"]) == 16
    metrics = client.get("/metrics").text
    assert 'qa_http_requests_total{method="GET",route="/search",status="200"} 1.0' in metrics
    assert "qa_http_request_duration_seconds_bucket" in metrics
    assert "qa_index_version 1.0" in metrics and "qa_index_chunks 3.0" in metrics


def test_ready_is_503_until_an_index_exists_then_loads_it_without_restart(app_settings: Settings, corpus: None) -> None:
    with TestClient(create_app(app_settings, hash_service)) as c:
        r = c.get("/ready")
        assert r.status_code == 503 and "no index" in r.json()["detail"]
        assert c.post("/search", json={"query": "rates"}).status_code == 503
        index_now(app_settings)
        assert eventually(lambda: c.get("/ready").status_code == 200, timeout=3)
        assert c.post("/search", json={"query": "rates"}).json()["index_version"] == 1


def test_page_and_openapi_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/ask", "/articles", "/articles/{article_id}", "/reindex", "/ready"} <= set(paths)


# -- admin --------------------------------------------------------------------------------------

AUTH = {"Authorization": f"Bearer {API_KEY}"}
NEW = {
    "id": "api/new-1",
    "title": "Robots in warehouses",
    "text": "Warehouse robots now pick 40% of parcels.",
    "url": "https://x.example/robots",
    "published": "2026-05-02",
    "source": "Tech Dispatch",
}


@pytest.mark.parametrize(
    ("method", "url"), [("POST", "/articles"), ("DELETE", "/articles/rates"), ("POST", "/reindex")]
)
def test_admin_routes_need_the_right_key(client: TestClient, method: str, url: str) -> None:
    body = NEW if url == "/articles" else None
    assert client.request(method, url, json=body).status_code == 401
    r = client.request(method, url, json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.request(method, url, json=body, headers={"Authorization": API_KEY}).status_code == 401
    assert client.request(method, url, json=body, headers=AUTH).status_code == 200


def test_admin_routes_are_off_without_keys(app_settings: Settings, corpus: None) -> None:
    index_now(app_settings)
    settings = app_settings.model_copy(update={"api_keys": ""})
    with TestClient(create_app(settings, hash_service)) as c:
        r = c.post("/reindex", headers=AUTH)
        assert r.status_code == 403 and "QA_API_KEYS" in r.json()["detail"]


def test_add_article_writes_the_corpus_then_indexes(client: TestClient, app_settings: Settings) -> None:
    r = client.post("/articles", json=NEW, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["added"] == ["api/new-1"] and r.json()["index_version"] == 2
    files = list((app_settings.corpus_dir / "_api").iterdir())
    assert len(files) == 1 and json.loads(files[0].read_text())["id"] == "api/new-1"
    hit = client.post("/search", json={"query": "warehouse robots parcels", "top_k": 1}).json()
    assert hit["index_version"] == 2 and hit["results"][0]["article_id"] == "api/new-1"
    # The corpus folder is the source of truth: a reconcile neither loses nor duplicates it.
    again = client.post("/reindex", headers=AUTH).json()
    assert again["added"] == [] and again["deleted"] == [] and again["unchanged"] == 4
    # Posting the same id again replaces it.
    changed = client.post("/articles", json={**NEW, "text": "Warehouse robots now pick half."}, headers=AUTH)
    assert changed.json()["changed"] == ["api/new-1"]
    assert len(list((app_settings.corpus_dir / "_api").iterdir())) == 1


def test_delete_article_removes_its_file_and_its_passages(client: TestClient, app_settings: Settings) -> None:
    client.post("/articles", json=NEW, headers=AUTH)
    r = client.delete("/articles/api/new-1", headers=AUTH)
    assert r.status_code == 200 and r.json()["deleted"] == ["api/new-1"]
    assert list((app_settings.corpus_dir / "_api").iterdir()) == []
    ids = [h["article_id"] for h in client.post("/search", json={"query": "warehouse robots"}).json()["results"]]
    assert "api/new-1" not in ids
    assert client.delete("/articles/api/new-1", headers=AUTH).status_code == 404


def test_reindex_picks_up_files_dropped_into_the_corpus(client: TestClient, write_article: WriteArticle) -> None:
    write_article("late.md", "A late story about lunar mining.")
    r = client.post("/reindex", headers=AUTH)
    assert r.status_code == 200 and r.json()["added"] == ["late"]
    assert client.post("/search", json={"query": "lunar mining"}).json()["results"][0]["article_id"] == "late"


def test_article_from_a_corpus_file_with_several_articles_cannot_be_deleted_by_id(
    client: TestClient, app_settings: Settings
) -> None:
    lines = [json.dumps({"id": f"w/{i}", "title": f"T{i}", "text": f"Text {i}."}) for i in range(2)]
    (app_settings.corpus_dir / "briefs.jsonl").write_text("\n".join(lines))
    client.post("/reindex", headers=AUTH)
    r = client.delete("/articles/w/0", headers=AUTH)
    assert r.status_code == 409 and "briefs.jsonl" in r.json()["detail"]
    posted = client.post("/articles", json={**NEW, "id": "rates"}, headers=AUTH)
    assert posted.status_code == 409 and "rates.md" in posted.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"url": "javascript:alert(1)"}, 422),
        ({"published": "2026-13-45"}, 422),
        ({"published": 0}, 422),
        ({"id": ""}, 422),
        ({"text": ""}, 422),
        ({"title": None}, 422),
        ({"id": "a\nb"}, 422),
        ({"text": "x" * 30_000}, 413),
    ],
)
def test_invalid_articles_are_refused(
    client: TestClient, change: dict[str, object], status: int, app_settings: Settings
) -> None:
    r = client.post("/articles", json={**NEW, **change}, headers=AUTH)
    assert r.status_code == status, r.text
    assert not (app_settings.corpus_dir / "_api").exists()


def test_a_commit_from_another_process_is_served_within_seconds(
    client: TestClient, write_article: WriteArticle, app_settings: Settings
) -> None:
    write_article("fresh.md", "Breaking: a comet was sighted over Lisbon.")
    version = index_now(app_settings)  # as `qa index` in another process would
    assert eventually(lambda: client.get("/ready").json()["index_version"] == version, timeout=2)
    assert client.post("/search", json={"query": "comet Lisbon"}).json()["results"][0]["article_id"] == "fresh"
