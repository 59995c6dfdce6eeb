"""Fetching: the address guard (after DNS, on every redirect, on the address connected to), the
size limit, redirects, credentials kept out of messages; and one URL at a time through
`POST /articles/fetch` and `qa fetch`."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.feeds.fetch import FetchConfig, Fetcher, FetchError
from index.feeds.guard import IPAddress, refusal
from index.feeds.urls import canonical, public_url, redact
from qa.config import Settings
from qa.http.app import create_app
from tests.conftest import API_KEY, free_port, hash_service
from tests.feedserver import FeedServer
from tests.test_feeds import FED


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT; also Alibaba's metadata range
        ("240.0.0.1", "reserved"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_are_refused(address: str, why: str | None) -> None:
    found = refusal(ipaddress.ip_address(address))
    assert (found is None) if why is None else (found is not None and why in found)


def fetcher(allow_private: bool = True, **kw: Any) -> Fetcher:
    config = FetchConfig(allow_private=allow_private, timeout=0.5, deadline=3.0, max_bytes=200_000)
    return Fetcher(config, **kw)


def test_loopback_is_refused_without_the_setting_and_nothing_is_sent(feed_server: FeedServer) -> None:
    url = feed_server.page("/news/fed", "Fed holds rates", *FED)
    for target in (url, url.replace("127.0.0.1", "localhost")):
        with fetcher(allow_private=False) as f, pytest.raises(FetchError) as e:
            f.get(target)
        assert e.value.kind == "refused" and "is a loopback address" in str(e.value)
        assert "QA_FETCH_ALLOW_PRIVATE" in str(e.value)
    assert feed_server.seen == []
    with fetcher(allow_private=True) as f:
        assert f.get(url).status == 200  # allowed by the operator


def only_first_loopback(ip: IPAddress) -> str | None:
    """A policy for tests: 127.0.0.1 (the test server) is fine, the rest of 127/8 is refused."""
    return None if str(ip) == "127.0.0.1" else "refused by the test's policy"


def test_every_redirect_is_checked(feed_server: FeedServer) -> None:
    feed_server.page("/news/fed", "Fed holds rates", *FED)
    feed_server.serve("/go", b"", location=f"http://127.0.0.2:{feed_server.port}/news/fed")
    with fetcher(allow_private=False, policy=only_first_loopback) as f, pytest.raises(FetchError) as e:
        f.get(feed_server.url("/go"))
    assert e.value.kind == "refused" and "127.0.0.2" in str(e.value)
    assert [s.path for s in feed_server.seen] == ["/go"]


def test_the_address_checked_is_the_address_connected_to(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host is resolved once a connection: a refused address among the answers is skipped,
    and an answer that would change on a second lookup (DNS rebinding) is never asked for."""
    feed_server.page("/news/fed", "Fed holds rates", *FED)
    answers = iter(
        [
            [("127.0.0.2", "refused first"), ("127.0.0.1", "then the allowed one")],
            [("127.0.0.2", "a second lookup would get only this")],
        ]
    )
    lookups = []
    real = socket.getaddrinfo

    def lookup(host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
        if host != "news.test":
            return real(host, port, *args, **kw)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip, _ in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with fetcher(allow_private=False, policy=only_first_loopback) as f:
        assert f.get(f"http://news.test:{feed_server.port}/news/fed").status == 200
    assert lookups == ["news.test"]
    assert feed_server.seen[0].headers["host"] == f"news.test:{feed_server.port}"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://x", "http://", "not a url", "http://a b/"]
)
def test_only_http_urls_are_fetched(url: str) -> None:
    with fetcher() as f, pytest.raises(FetchError) as e:
        f.get(url)
    assert e.value.kind == "bad_url"


def test_redirects_are_followed_a_few_times(feed_server: FeedServer) -> None:
    feed_server.page("/news/fed", "Fed holds rates", *FED)
    for n in range(7):
        feed_server.serve(f"/r{n}", b"", location=f"/r{n + 1}" if n < 6 else "/news/fed")
    with fetcher() as f:
        fetched = f.get(feed_server.url("/r2"))  # five redirects: the most allowed
        assert fetched.url == feed_server.url("/news/fed") and fetched.requests == 6
        with pytest.raises(FetchError, match="more than 5 redirects") as e:
            f.get(feed_server.url("/r1"))
    assert e.value.kind == "redirects"


def test_a_body_over_the_limit_is_refused_as_it_streams(feed_server: FeedServer) -> None:
    feed_server.serve("/declared", b"x" * 300_000)
    feed_server.serve("/streamed", b"", huge=50_000_000)
    with fetcher() as f:
        for path, said in (("/declared", "300,000 bytes, over the 200,000-byte limit"), ("/streamed", "stopped")):
            with pytest.raises(FetchError) as e:
                f.get(feed_server.url(path))
            assert e.value.kind == "too_large" and said in str(e.value)
    assert feed_server.sent("/streamed") < 50_000_000


