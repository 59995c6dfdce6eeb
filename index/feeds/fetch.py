"""Fetch like a good citizen: conditional GET, connect/read time-outs and a deadline for the whole
response, a size limit counted on the bytes as they arrive (the reading stops past it), a few
redirects (each checked by the address guard, a loop named as such), an identifying User-Agent,
and at most `concurrency` requests in flight. Every failure is a FetchError with a short `kind`
(for metrics) and a reason (for people); URLs in messages are redacted."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from index.feeds.guard import AddressRefused, GuardedTransport, Policy, refusal
from index.feeds.urls import SCHEMES, BadUrl, check_url, redact

USER_AGENT = "news-qa/0.1.0 (feed reader)"
ACCEPT_FEED = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5"
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class FetchConfig:
    allow_private: bool = False
    timeout: float = 10.0  # connecting, and each read
    deadline: float = 30.0  # the whole response, redirects included
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    concurrency: int = 4
    user_agent: str = USER_AGENT


class FetchError(Exception):
    """A fetch that failed: `kind` is one of refused, bad_url, http_status, timeout, too_large,
    redirects, unreachable; the message says why."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after  # seconds, from the Retry-After of an error answer


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 (not modified: no body)
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    requests: int  # redirects included
    charset: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """One HTTP client for many fetches, safe to share between threads. Close it when done."""

    def __init__(self, config: FetchConfig | None = None, policy: Policy = refusal) -> None:
        self.config = config or FetchConfig()
        timeout = httpx.Timeout(self.config.timeout)
        transport = GuardedTransport(self.config.allow_private, self.config.concurrency * 2, policy)
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._slots = threading.BoundedSemaphore(self.config.concurrency)
        self._counting = threading.Lock()
        self.requests = 0  # sent, redirects included
        self.bytes_received = 0  # of response bodies, as decoded

    def _count(self, requests: int = 0, received: int = 0) -> None:
        with self._counting:
            self.requests += requests
            self.bytes_received += received

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str = ACCEPT_PAGE
    ) -> Fetched:
        """GET `url` (conditionally, given the validators of the last answer); FetchError on any
        failure, including an HTTP status other than 200 and 304."""
        try:
            url = check_url(url)
        except BadUrl as e:
            raise FetchError("bad_url", str(e)) from None
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        request = self._client.build_request("GET", url, headers=headers)
        seen: list[str] = []
        while True:
            seen.append(str(request.url))
            with self._slots:
                step = self._send(request, started, len(seen))
            if isinstance(step, Fetched):
                return step
            request = self._redirect(step, seen)

    def _send(self, request: httpx.Request, started: float, requests: int) -> Fetched | httpx.Request:
        """One request: the final answer, or the request a redirect points to."""
        where = redact(str(request.url))
        self._count(requests=1)
        try:
            response = self._client.send(request, stream=True)
        except AddressRefused as e:
            raise FetchError("refused", str(e)) from None
        except httpx.TimeoutException:
            raise FetchError("timeout", f"{where}: no answer within {self.config.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise FetchError("unreachable", f"{where}: {_reason(e)}") from None
        try:
            if response.next_request is not None:
                return response.next_request
            if response.status_code == 304:
                return self._fetched(response, b"", requests)
            if response.status_code != 200:
                raise FetchError(
                    "http_status",
                    f"{where}: HTTP {response.status_code} {response.reason_phrase}".rstrip(),
                    _retry_after(response),
                )
            return self._fetched(response, self._read(response, where, started), requests)
        finally:
            response.close()

    def _read(self, response: httpx.Response, where: str, started: float) -> bytes:
        limit = self.config.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"{where}: {int(declared):,} bytes, over the {limit:,}-byte limit")
        chunks, size = [], 0
        try:
            for chunk in response.iter_bytes():  # decoded: a compressed bomb counts as what it inflates to
                size += len(chunk)
                if size > limit:
                    raise FetchError("too_large", f"{where}: over the {limit:,}-byte limit (stopped reading)")
                if time.monotonic() - started > self.config.deadline:
                    raise FetchError("timeout", f"{where}: not complete within {self.config.deadline:g} s")
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchError("timeout", f"{where}: the answer stalled for {self.config.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise FetchError("unreachable", f"{where}: {_reason(e)}") from None
        finally:
            self._count(received=size)
        return b"".join(chunks)

    def _redirect(self, request: httpx.Request, seen: list[str]) -> httpx.Request:
        target = str(request.url)
        if request.url.scheme not in SCHEMES:
            raise FetchError("bad_url", f"redirected to a {request.url.scheme!r} URL; only http(s) is fetched")
        if target in seen:
            raise FetchError("redirects", f"redirect loop: {redact(target)} redirects back to itself")
        if len(seen) > self.config.max_redirects:
            raise FetchError("redirects", f"more than {self.config.max_redirects} redirects")
        return request

    def _fetched(self, response: httpx.Response, body: bytes, requests: int) -> Fetched:
        return Fetched(
            url=str(response.url),
            status=response.status_code,
            body=body,
            content_type=response.headers.get("Content-Type", "").split(";")[0].strip().lower(),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            requests=requests,
            charset=response.charset_encoding,
        )


def _reason(e: httpx.HTTPError) -> str:
    """The library's message, without a URL it may quote (it could hold credentials)."""
    text = str(e) or type(e).__name__
    for cause in (e.__cause__, e.__context__):
        if cause is not None and str(cause):
            text = str(cause)
            break
    return " ".join(text.split())[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
