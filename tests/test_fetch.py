"""The fetch layer against the real local feed server (tests/feedserver.py), plus a few unit tests of
the decoding and header helpers. Every behaviour a feed server can show goes through the real Fetcher.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import socket
import time
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import brotli
import httpx
import pytest
import yaml

from feedserver import RSS_SAMPLE, FeedServer, closed_port_url
from watcher.config import FetchSettings
from watcher.fetch import Fetcher, _run_chain, make_decoders, parse_retry_after
from watcher.model import FailureKind, FetchResult

FAILURES = yaml.safe_load((Path(__file__).parent / "fixtures/fetch/failures.yaml").read_text("utf-8"))
# Short deadlines, so a bug that makes something hang fails the test instead of stalling the suite.
FAST = FetchSettings(connect_timeout=3.0, read_timeout=3.0, total_timeout=8.0)


def fetch(url: str, settings: FetchSettings = FAST, **kw: str | None) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as f:
            return await asyncio.wait_for(f.fetch(url, **kw), timeout=30)
    return asyncio.run(go())


def fetch_many(urls: list[str], settings: FetchSettings = FAST) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(settings) as f:
            return await asyncio.wait_for(asyncio.gather(*(f.fetch(u) for u in urls)), timeout=60)
    return asyncio.run(go())


# --- the normal case -----------------------------------------------------------------------------

def test_a_feed_comes_back_with_its_bytes_and_lower_cased_headers(feed_server: FeedServer) -> None:
    body = RSS_SAMPLE.encode()
    url = feed_server.add("/feed.xml", body, headers={"X-Custom": "yes"})
    r = fetch(url)
    assert r.ok and r.status == 200 and not r.not_modified
    assert r.content == body and r.nbytes == len(body)
    assert r.final_url == url and r.permanent_redirect is None
    assert r.headers["content-type"] == "application/rss+xml"
    assert r.headers["x-custom"] == "yes"
    assert all(k == k.lower() for k in r.headers)
    (method, headers), = feed_server.requests("/feed.xml")
    assert method == "GET"
    assert "watcher" in headers["user-agent"]
    assert "if-none-match" not in headers and "if-modified-since" not in headers


@pytest.mark.parametrize("behaviour", ["gzip", "brotli"])
def test_compressed_feeds_are_decoded(feed_server: FeedServer, behaviour: str) -> None:
    body = RSS_SAMPLE.encode() * 50
    url = feed_server.add_behaviour("/z.xml", behaviour, body=body)
    r = fetch(url)
    assert r.ok, r.failure
    assert r.content == body
    assert r.nbytes == len(body)


# --- conditional GET -----------------------------------------------------------------------------

def test_conditional_get_round_trip(feed_server: FeedServer) -> None:
    feed_server.add("/c.xml", RSS_SAMPLE)
    url = feed_server.add_behaviour("/c.xml", "conditional", etag='"abc"',
                                    last_modified="Tue, 04 Mar 2025 10:00:00 GMT")
    first = fetch(url)
    assert first.ok and first.content == RSS_SAMPLE.encode()
    assert first.etag == '"abc"' and first.last_modified == "Tue, 04 Mar 2025 10:00:00 GMT"

    again = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.ok and again.status == 304
    assert again.content == b""
    # The pipeline stores these again; a 304 must not lose them.
    assert again.etag == '"abc"' and again.last_modified == first.last_modified
    sent = feed_server.requests("/c.xml")[-1][1]
    assert sent["if-none-match"] == '"abc"'
    assert sent["if-modified-since"] == "Tue, 04 Mar 2025 10:00:00 GMT"


@pytest.mark.parametrize("changed", [False, True], ids=["304", "200"])
def test_feeds_on_one_host_share_its_connections_whether_or_not_they_changed(feed_server: FeedServer,
                                                                             changed: bool) -> None:
    # A regular poll is mostly 304s. Each one used to close its connection unread, so every unchanged
    # feed cost a new connection (over https, a new TLS handshake) to a host already connected to.
    urls = []
    for i in range(20):
        feed_server.add(f"/k{i}.xml", RSS_SAMPLE)
        urls.append(feed_server.add_behaviour(f"/k{i}.xml", "conditional", etag=f'"k{i}"'))
    settings = dataclasses.replace(FAST, concurrency=4, per_host=4)

    async def go() -> list[FetchResult]:
        async with Fetcher(settings) as f:
            return list(await asyncio.gather(*(f.fetch(u, etag=None if changed else f'"k{i}"')
                                               for i, u in enumerate(urls))))

    results = asyncio.run(go())
    assert all(r.ok and r.not_modified is not changed for r in results)
    assert feed_server.connections <= 4, f"{feed_server.connections} connections for 20 requests"


def test_if_modified_since_alone_gives_304(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/lm.xml", "conditional", last_modified="Tue, 04 Mar 2025 10:00:00 GMT")
    r = fetch(url, last_modified="Tue, 04 Mar 2025 10:00:00 GMT")
    assert r.not_modified
    assert "if-none-match" not in feed_server.requests("/lm.xml")[-1][1]


def test_a_changed_etag_gets_the_new_body(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/e.xml", "conditional", etag='"v2"')
    r = fetch(url, etag='"v1"')
    assert r.ok and not r.not_modified
    assert r.content == RSS_SAMPLE.encode() and r.etag == '"v2"'


# --- status codes and other failures, as a table ---------------------------------------------------

@pytest.mark.parametrize("case", FAILURES, ids=[c["name"] for c in FAILURES])
def test_failure_table(feed_server: FeedServer, case: dict) -> None:
    b = case["behaviour"]
    url = feed_server.add_behaviour("/x.xml", b.pop("name"), **b) if b else feed_server.url("/missing.xml")
    r = fetch(url)
    want = case["expect"]
    assert not r.ok and not r.not_modified
    assert r.failure.kind == FailureKind(want["kind"])
    assert r.failure.status == want["status"]
    assert r.status == want["status"]
    if "retry_after" in want:
        assert r.failure.retry_after == want["retry_after"]
    for word in want["message_has"]:
        assert word in r.failure.message
    assert r.content == b""


def test_retry_after_as_an_http_date(feed_server: FeedServer) -> None:
    # The server's own Date header is the reference, so the answer is right even with clock skew.
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=600), usegmt=True)
    url = feed_server.add_behaviour("/d.xml", "unavailable", retry_after=when)
    r = fetch(url)
    assert r.failure.kind is FailureKind.RATE_LIMITED
    assert 590 <= r.failure.retry_after <= 601


def test_redirect_loop_stops_at_the_limit(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/loop.xml", "redirect_loop")
    r = fetch(url, FetchSettings(max_redirects=3, total_timeout=8.0))
    assert r.failure.kind is FailureKind.TOO_MANY_REDIRECTS
    assert len(feed_server.requests("/loop.xml")) == 4  # the request and 3 redirects followed


# --- redirects ------------------------------------------------------------------------------------

@pytest.mark.parametrize("codes, permanent", [
    ([301], True), ([308], True), ([301, 308], True),
    ([302], False), ([307], False), ([301, 302], False), ([302, 301], False),
])
def test_only_an_all_permanent_chain_moves_the_feed(feed_server: FeedServer, codes: list[int],
                                                    permanent: bool) -> None:
    final = feed_server.add("/new.xml", RSS_SAMPLE)
    for i, code in enumerate(codes):
        to = f"/hop{i + 1}.xml" if i + 1 < len(codes) else "/new.xml"
        feed_server.add_behaviour(f"/hop{i}.xml", "redirect", to=to, status=code)
    r = fetch(feed_server.url("/hop0.xml"))
    assert r.ok and r.content == RSS_SAMPLE.encode()
    assert r.final_url == final
    assert r.url == feed_server.url("/hop0.xml")
    assert r.permanent_redirect == (final if permanent else None)


def test_a_permanent_redirect_to_a_broken_place_does_not_move_the_feed(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/old.xml", "redirect", to="/nowhere.xml", status=301)
    r = fetch(url)
    assert r.failure.kind is FailureKind.HTTP_4XX
    assert r.permanent_redirect is None


def test_conditional_headers_follow_redirects(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/moved.xml", "conditional", etag='"m"')
    url = feed_server.add_behaviour("/orig.xml", "redirect", to="/moved.xml", status=301)
    r = fetch(url, etag='"m"')
    assert r.not_modified
    assert r.permanent_redirect == feed_server.url("/moved.xml")


# --- bounds: time -----------------------------------------------------------------------------------

def test_a_trickling_server_hits_the_total_deadline(feed_server: FeedServer,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    url = feed_server.add_behaviour("/trickle.xml", "trickle", interval=0.3)
    settings = FetchSettings(connect_timeout=3.0, read_timeout=3.0, total_timeout=1.0)  # 1 s: the least allowed
    started = time.monotonic()
    r = fetch(url, settings)
    took = time.monotonic() - started
    assert r.failure.kind is FailureKind.TIMEOUT
    assert "total_timeout" in r.failure.message
    # The read timeout (3 s) never fires: each byte arrives within it. Only the total deadline ends this.
    assert 0.95 <= r.elapsed and took < 10
    # The client hanging up mid-body is normal for the server: no traceback on stderr. The trickle
    # handler sees the hang-up at once (it waits on the socket); a traceback would follow its end.
    deadline = time.monotonic() + 5
    while feed_server.in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    assert "Traceback" not in capfd.readouterr().err


def test_a_silent_server_hits_the_read_timeout(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/hang.xml", "hang")
    r = fetch(url, FetchSettings(connect_timeout=3.0, read_timeout=0.5, total_timeout=8.0))
    assert r.failure.kind is FailureKind.TIMEOUT
    assert "read_timeout" in r.failure.message


# --- bounds: size -------------------------------------------------------------------------------

CAP = 1_000_000


def test_an_announced_oversized_body_is_refused_before_reading(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/big.xml", "oversized", size=20_000_000, content_length=True)
    r = fetch(url, FetchSettings(max_bytes=CAP, total_timeout=8.0))
    assert r.failure.kind is FailureKind.TOO_LARGE
    assert r.nbytes == 0 and "20,000,000" in r.failure.message and "max_bytes" in r.failure.message


def test_an_unannounced_oversized_body_is_cut_off(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/big.xml", "oversized", size=20_000_000, content_length=False)
    r = fetch(url, FetchSettings(max_bytes=CAP, total_timeout=8.0))
    assert r.failure.kind is FailureKind.TOO_LARGE
    assert CAP < r.nbytes < 2 * CAP


@pytest.mark.parametrize("bomb", ["gzip_bomb", "brotli_bomb"])
def test_compression_bombs_are_cut_off_on_decoded_size(feed_server: FeedServer, bomb: str) -> None:
    url = feed_server.add_behaviour("/bomb.xml", bomb, size=50_000_000)
    r = fetch(url, FetchSettings(max_bytes=CAP, total_timeout=8.0))
    assert r.failure.kind is FailureKind.TOO_LARGE
    assert r.status == 200
    assert CAP < r.nbytes < 2 * CAP  # stopped just past the cap, not after inflating 50 MB
    assert r.content == b""


def test_a_body_exactly_at_the_cap_is_accepted(feed_server: FeedServer) -> None:
    body = b"<rss>" + b"x" * (CAP - 11) + b"</rss>"
    assert len(body) == CAP
    url = feed_server.add_behaviour("/edge.xml", "gzip", body=body)
    r = fetch(url, FetchSettings(max_bytes=CAP, total_timeout=8.0))
    assert r.ok and r.content == body


# --- content is passed through, not judged ------------------------------------------------------------

def test_an_html_page_is_returned_for_the_parser_to_judge(feed_server: FeedServer) -> None:
    url = feed_server.add_behaviour("/page", "html")
    r = fetch(url)
    assert r.ok
    assert r.content.startswith(b"<!DOCTYPE html>")
    assert r.headers["content-type"].startswith("text/html")


def test_a_wrong_declared_charset_passes_through_unchanged(feed_server: FeedServer) -> None:
    body = "<rss><channel><title>Xuất khẩu chip 英伟达</title></channel></rss>".encode("utf-8")
    url = feed_server.add_behaviour("/cs.xml", "wrong_charset", body=body)
    r = fetch(url)
    assert r.ok and r.content == body
    assert "iso-8859-1" in r.headers["content-type"]


# --- connection-level failures -----------------------------------------------------------------------

def test_connection_refused() -> None:
    r = fetch(closed_port_url())
    assert r.failure.kind is FailureKind.CONNECT
    assert "127.0.0.1" in r.failure.message and r.status is None


def _invalid_tld_fails_fast() -> bool:
    """Whether this machine's resolver rejects .invalid names quickly (RFC 6761 says it must)."""
    import concurrent.futures as cf
    with cf.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(socket.getaddrinfo, "no-such-host.invalid", 80)
        try:
            fut.result(timeout=3)
        except socket.gaierror:
            return True
        except Exception:
            return False
    return False


