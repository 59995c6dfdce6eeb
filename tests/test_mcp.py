"""The MCP server with the official SDK's own client: in-process for each tool's behaviour, then over
stdio (a `qa mcp` subprocess) and over Streamable HTTP (a real `qa serve`, with read keys).

Every citation in structured output must keep `article.text[start:end] == quote` against the
articles' real text, and get_article must return that same text."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from index.loaders import load_corpus
from qa.config import Settings
from qa.mcp.tools import build_server
from tests.conftest import (
    QA_CLI,
    SAMPLE_CORPUS,
    StartServer,
    WriteArticle,
    hash_service,
    index_now,
    qa_env,
    run_qa_index,
)

T = TypeVar("T")
TOOLS = {"search_news", "ask_news", "get_article", "latest_news"}
# With the hash model and QA_ANSWER_THRESHOLD=0.3, questions each corpus answers: the sample corpus
# (as tests/test_page_browser.py), and the three articles of tests/conftest.py's `corpus`.
SAMPLE = ("Anthropic Trump administration talks", "Why is Anthropic negotiating with the Trump administration?")
SMALL = ("interest rates central bank", "Did the central bank hold rates?")


def run(server: Any, body: Callable[[Client], Awaitable[T]]) -> T:
    """`body(client)` with an SDK client connected to `server` (an MCPServer, a transport, a URL)."""

    async def main() -> T:
        async with Client(server) as client:
            return await body(client)

    return anyio.run(main)


def texts_of(corpus: Path) -> dict[str, str]:
    return {a.id: a.text for a in load_corpus(corpus).articles}


def keywords(schema: object) -> Iterator[str]:
    """Every key of a JSON Schema document, at any depth."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            yield from keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from keywords(item)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def assert_cited(texts: dict[str, str], citations: list[dict[str, Any]]) -> None:
    assert citations, "no citations: the invariant would be checked on nothing"
    for c in citations:
        assert texts[c["article_id"]][c["start"] : c["end"]] == c["quote"], c


def every_tool(questions: tuple[str, str]) -> Callable[[Client], Awaitable[dict[str, Any]]]:
    """List the tools and call each once, as an assistant would: the structured outputs by tool."""
    query, question = questions

    async def calls(client: Client) -> dict[str, Any]:
        return await _every_tool(client, query, question)

    return calls


async def _every_tool(client: Client, query: str, question: str) -> dict[str, Any]:
    listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    found = structured(await client.call_tool("search_news", {"query": query}))
    top = found["results"][0]
    start = max(0, top["start"] - 40)
    return {
        "tools": listed.tools,
        "search_news": found,
        "ask_news": structured(await client.call_tool("ask_news", {"question": question})),
        "get_article": structured(
            await client.call_tool("get_article", {"id": top["article_id"], "start": start, "end": top["end"] + 40})
        ),
        "latest_news": structured(await client.call_tool("latest_news", {"limit": 3})),
        "bad": await client.call_tool("search_news", {"query": "rates", "top_k": 0}),
    }


def check_every_tool(out: dict[str, Any], texts: dict[str, str]) -> None:
    assert_cited(texts, out["search_news"]["results"])
    ask = out["ask_news"]
    assert ask["answer"] and ask["sentences"]
    assert_cited(texts, ask["citations"])
    for s in ask["sentences"]:
        assert texts[s["article_id"]][s["start"] : s["end"]] == s["text"]
    top, part = out["search_news"]["results"][0], out["get_article"]
    assert part["text"] == texts[top["article_id"]][part["start"] : part["end"]]
    assert part["text"][top["start"] - part["start"] : top["end"] - part["start"]] == top["quote"]
    latest = out["latest_news"]["results"]
    assert len(latest) == 3
    assert_cited(texts, latest)
    assert "top_k" in error_text(out["bad"])


# -- in-process: each tool's behaviour -----------------------------------------------------------