def test_a_server_that_drips_its_answer_meets_the_deadline(feed_server: FeedServer) -> None:
    url = feed_server.serve("/drip", b"<rss>" + b" " * 200 + b"</rss>", drip=0.1)  # 20 s at a byte a 0.1 s
    config = FetchConfig(allow_private=True, timeout=0.5, deadline=1.0)
    with Fetcher(config) as f, pytest.raises(FetchError, match=r"not complete within 1 s") as e:
        f.get(url)  # each read comes within the time-out; the whole answer does not come within the deadline
    assert e.value.kind == "timeout"


def test_credentials_never_appear_in_messages() -> None:
    url = f"http://reader:hunter2@127.0.0.1:{free_port()}/feed.xml?token=abc123&page=2"
    with fetcher() as f, pytest.raises(FetchError) as e:
        f.get(url)
    assert "hunter2" not in str(e.value) and "abc123" not in str(e.value)
    assert redact(url).endswith("/feed.xml?token=***&page=2") and "reader" not in redact(url)
    assert public_url(url) == url.replace("reader:hunter2@", "").replace("token=abc123&", "")


def test_canonical_urls_key_entries_without_ids() -> None:
    assert canonical("HTTPS://Example.COM:443/a/b/?utm_source=x&id=3#top") == "https://example.com/a/b?id=3"
    assert canonical("http://example.com") == "http://example.com/"


# -- one URL at a time ---------------------------------------------------------------------------


@pytest.fixture
def client(feed_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(feed_settings, hash_service)) as c:
        yield c


AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_post_articles_fetch_writes_and_indexes_one_page(
    client: TestClient, feed_server: FeedServer, feed_settings: Settings
) -> None:
    url = feed_server.page("/news/fed", "Fed holds rates", *FED, site="Daily Ledger")
    r = client.post("/articles/fetch", json={"url": url}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    [article_id] = body["added"]
    assert article_id.startswith("_fetched/127-0-0-1/") and body["index_version"] >= 1
    hit = client.post("/search", json={"query": "central bank interest rates", "top_k": 1}).json()["results"][0]
    assert (hit["article_id"], hit["title"], hit["source"], hit["url"]) == (
        article_id,
        "Fed holds rates",
        "Daily Ledger",
        url,
    )
    again = client.post("/articles/fetch", json={"url": url + "?utm_source=newsletter"}, headers=AUTH).json()
    assert again["added"] == again["changed"] == [] and again["unchanged"] == 1  # the same page, not a second one


def test_post_articles_fetch_says_why_not(client: TestClient, feed_server: FeedServer) -> None:
    feed_server.serve("/error", b"oops", status=500)
    feed_server.serve("/huge", b"", huge=1_000_000)
    feed_server.serve("/empty", "<html><head><title>Empty</title></head><body><script>x = 1</script></body></html>")
    cases = {
        "ftp://example.com/a": (422, "only http and https"),
        feed_server.url("/error"): (502, "could not fetch: "),
        feed_server.url("/huge"): (502, "over the 200,000-byte limit"),
        feed_server.url("/empty"): (422, "no article text"),
        f"http://127.0.0.1:{free_port()}/": (502, "cannot connect"),
    }
    for url, (status, said) in cases.items():
        r = client.post("/articles/fetch", json={"url": url}, headers=AUTH)
        assert r.status_code == status and said in r.json()["detail"], (url, r.text)
    assert client.post("/articles/fetch", json={"url": feed_server.url("/error")}).status_code == 401


def test_post_articles_fetch_refuses_private_addresses_by_default(
    app_settings: Settings, feed_server: FeedServer
) -> None:
    url = feed_server.page("/news/fed", "Fed holds rates", *FED)
    with TestClient(create_app(app_settings, hash_service)) as c:
        r = c.post("/articles/fetch", json={"url": url}, headers=AUTH)
    assert r.status_code == 422 and "loopback" in r.json()["detail"]
    assert feed_server.seen == []


def test_qa_fetch_end_to_end(
    feed_server: FeedServer, feed_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from news_qa.cli import main

    url = feed_server.page("/news/fed", "Fed holds rates", *FED)
    assert main(["fetch", url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    [article_id] = result["added"]
    assert (Path(feed_env.corpus_dir) / f"{article_id}.md").is_file()
    assert main(["search", "central bank interest rates", "--json", "-k", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["article_id"] == article_id

    monkeypatch.setenv("QA_FETCH_ALLOW_PRIVATE", "false")
    assert main(["fetch", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: refused: 127.0.0.1 is a loopback address") and err.count("\n") == 1