def test_dns_failure() -> None:
    if not _invalid_tld_fails_fast():
        pytest.skip("this sandbox's resolver does not fail fast on .invalid names")
    r = fetch("http://no-such-host.invalid/feed.xml")
    assert r.failure.kind is FailureKind.DNS
    assert "no-such-host.invalid" in r.failure.message


def test_tls_to_a_plain_http_server(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", RSS_SAMPLE).replace("http://", "https://")
    r = fetch(url)
    assert r.failure.kind is FailureKind.TLS
    assert "TLS" in r.failure.message


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd", "not a url",
                                 "http://", "javascript:alert(1)"])
def test_unusable_urls_are_bad_url_without_any_request(url: str) -> None:
    r = fetch(url)
    assert r.failure.kind is FailureKind.BAD_URL
    assert r.status is None


# --- concurrency limits -------------------------------------------------------------------------------

# The limit tests count on the client side, from the request's start to its response's close: the
# first requests are all in flight before any answer can arrive, so a short delay (0.1 s) is enough to
# reach the limit, and the requests queued behind it show it is never passed.
def test_per_host_limit(feed_server: FeedServer) -> None:
    for i in range(6):
        feed_server.add(f"/s{i}.xml", RSS_SAMPLE)
        feed_server.add_behaviour(f"/s{i}.xml", "slow", delay=0.1)
    results, counter = fetch_counted([feed_server.url(f"/s{i}.xml") for i in range(6)],
                                     FetchSettings(concurrency=10, per_host=2, total_timeout=20.0))
    assert all(r.ok for r in results)
    assert counter.peak == 2 and counter.in_flight == 0


