"""URLs: which are fetched at all, the canonical form entries are keyed by, the redacted form
that logs and listings show, and readable file names."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from index.ids import short_digest

SCHEMES = ("http", "https")
# Query parameters whose values are secrets (a token in a private feed's URL): never shown.
SECRET_PARAMS = re.compile(r"(token|key|secret|pass|pwd|auth|sig|signature|session|credential)", re.IGNORECASE)
TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid)$", re.IGNORECASE)


class BadUrl(ValueError):
    """A URL that is not fetched: not http(s), no host, or not a URL at all."""


def check_url(url: str) -> str:
    """The URL, stripped, if it is an absolute http(s) URL with a host; BadUrl otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as e:
        raise BadUrl(f"not a valid URL: {e}") from None
    if parts.scheme.lower() not in SCHEMES:
        shown = f"{parts.scheme!r}" if parts.scheme else "none"
        raise BadUrl(f"only http and https URLs are fetched (scheme: {shown})")
    if not parts.hostname:
        raise BadUrl("the URL has no host")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise BadUrl("the URL holds white space or control characters")
    return url


def canonical(url: str) -> str:
    """The form an entry is keyed by when it has no id: scheme and host lower-cased, no default
    port, no fragment, no tracking parameters (utm_*, fbclid …), no trailing slash on the path."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def redact(url: str) -> str:
    """The URL as logs and listings show it: no user name or password, no secret query values."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    auth = "***@" if parts.username or parts.password else ""
    query = "&".join(
        f"{k}={'***' if SECRET_PARAMS.search(k) else v}" for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, f"{auth}{host}{port}", parts.path, query, ""))


def public_url(url: str) -> str:
    """The URL as an article shows it to anyone: without user name, password or secret query
    parameters (which redact() only masks), and without tracking parameters (utm_* …)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if not SECRET_PARAMS.search(k) and not TRACKING_PARAMS.match(k)])
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


def slug(text: str, limit: int = 60) -> str:
    """Lower-case letters, digits and single dashes: a readable piece of a file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def keyed_name(key: str) -> str:
    """A stable, collision-free file stem for an entry key (an entry id or a canonical URL): a
    readable slug of its last words and a digest of the whole key."""
    parts = urlsplit(key)
    readable = slug(parts.path or key) if parts.scheme in SCHEMES else slug(key)
    return f"{readable[-50:].strip('-') or 'entry'}-{short_digest(key)}"