@pytest.fixture
def server_settings(app_settings: Settings, corpus: None) -> Settings:
    index_now(app_settings)
    return app_settings


def serve(settings: Settings) -> Any:
    service = hash_service(settings)
    return build_server(lambda: service, settings)


def test_tools_are_listed_read_only_with_schemas(server_settings: Settings) -> None:
    tools = run(serve(server_settings), lambda c: c.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for t in tools:
        assert t.description and len(t.description) > 100, t.name
        a = t.annotations
        assert a is not None and a.title
        assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == (
            True,
            False,
            True,
            False,
        )
        assert t.input_schema["type"] == "object" and t.output_schema and t.output_schema["type"] == "object"
        Draft202012Validator.check_schema(t.input_schema)
        assert not {"ge", "le", "gt", "lt"} & set(keywords(t.input_schema)), t.name  # pydantic's, not JSON Schema's
    by_name = {t.name: t for t in tools}
    search = by_name["search_news"].input_schema
    assert search["required"] == ["query"]
    assert (search["properties"]["top_k"]["minimum"], search["properties"]["top_k"]["maximum"]) == (1, 50)
    assert set(search["properties"]) == {
        "query",
        "top_k",
        "source",
        "published_after",
        "published_before",
        "now",
        "sort",
    }
    assert set(by_name["get_article"].input_schema["properties"]) == {"id", "start", "end"}
    assert set(by_name["latest_news"].input_schema["properties"]) == {"topic", "since", "source", "limit", "now"}
    citation = by_name["search_news"].output_schema["$defs"]["Citation"]["properties"]
    assert {"n", "article_id", "title", "url", "published", "source", "quote", "start", "end", "score"} == set(citation)


def test_each_tool_answers_with_verbatim_citations(server_settings: Settings) -> None:
    out = run(serve(server_settings), every_tool(SMALL))
    check_every_tool(out, texts_of(server_settings.corpus_dir))


def test_search_filters_and_time(server_settings: Settings) -> None:
    async def body(c: Client) -> list[dict[str, Any]]:
        args = [
            {"query": "chips", "source": "example wire"},
            {"query": "chips power rates", "published_before": "2026-02-01"},
            {"query": "chips licence last month", "now": "2026-02-20T09:30:00Z"},
            {"query": "chips power rates", "sort": "date", "top_k": 3},
        ]
        return [structured(await c.call_tool("search_news", a)) for a in args]

    by_source, before, timed, newest = run(serve(server_settings), body)
    assert {r["source"] for r in by_source["results"]} == {"Example Wire"}
    assert [r["article_id"] for r in before["results"]] == ["chips"]
    assert timed["time"]["from"] == "2026-01-01" and timed["time"]["as_of"] == "2026-02-20"
    dates = [r["published"] for r in newest["results"]]
    assert dates == sorted(dates, reverse=True) and len(dates) == 3


def test_ask_says_plainly_when_nothing_answers(server_settings: Settings) -> None:
    out = run(serve(server_settings), lambda c: c.call_tool("ask_news", {"question": "zebra giraffe"}))
    nothing = structured(out)
    assert nothing["answer"] is None and nothing["message"] == "Nothing in the corpus answers this question."


def test_get_article_returns_the_text_citations_point_into(server_settings: Settings) -> None:
    texts = texts_of(server_settings.corpus_dir)

    async def body(c: Client) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        whole = structured(await c.call_tool("get_article", {"id": "rates"}))
        part = structured(await c.call_tool("get_article", {"id": "rates", "start": 4, "end": 16}))
        clamped = structured(await c.call_tool("get_article", {"id": "rates", "start": 10, "end": 10**6}))
        return whole, part, clamped

    whole, part, clamped = run(serve(server_settings), body)
    assert whole["text"] == texts["rates"] and (whole["start"], whole["end"]) == (0, len(texts["rates"]))
    assert whole["title"] == "Fed holds rates" and whole["published"] == "2026-03-18"
    assert part["text"] == "central bank" and part["length"] == len(texts["rates"])
    assert clamped["end"] == len(texts["rates"]) and clamped["text"] == texts["rates"][10:]


def test_latest_news_is_newest_first_and_as_of_now(server_settings: Settings) -> None:
    texts = texts_of(server_settings.corpus_dir)

    async def body(c: Client) -> list[dict[str, Any]]:
        args: list[dict[str, Any]] = [
            {},
            {"since": "2026-02-01"},
            {"now": "2026-02-28"},
            {"topic": "chips", "limit": 2},
        ]
        return [structured(await c.call_tool("latest_news", a)) for a in args]

    every, since, as_of, topic = run(serve(server_settings), body)
    assert [r["article_id"] for r in every["results"]] == ["rates", "power", "chips"]
    assert all(r["start"] == 0 and r["score"] == 0 for r in every["results"])  # each article's opening passage
    assert_cited(texts, every["results"])
    assert [r["article_id"] for r in since["results"]] == ["rates", "power"]
    assert [r["article_id"] for r in as_of["results"]] == ["power", "chips"]
    # The two passages about chips (power's article has none), newest first.
    assert [r["article_id"] for r in topic["results"]] == ["rates", "chips"]
    assert_cited(texts, topic["results"])


BAD_CALLS = [
    ("search_news", {"query": "rates", "top_k": 51}, "top_k"),
    ("search_news", {"query": "rates", "top_k": True}, "top_k"),
    ("search_news", {"top_k": 3}, "query"),
    ("search_news", {"query": "   "}, "query is empty"),
    ("search_news", {"query": "\u200b\u200d"}, "query is empty"),
    ("search_news", {"query": "x" * 1001}, "limit is 1,000"),
    ("search_news", {"query": "rates", "published_after": "2026-13-01"}, "published_after"),
    ("search_news", {"query": "rates", "published_after": "2026-03-01T10:00:00"}, "published_after"),
    ("search_news", {"query": "rates", "published_after": "2026-03-02", "published_before": "2026-03-01"}, "later"),
    ("search_news", {"query": "rates", "sort": "oldest"}, "sort"),
    ("ask_news", {"question": ""}, "question is empty"),
    ("ask_news", {"question": "rates?", "now": "yesterday"}, "now"),
    ("get_article", {"id": "no/such/article"}, "no article 'no/such/article'"),
    ("get_article", {"id": "rates", "start": -1}, "start"),
    ("get_article", {"id": "rates", "start": 10**6}, "past the end"),
    ("get_article", {"id": "rates", "start": 9, "end": 3}, "end at least start"),
    ("latest_news", {"limit": 0}, "limit"),
    ("latest_news", {"since": "last week"}, "since"),
    ("no_such_tool", {}, "no_such_tool"),
]


def test_bad_arguments_are_tool_errors_with_the_reason(server_settings: Settings) -> None:
    async def body(c: Client) -> list[CallToolResult]:
        return [await c.call_tool(name, args) for name, args, _ in BAD_CALLS]

    results = run(serve(server_settings), body)
    wrong = [(name, args) for (name, args, reason), r in zip(BAD_CALLS, results, strict=True) if not r.is_error]
    assert wrong == []
    for (name, args, reason), result in zip(BAD_CALLS, results, strict=True):
        assert reason in error_text(result), (name, args, result.content)


def test_an_article_changed_since_the_commit_is_not_served(
    server_settings: Settings, write_article: WriteArticle
) -> None:
    write_article("rates.md", "A different text now.", title="Fed holds rates")
    result = run(serve(server_settings), lambda c: c.call_tool("get_article", {"id": "rates"}))
    assert "changed in its corpus file rates.md since index version 1" in error_text(result)


def test_without_an_index_tools_say_so(app_settings: Settings) -> None:
    result = run(serve(app_settings), lambda c: c.call_tool("search_news", {"query": "rates"}))
    assert "qa index" in error_text(result)


# -- over the transports: a `qa mcp` subprocess, and /mcp of a real `qa serve` --------------------


@pytest.mark.slow
def test_stdio_qa_mcp_serves_every_tool(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    env = qa_env(QA_ANSWER_THRESHOLD="0.3")
    index_dir = tmp_path / "qa-index"
    run_qa_index(corpus, index_dir, env)
    params = StdioServerParameters(
        command=QA_CLI[0],
        args=[*QA_CLI[1:], "mcp", "--index-dir", str(index_dir), "--corpus", str(corpus)],
        env=env,
        cwd=str(tmp_path),
    )
    log = tmp_path / "mcp-stderr.log"
    with log.open("w", encoding="utf-8") as errlog:
        out = run(stdio_client(params, errlog=errlog), every_tool(SAMPLE))
    check_every_tool(out, texts_of(corpus))
    assert "MCP server on stdio" in log.read_text(encoding="utf-8")  # logs go to stderr, not the protocol


@pytest.mark.slow
def test_streamable_http_under_qa_serve_with_read_keys(tmp_path: Path, live_server: StartServer) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    server = live_server(corpus, QA_ANSWER_THRESHOLD="0.3", QA_READ_KEYS="reader-key")
    url = f"{server.url}/mcp"

    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async def with_key(key: str | None, body: Callable[[Client], Awaitable[T]]) -> T:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        hooks = {"response": [record]}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30, event_hooks=hooks) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            return await body(client)

    out = anyio.run(with_key, "reader-key", every_tool(SAMPLE))
    check_every_tool(out, texts_of(corpus))
    assert statuses and set(statuses) == {200}
    for key in (None, "wrong-key"):
        statuses.clear()
        with pytest.raises(Exception, match="unhandled errors"):  # the SDK client cannot even connect
            anyio.run(with_key, key, lambda c: c.list_tools())
        assert statuses and set(statuses) == {401}, statuses
    raw = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert raw.status_code == 401 and raw.headers["www-authenticate"].startswith("Bearer")
    assert httpx.post(f"{server.url}/search", json={"query": "Anthropic"}).status_code == 401
    ok = httpx.post(f"{server.url}/search", json={"query": "Anthropic"}, headers={"Authorization": "Bearer reader-key"})
    assert ok.status_code == 200
    assert "reader-key" not in server.log()
    assert server.process.poll() is None, server.log()


MALFORMED = [
    ("POST", b"not json", "application/json"),
    ("POST", b'{"jsonrpc": "2.0"}', "application/json"),
    ("POST", b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}}', "application/json"),
    ("POST", b'{"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}', "application/json"),
    ("POST", b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', "application/json"),
    ("POST", b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', "text/plain"),
    (
        "POST",
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search_news", '
        b'"arguments": {"query": "\\ud800"}}}',
        "application/json",
    ),
    ("GET", b"", "application/json"),
    ("DELETE", b"", "application/json"),
]


def test_malformed_requests_to_mcp_are_never_a_server_error(server_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from qa.http.app import create_app

    headers = {"Accept": "application/json, text/event-stream"}
    with TestClient(create_app(server_settings, hash_service), raise_server_exceptions=False) as c:
        for method, body, media in MALFORMED:
            r = c.request(method, "/mcp", content=body, headers=headers | {"Content-Type": media})
            assert r.status_code < 500, (method, body, r.status_code, r.text)
            if method != "POST":
                assert r.status_code == 405  # stateless: no stream to GET, no session to DELETE


def test_qa_help_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom news_qa.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('sdk imported:', sorted({m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'qa.mcp'))}))"
    )
    done = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "  mcp " in done.stdout  # the command is listed
    assert done.stdout.strip().endswith("sdk imported: []"), done.stdout[-300:]