class _CountingTransport(httpx.AsyncBaseTransport):
    """Counts requests in flight where the client sees them: from sending the request until the
    fetcher closes the response. The server's own count cannot be used for a limit: it counts a request
    finished only after writing the body, and by then the client may have started the next one."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            self.in_flight -= 1
            raise
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Closing(response.stream, self), extensions=response.extensions)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Closing(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, counter: _CountingTransport) -> None:
        self.stream, self.counter, self.closed = stream, counter, False

    async def __aiter__(self):  # type: ignore[override]
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.counter.in_flight -= 1
        await self.stream.aclose()


def fetch_counted(urls: list[str], settings: FetchSettings) -> tuple[list[FetchResult], _CountingTransport]:
    counter = _CountingTransport()

    async def go() -> list[FetchResult]:
        async with Fetcher(settings, transport=counter) as f:
            return await asyncio.wait_for(asyncio.gather(*(f.fetch(u) for u in urls)), timeout=60)

    return asyncio.run(go()), counter


def test_global_limit_across_hosts(feed_server: FeedServer) -> None:
    # 127.0.0.1 and localhost are different hosts to the fetcher, but the same server here.
    for i in range(6):
        feed_server.add(f"/g{i}.xml", RSS_SAMPLE)
        feed_server.add_behaviour(f"/g{i}.xml", "slow", delay=0.1)
    urls = [feed_server.url(f"/g{i}.xml") for i in range(6)]
    urls += [u.replace("127.0.0.1", "localhost") for u in urls]
    results, counter = fetch_counted(urls, FetchSettings(concurrency=3, per_host=3, total_timeout=20.0))
    assert all(r.ok for r in results), [r.failure for r in results if not r.ok]
    assert counter.peak == 3
    assert counter.in_flight == 0  # every response was closed: the count is complete


def test_the_server_keeps_up_with_many_feeds_at_once(feed_server: FeedServer) -> None:
    # The bench serves ~1000 feeds; here 200 at 50 connections must all come back intact.
    bodies = {f"/m{i}.xml": RSS_SAMPLE.replace("Sample", f"Feed {i}").encode() for i in range(200)}
    urls = [feed_server.add(path, body) for path, body in bodies.items()]
    results = fetch_many(urls, FetchSettings(concurrency=50, per_host=50, total_timeout=20.0))
    assert [r.content for r in results] == list(bodies.values())


def test_every_behaviour_at_once_returns_a_result_each(feed_server: FeedServer) -> None:
    # What the pipeline does: gather many fetches; one bad source must not disturb another.
    urls = [feed_server.add("/good.xml", RSS_SAMPLE)]
    for i, (name, kw) in enumerate([("gone", {}), ("reset", {}), ("redirect_loop", {}), ("empty", {}),
                                     ("gzip_bomb", {"size": 5_000_000}), ("error", {}), ("html", {})]):
        urls.append(feed_server.add_behaviour(f"/b{i}", name, **kw))
    urls.append(closed_port_url())
    results = fetch_many(urls, FetchSettings(max_bytes=CAP, total_timeout=8.0))
    assert [r.url for r in results] == urls
    assert results[0].ok and results[0].content == RSS_SAMPLE.encode()
    assert [r.ok for r in results] == [True, False, False, False, False, False, False, True, False]


# --- unit tests of the helpers (no server) ----------------------------------------------------------

NOW = datetime(2025, 3, 4, 10, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, seconds", [
    ("120", 120.0), (" 0 ", 0.0), ("Tue, 04 Mar 2025 10:05:00 GMT", 300.0),
    ("Tue, 04 Mar 2025 09:00:00 GMT", 0.0),  # in the past: retry now, not a negative wait
    ("soon", None), ("-5", None), ("1.5", None), ("", None), (None, None),
])
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def _decode_all(encoding: str, data: bytes, step: int = 1000) -> list[bytes]:
    chain = make_decoders(encoding)
    out = []
    for i in range(0, len(data), step):
        out += list(_run_chain(chain, data[i:i + step]))
    out += list(_run_chain(chain, b"", final=True))
    return out


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", lambda b: gzip.compress(b)),
    ("x-gzip", lambda b: gzip.compress(b)),
    ("gzip", lambda b: gzip.compress(b[:5000]) + gzip.compress(b[5000:])),  # two gzip members
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send "deflate"
    ("br", brotli.compress),
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),  # applied in order: gzip, then br
    ("identity", lambda b: b),
])
def test_decoders_give_back_the_original(encoding: str, encode) -> None:
    body = RSS_SAMPLE.encode() * 200
    assert b"".join(_decode_all(encoding, encode(body))) == body


@pytest.mark.parametrize("encoding, bomb", [
    ("gzip", lambda: gzip.compress(b"\0" * 20_000_000, compresslevel=1)),
    ("br", lambda: brotli.compress(b"\0" * 20_000_000, quality=1)),
])
def test_decoders_never_inflate_a_big_piece_at_once(encoding: str, bomb) -> None:
    # This is what keeps memory bounded: a 64 KiB network chunk may hold gigabytes of zeros.
    chain = make_decoders(encoding)
    biggest = max(len(p) for p in _run_chain(chain, bomb()))
    assert biggest <= 256 * 1024


def test_an_encoding_we_did_not_ask_for_is_a_protocol_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "zstd"}, content=b"\x28\xb5\x2f\xfd")

    async def go() -> FetchResult:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as f:
            return await f.fetch("http://feeds.test/a.xml")
    r = asyncio.run(go())
    assert r.failure.kind is FailureKind.PROTOCOL
    assert "zstd" in r.failure.message


def test_a_redirect_without_location_is_a_protocol_failure() -> None:
    async def go() -> FetchResult:
        transport = httpx.MockTransport(lambda req: httpx.Response(302))
        async with Fetcher(FAST, transport=transport) as f:
            return await f.fetch("http://feeds.test/a.xml")
    r = asyncio.run(go())
    assert r.failure.kind is FailureKind.PROTOCOL
    assert "Location" in r.failure.message


def test_a_corrupt_gzip_body_is_a_protocol_failure(feed_server: FeedServer) -> None:
    url = feed_server.add("/bad.xml", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    r = fetch(url)
    assert r.failure.kind is FailureKind.PROTOCOL
    assert r.status == 200
    assert "gzip" in r.failure.message
