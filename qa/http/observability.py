"""Request ids in every log line and response, Prometheus metrics, and the request body limit."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from index.feeds.config import FeedConfig
from index.feeds.state import FeedState

log = logging.getLogger("qa.http")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (\"-\" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("faiss", "sentence_transformers", "uvicorn.access", "httpx", "httpcore"):  # httpx: every URL
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Metrics:
    """The app's own registry, so that several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_http_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5, 5, 10),
            registry=self.registry,
        )
        self.stages = Histogram(
            "qa_stage_duration_seconds",
            "Time per stage of the read core (qa/search/timing.py) in /search and /ask",
            ["route", "stage"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5),
            registry=self.registry,
        )
        self.index_version = Gauge("qa_index_version", "Loaded index version", registry=self.registry)
        self.articles = Gauge("qa_index_articles", "Articles in the loaded index", registry=self.registry)
        self.chunks = Gauge("qa_index_chunks", "Live chunks in the loaded index", registry=self.registry)

    def observe_stages(self, route: str, stages_ms: dict[str, float]) -> None:
        for stage, ms in stages_ms.items():
            self.stages.labels(route, stage).observe(ms / 1000)

    def track_feeds(self, status: FeedStatus) -> None:
        self.registry.register(FeedCollector(status))


FeedStatus = Callable[[], list[tuple[FeedConfig, FeedState]]]


class FeedCollector:
    """Per feed, read from the feeds file and the state file at each scrape (so polls by
    `qa feeds poll` in another process count too): last success, last error (by kind), failures
    in a row, entries seen, articles written. Labels are feed names, never URLs (which may hold
    credentials)."""

    def __init__(self, status: FeedStatus) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        try:
            feeds = self.status()
        except Exception:  # a feeds file being edited: no feed metrics in this scrape
            log.debug("feed status unreadable", exc_info=True)
            return
        success = GaugeMetricFamily(
            "qa_feed_last_success_timestamp_seconds", "Last successful poll of the feed", labels=["feed"]
        )
        error = GaugeMetricFamily(
            "qa_feed_last_error_timestamp_seconds", "Last failed poll of the feed, by kind", labels=["feed", "kind"]
        )
        failures = GaugeMetricFamily("qa_feed_failures", "Failed polls of the feed in a row", labels=["feed"])
        seen = CounterMetricFamily("qa_feed_entries_seen", "Distinct entries seen in the feed", labels=["feed"])
        written = CounterMetricFamily(
            "qa_feed_articles_written", "Article files written from the feed", labels=["feed"]
        )
        for feed, state in feeds:
            if state.last_success is not None:
                success.add_metric([feed.name], state.last_success)
            if state.last_error_at is not None:
                error.add_metric([feed.name, state.last_error_kind or "error"], state.last_error_at)
            failures.add_metric([feed.name], state.failures)
            seen.add_metric([feed.name], state.entries_seen)
            written.add_metric([feed.name], state.articles_written)
        yield from (success, error, failures, seen, written)


class RequestMiddleware:
    """Per request: an id (kept from X-Request-ID when sane), the body size limit and read timeout,
    one access log line, and the metrics by route template.

    The body is read here, whatever its framing (Content-Length, chunked, or both), counting the
    bytes that really arrive: 413 once they pass the limit, 408 when the client stalls."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int, body_timeout: float = 30.0) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        rid = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        status = 500
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_body_bytes:
                await _problem(send_with_id, 413, f"request body over the {self.max_body_bytes:,}-byte limit")
                return
            try:
                body = await self._read_limited(receive)
            except TimeoutError:
                await _problem(send_with_id, 408, f"request body stalled for {self.body_timeout:.0f} s")
                return
            if body is None:
                await _problem(send_with_id, 413, f"request body over the {self.max_body_bytes:,}-byte limit")
                return
            await self.app(scope, _replay(body, receive), send_with_id)
        finally:
            elapsed = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route, scope["method"]).observe(elapsed)
            log.info("%s %s -> %d in %.1f ms", scope["method"], scope["path"], status, elapsed * 1000)
            request_id.reset(token)

    async def _read_limited(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the limit; TimeoutError when it stalls."""
        chunks, size, more = [], 0, True
        while more:
            message = await asyncio.wait_for(receive(), self.body_timeout)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """The body already read, in one message; after it, what the connection says (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
