"""A local web server for the feed tests and the feeds bench: serves RSS, Atom and JSON Feed
documents and article pages written for the tests on a free port of 127.0.0.1, answers
conditional requests with 304, and plays the broken servers (an HTTP error, a huge body, a
stalled answer, a redirect loop). It records every request it sees."""

from __future__ import annotations

import email.utils
import html
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None  # a redirect
    stall: float = 0.0  # seconds before answering (the slow server)
    huge: int = 0  # stream this many bytes of filler, without Content-Length
    drip: float = 0.0  # send the body a byte at a time, this many seconds apart


@dataclass
class Seen:
    """A request, recorded as its answer starts (so a client never sees an answer before the
    server has recorded it); `sent` is final once `done` is set."""

    path: str
    headers: dict[str, str]
    status: int
    at: float  # time.monotonic() when answered
    sent: int = 0  # body bytes sent
    wire: int = 0  # bytes of the request line and headers, and of the answer's status line and headers
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Entry:
    """One feed entry; `link` is a path on the server (or a full URL)."""

    id: str
    title: str
    link: str
    published: str  # ISO date-time, e.g. 2026-03-18T10:00:00+00:00
    summary: str = ""
    updated: str | None = None


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self._versions: dict[str, int] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()  # ends every stall at once (teardown)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return path if "://" in path else f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- what is served ------------------------------------------------------------------------

    def serve(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8", **kw: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(data, content_type, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def page(self, path: str, title: str, *paragraphs: str, site: str = "Test Site") -> str:
        """An article page: navigation and footer around an <article> with the title and text."""
        text = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        doc = (
            f"<html><head><title>{html.escape(title)} - {site}</title>"
            f'<meta property="og:site_name" content="{site}"></head><body>'
            f"<nav>Home | World | Business</nav><article><h1>{html.escape(title)}</h1>{text}</article>"
            f"<footer>Copyright {site}</footer></body></html>"
        )
        return self.serve(path, doc)

    def feed(self, path: str, kind: str, title: str, entries: list[Entry]) -> str:
        """A feed document of `kind` (rss, atom, json); each new document of a path gets new
        validators (ETag and Last-Modified)."""
        body, content_type = render(kind, title, [self._absolute(e) for e in entries])
        version = self._versions[path] = self._versions.get(path, 0) + 1
        stamp = email.utils.formatdate(1_770_000_000 + 60 * version, usegmt=True)
        return self.serve(path, body, content_type, etag=f'"v{version}"', last_modified=stamp)

    def _absolute(self, e: Entry) -> Entry:
        return Entry(e.id, e.title, self.url(e.link), e.published, e.summary, e.updated)

    # -- what was seen -------------------------------------------------------------------------

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def sent(self, path: str) -> int:
        """Body bytes of the last answer to `path`, once it is over."""
        last = self.requests_to(path)[-1]
        assert last.done.wait(10), f"the answer to {path} did not end"
        return last.sent


def render(kind: str, title: str, entries: list[Entry]) -> tuple[bytes, str]:
    if kind == "rss":
        items = "".join(
            f"<item><title>{html.escape(e.title)}</title><link>{html.escape(e.link)}</link>"
            f'<guid isPermaLink="false">{html.escape(e.id)}</guid><pubDate>{_rfc822(e.published)}</pubDate>'
            f"<description>{html.escape(e.summary)}</description></item>"
            for e in entries
        )
        channel = f"<channel><title>{html.escape(title)}</title>{items}</channel>"
        doc = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
        return doc.encode(), "application/rss+xml"
    if kind == "atom":
        items = "".join(
            f"<entry><id>{html.escape(e.id)}</id><title>{html.escape(e.title)}</title>"
            f'<link href="{html.escape(e.link)}"/><published>{e.published}</published>'
            f"<updated>{e.updated or e.published}</updated><summary>{html.escape(e.summary)}</summary></entry>"
            for e in entries
        )
        doc = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{html.escape(title)}</title>{items}</feed>'
        return doc.encode(), "application/atom+xml"
    items_json = [
        {"id": e.id, "url": e.link, "title": e.title, "date_published": e.published, "content_text": e.summary}
        | ({"date_modified": e.updated} if e.updated else {})
        for e in entries
    ]
    doc_json = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items_json}
    return json.dumps(doc_json).encode(), "application/feed+json"


def _rfc822(iso: str) -> str:
    import datetime as dt

    return email.utils.format_datetime(dt.datetime.fromisoformat(iso))


def _filler(size: int) -> Iterator[bytes]:
    block = b"<p>" + b"x" * 65_530 + b"</p>"
    sent = 0
    while sent < size:
        yield block[: size - sent]
        sent += len(block)


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        header_bytes = 0

        def end_headers(self) -> None:
            self.header_bytes = sum(len(b) for b in getattr(self, "_headers_buffer", [])) + 2  # and the blank line
            super().end_headers()

        def _request_bytes(self) -> int:
            return len(self.raw_requestline) + len(str(self.headers).encode("latin-1"))

        def do_GET(self) -> None:
            route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
            headers = {k.lower(): v for k, v in self.headers.items()}
            if route is None:
                self._answer(404, b"not found", "text/plain", {}, headers)
                return
            if route.stall:
                server.release.wait(route.stall)
            if route.location:
                status = 302 if route.status == 200 else route.status
                self._answer(status, b"", "text/plain", {"Location": server.url(route.location)}, headers)
            elif route.huge:
                self._stream(route, headers)
            elif (route.etag and headers.get("if-none-match") == route.etag) or (
                route.last_modified and headers.get("if-modified-since") == route.last_modified
            ):
                self._answer(304, b"", None, self._validators(route), headers)
            else:
                self._answer(route.status, route.body, route.content_type, self._validators(route), headers, route.drip)

        def _validators(self, route: Route) -> dict[str, str]:
            found = {"ETag": route.etag, "Last-Modified": route.last_modified}
            return {k: v for k, v in found.items() if v}

        def _answer(
            self,
            status: int,
            body: bytes,
            content_type: str | None,
            extra: dict[str, str],
            seen: dict[str, str],
            route_drip: float = 0.0,
        ) -> None:
            record = Seen(self.path, seen, status, time.monotonic())
            server.record(record)
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            try:
                self.end_headers()
                if status != 304 and route_drip:
                    for i in range(len(body)):
                        if server.release.wait(route_drip):
                            break
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                elif status != 304:
                    self.wfile.write(body)
                record.sent = 0 if status == 304 else len(body)
                record.wire = self._request_bytes() + self.header_bytes
            except OSError:  # the client gave up first (it timed out on a stalled answer)
                self.close_connection = True
            record.done.set()

        def _stream(self, route: Route, seen: dict[str, str]) -> None:
            record = Seen(self.path, seen, 200, time.monotonic())
            server.record(record)
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for block in _filler(route.huge):
                    self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                    record.sent += len(block)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:  # the client stopped reading, as it should
                self.close_connection = True
            record.done.set()

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler
