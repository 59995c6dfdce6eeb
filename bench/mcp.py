"""MCP latency: a `search_news` call over Streamable HTTP next to `POST /search`, on the BBC index.

Serves the BBC index of --workdir (default .qa-bench/bbc, built once as bench/http.py builds it, or
copied from a checkout that has it) with a real `qa serve`, then sends the same queries, interleaved
so that a busy machine slows all routes alike, at concurrency 1:

- `POST /search` (httpx);
- `search_news` through the official SDK's client, one client kept open (as an assistant does);
- `search_news` with a new SDK client each call (connect, initialize, list nothing, call);
- `tools/call` posted as plain JSON-RPC with httpx: the server's share without the SDK client.

Every call searches a text not searched before (so each embeds its query), and each round takes
the routes in another order.

It prints p50/p99 latency of each, and the service's own `took_ms` (the search itself) for both.

    .venv/bin/python bench/mcp.py [--requests 200] [--workdir .qa-bench/bbc]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:1] = [str(REPO)]  # not bench/: bench/index.py would shadow the `index` package

import anyio
import httpx
from mcp import Client

from bench.http import QUESTIONS
from bench.serving import bbc_bench_args, bbc_served_env, served

ROUTES = ("POST /search", "MCP search_news, open client", "MCP search_news, new client", "MCP tools/call, httpx")


def main() -> int:
    args = bbc_bench_args(__doc__, "requests per route")
    if (env := bbc_served_env(args.workdir)) is None:
        return 2
    with served(env) as server:
        print(f"server start to /ready: {server.ready_s:.1f} s; {args.requests} requests a route, concurrency 1")
        latencies, took = anyio.run(_measure, server.url, args.requests)
    print(f"\n{'route':<32}{'p50 ms':>9}{'p99 ms':>9}{'took_ms p50':>13}")
    for route in ROUTES:
        ms = sorted(latencies[route])
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        service = f"{statistics.median(took[route]):.1f}" if took.get(route) else "-"
        print(f"{route:<32}{statistics.median(ms):>9.1f}{p99:>9.1f}{service:>13}")
    return 0


async def _measure(url: str, n: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    latencies: dict[str, list[float]] = {route: [] for route in ROUTES}
    took: dict[str, list[float]] = {route: [] for route in ROUTES}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http, Client(f"{url}/mcp") as mcp:
        for q in QUESTIONS:  # warm up: model, caches, connections
            await http.post("/search", json={"query": q})
            await mcp.call_tool("search_news", {"query": q})
        for i in range(n):
            question = QUESTIONS[i % len(QUESTIONS)]
            for j in range(len(ROUTES)):  # each round in another order: no route always goes first
                route = ROUTES[(i + j) % len(ROUTES)]
                query = f"{question} ({i}.{j})"  # a new text each call: no query-embedding cache hit
                t0 = time.perf_counter()
                result = await _call(route, http, mcp, url, query)
                latencies[route].append((time.perf_counter() - t0) * 1000)
                took[route].append(result["took_ms"])
    return latencies, took


async def _call(route: str, http: httpx.AsyncClient, mcp: Client, url: str, query: str) -> dict[str, Any]:
    if route == "POST /search":
        r = await http.post("/search", json={"query": query})
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body
    if route == "MCP search_news, open client":
        return _structured(await mcp.call_tool("search_news", {"query": query}))
    if route == "MCP search_news, new client":
        async with Client(f"{url}/mcp") as fresh:
            return _structured(await fresh.call_tool("search_news", {"query": query}))
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "search_news", "arguments": {"query": query}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    r = await http.post("/mcp", json=call, headers=headers)
    r.raise_for_status()
    return dict(r.json()["result"]["structuredContent"])


def _structured(result: Any) -> dict[str, Any]:
    if result.is_error:
        raise SystemExit(f"search_news failed: {result.content}")
    return dict(result.structured_content)


if __name__ == "__main__":
    sys.exit(main())
