"""A local HTTP server on 127.0.0.1 that serves fixture feeds and misbehaves on demand.

Used by the fetch tests, the end-to-end tests and the benchmarks. It only ever binds 127.0.0.1 on an
ephemeral port, runs in a background thread, and is stopped at fixture teardown.

    server = FeedServer().start()          # or the `feed_server` pytest fixture
    url = server.add("/a.xml", RSS)        # a static route; returns its URL
    server.add_behaviour("/slow.xml", "trickle", interval=0.5)
    server.requests("/a.xml")              # [(method, {lower-cased header: value}), ...]
    server.connections                     # TCP connections accepted so far
    server.stop()

Behaviours (add_behaviour(path, name, **kw)); each returns the route's URL:

    conditional   kw etag, last_modified: serves the body added at `path` (or kw body) with ETag and
                  Last-Modified, and 304 when If-None-Match or If-Modified-Since matches
    rate_limited  429 with Retry-After (kw retry_after, default "120")
    unavailable   503 with Retry-After (kw retry_after, default "30"; None sends no header)
    error         kw status (default 500), an error page
    gone          410 Gone
    trickle       200, then one byte every kw interval seconds (default 0.5) until the client leaves
                  (Content-Type: kw content_type, default application/rss+xml; so for oversized)
    hang          accepts the request and never answers until the client leaves
    reset         closes the connection without answering
    oversized     kw size bytes of a valid-looking feed; kw content_length (default True) announces it
    gzip_bomb     kw size (default 50 MB) of zeros, gzip-compressed, Content-Encoding: gzip
    brotli_bomb   the same with brotli
    gzip, brotli  the body added at `path` (or kw body), compressed: the normal, benign case
    redirect      kw to (a path or URL), kw status (default 301)
    redirect_loop 302 to itself for ever (the query string changes so nothing can spot the cycle)
    redirect_scheme  302 to kw to (default file:///etc/passwd)
    html          200 with an HTML page where a feed should be
    empty         200 with an empty body
    wrong_charset UTF-8 bytes (kw body, default has Vietnamese and Chinese) sent as charset=iso-8859-1
    slow          the body added at `path` (or kw body) after kw delay seconds (default 0.3);
                  `peak_in_flight` is the server's count: a request ends only after its body is
                  written, so it may briefly overlap the client's next one; limit tests count on the
                  client side instead (test_fetch.py, _CountingTransport)
    held          the body added at `path` (or kw body) once the test sets kw gate (a threading.Event),
                  so a test orders events without racing a timer

Static routes are a dict lookup and one write of precomputed bytes, so the bench can serve ~1000 feeds.
"""

from __future__ import annotations

import gzip
import select
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import brotli

# Errors that only mean "the client went away"; never worth a traceback.
_GONE = (ConnectionError, TimeoutError, OSError)

RSS_SAMPLE = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Sample</title><link>http://example.test/</link>
<description>local fixture feed</description>
<item><title>Nvidia H20 chips face new export rules</title><link>http://example.test/1</link>
<guid>http://example.test/1</guid><description>Chip news.</description></item>
</channel></rss>
"""

HTML_PAGE = """<!DOCTYPE html><html><head><title>Welcome</title></head>
<body><h1>Our news site</h1><p>This is a web page, not a feed.</p></body></html>
"""

WRONG_CHARSET_BODY = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Tin tức công nghệ 芯片出口管制</title><link>http://example.test/</link>
<item><title>Xuất khẩu chip Nvidia sang Trung Quốc 英伟达</title><link>http://example.test/vi/1</link></item>
</channel></rss>
"""


@lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (50 MB -> about 50 KB). Cached: building it costs ~0.2 s."""
    return gzip.compress(b"\0" * size, compresslevel=9, mtime=0)


@lru_cache(maxsize=4)
def brotli_bomb(size: int) -> bytes:
    """`size` zero bytes, brotli-compressed (50 MB -> under 100 bytes)."""
    return brotli.compress(b"\0" * size, quality=5)


def closed_port_url(path: str = "/feed.xml") -> str:
    """A URL on 127.0.0.1 whose port nobody listens on (bound, then released), for 'connect refused'."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@dataclass
class Route:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    behaviour: Callable[["_Handler", "Route"], None] | None = None
    head: bytes = b""  # precomputed status line and headers for static routes


def _to_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _render_head(status: int, headers: list[tuple[str, str]], length: int | None) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", f"Date: {formatdate(usegmt=True)}", "Server: feedserver"]
    lines += [f"{k}: {v}" for k, v in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the bench does not pay a connect per feed
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # tests read `requests()`, not a log on stderr

    def handle(self) -> None:
        try:
            super().handle()
        except _GONE:
            pass  # the client hung up; nothing to do

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        fs = self.server.owner
        fs._record(path, self.command, {k.lower(): v for k, v in self.headers.items()})
        route = fs._routes.get(path)
        fs._enter()
        try:
            if route is None:
                self.send_plain(404, b"no such route on the test feed server\n")
            elif route.behaviour is not None:
                route.behaviour(self, route)
            else:
                self.wfile.write(route.head + route.body)
        finally:
            fs._leave()

    # helpers for behaviours
    def send_plain(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None,
                   content_type: str = "text/plain; charset=utf-8") -> None:
        hs = [("Content-Type", content_type), *(headers or [])]
        self.wfile.write(_render_head(status, hs, len(body)) + body)

    def send_open_ended(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Headers for a body with no announced length: it ends when the connection closes."""
        self.close_connection = True
        self.wfile.write(_render_head(status, [*headers, ("Connection", "close")], None))

    def client_gone(self, wait: float) -> bool:
        """Wait up to `wait` seconds; True if the client closed its end meanwhile."""
        r, _, _ = select.select([self.connection], [], [], wait)
        if not r:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default of 5 drops connections when the bench opens 50 at once
    owner: "FeedServer"

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner.connections += 1  # the serving thread alone accepts, so no lock is needed
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, _GONE):
            return
        # A bug in the server itself: keep it for the test to see, and show it.
        self.owner.errors.append(exc)
        traceback.print_exc()


class FeedServer:
    """See the module docstring. Thread-safe: routes may be added while requests are served."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._routes: dict[str, Route] = {}
        self._seen: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.errors: list[BaseException] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.connections = 0  # TCP connections accepted: keep-alive reuse shows as fewer than requests

    # lifecycle
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "FeedServer":
        # stop() waits for serve_forever to look at its shutdown flag, once per poll_interval: every test
        # using the `feed_server` fixture pays it (159 tests; at 0.05 s, up to 8 s). A new connection
        # wakes the loop at once whatever the interval, so the bench is served as fast.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="feedserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # lets trickle/hang handlers end
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # routes
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path if path.startswith('/') else '/' + path}"

    def add(self, path: str, body: bytes | str, *, status: int = 200, headers: dict[str, str] | None = None,
            content_type: str = "application/rss+xml") -> str:
        """Serve `body` at `path` with this status and headers. Replaces any route there."""
        data = _to_bytes(body)
        hs = [("Content-Type", content_type), *(headers or {}).items()]
        route = Route(status=status, headers=hs, body=data, head=_render_head(status, hs, len(data)))
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def add_behaviour(self, path: str, name: str, **kw: Any) -> str:
        """Make `path` misbehave as `name` (see the module docstring). Uses the body added there, if any."""
        make = _BEHAVIOURS.get(name)
        if make is None:
            raise ValueError(f"unknown behaviour {name!r}; known: {', '.join(sorted(_BEHAVIOURS))}")
        with self._lock:
            base = self._routes.get(path)
        body = _to_bytes(kw.pop("body", base.body if base else RSS_SAMPLE))
        ctype = kw.pop("content_type", dict(base.headers).get("Content-Type", "application/rss+xml")
                       if base else "application/rss+xml")
        route = Route(body=body, headers=[("Content-Type", ctype)])
        route.behaviour = make(self, path, route, **kw)
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def requests(self, path: str) -> list[tuple[str, dict[str, str]]]:
        """(method, lower-cased headers) of every request seen for `path`, oldest first."""
        with self._lock:
            return list(self._seen.get(path, []))

    def reset_peak(self) -> None:
        with self._lock:
            self.peak_in_flight = self.in_flight

    # bookkeeping, called from handler threads
    def _record(self, path: str, method: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._seen.setdefault(path, []).append((method, headers))

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


# --- behaviours: each factory returns the function that answers one request ---------------------

Behaviour = Callable[[_Handler, Route], None]


def _conditional(fs: FeedServer, path: str, route: Route, *, etag: str = '"v1"',
                 last_modified: str = "Mon, 01 Jan 2024 00:00:00 GMT") -> Behaviour:
    validators = [("ETag", etag), ("Last-Modified", last_modified)]

    def answer(h: _Handler, r: Route) -> None:
        inm = h.headers.get("If-None-Match")
        ims = h.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:  # RFC 9110: If-None-Match wins; If-Modified-Since is then ignored
            fresh = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        elif ims is not None:
            try:
                fresh = parsedate_to_datetime(ims) >= parsedate_to_datetime(last_modified)
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            h.wfile.write(_render_head(304, validators, None))
        else:
            h.send_plain(200, r.body, validators, content_type=dict(r.headers)["Content-Type"])
    return answer


def _status(status: int, retry_after: str | None = None) -> Callable[..., Behaviour]:
    def factory(fs: FeedServer, path: str, route: Route, *, retry_after: str | None = retry_after,
                status: int = status) -> Behaviour:
        extra = [("Retry-After", str(retry_after))] if retry_after is not None else []

        def answer(h: _Handler, r: Route) -> None:
            h.send_plain(status, f"HTTP {status} from the test feed server\n".encode(), extra)
        return answer
    return factory


def _trickle(fs: FeedServer, path: str, route: Route, *, interval: float = 0.5) -> Behaviour:
    def answer(h: _Handler, r: Route) -> None:
        h.send_open_ended(200, [("Content-Type", dict(r.headers).get("Content-Type", "application/rss+xml"))])
        h.wfile.write(b"<")
        while not fs.stopping.is_set():
            if h.client_gone(interval):
                return
            h.wfile.write(b" ")  # raises once the client has gone, which ends the thread
            h.wfile.flush()
    return answer


def _hang(fs: FeedServer, path: str, route: Route) -> Behaviour:
    def answer(h: _Handler, r: Route) -> None:
        while not fs.stopping.is_set() and not h.client_gone(0.1):
            pass
        h.close_connection = True
    return answer


def _reset(fs: FeedServer, path: str, route: Route) -> Behaviour:
    def answer(h: _Handler, r: Route) -> None:
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)
    return answer


def _oversized(fs: FeedServer, path: str, route: Route, *, size: int = 20_000_000,
               content_length: bool = True) -> Behaviour:
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
    filler = b"<item><title>filler</title><description>" + b"x" * 4000 + b"</description></item>\n"

    def answer(h: _Handler, r: Route) -> None:
        hs = [("Content-Type", dict(r.headers).get("Content-Type", "application/rss+xml"))]
        if content_length:
            h.wfile.write(_render_head(200, hs, size))
        else:
            h.send_open_ended(200, hs)
        sent = 0
        h.wfile.write(head)
        sent += len(head)
        while sent < size and not fs.stopping.is_set():
            chunk = filler[: size - sent]
            h.wfile.write(chunk)
            sent += len(chunk)
    return answer


def _compressed(encoding: str, bomb: bool) -> Callable[..., Behaviour]:
    def factory(fs: FeedServer, path: str, route: Route, *, size: int = 50_000_000) -> Behaviour:
        if bomb:
            data = gzip_bomb(size) if encoding == "gzip" else brotli_bomb(size)
        else:
            data = gzip.compress(route.body, mtime=0) if encoding == "gzip" else brotli.compress(route.body)
        ctype = dict(route.headers)["Content-Type"]

        def answer(h: _Handler, r: Route) -> None:
            h.send_plain(200, data, [("Content-Encoding", encoding)], content_type=ctype)
        return answer
    return factory


def _redirect(fs: FeedServer, path: str, route: Route, *, to: str, status: int = 301) -> Behaviour:
    target = fs.url(to) if to.startswith("/") else to

    def answer(h: _Handler, r: Route) -> None:
        h.send_plain(status, b"moved\n", [("Location", target)])
    return answer


def _redirect_loop(fs: FeedServer, path: str, route: Route, *, status: int = 302) -> Behaviour:
    counter = iter(range(1, 1 << 62))
    lock = threading.Lock()

    def answer(h: _Handler, r: Route) -> None:
        with lock:
            n = next(counter)
        h.send_plain(status, b"again\n", [("Location", f"{path}?hop={n}")])
    return answer


def _redirect_scheme(fs: FeedServer, path: str, route: Route, *, to: str = "file:///etc/passwd",
                     status: int = 302) -> Behaviour:
    return _redirect(fs, path, route, to=to, status=status)


def _fixed(status: int, body: bytes, content_type: str) -> Callable[..., Behaviour]:
    def factory(fs: FeedServer, path: str, route: Route) -> Behaviour:
        def answer(h: _Handler, r: Route) -> None:
            h.send_plain(status, body, content_type=content_type)
        return answer
    return factory


def _wrong_charset(fs: FeedServer, path: str, route: Route) -> Behaviour:
    # An explicit body= wins; otherwise the sample with non-Latin text that iso-8859-1 would garble.
    body = route.body if route.body != RSS_SAMPLE.encode() else WRONG_CHARSET_BODY.encode("utf-8")

    def answer(h: _Handler, r: Route) -> None:
        h.send_plain(200, body, content_type="application/rss+xml; charset=iso-8859-1")
    return answer


def _slow(fs: FeedServer, path: str, route: Route, *, delay: float = 0.3) -> Behaviour:
    def answer(h: _Handler, r: Route) -> None:
        fs.stopping.wait(delay)
        h.send_plain(200, r.body, content_type=dict(r.headers)["Content-Type"])
    return answer


def _held(fs: FeedServer, path: str, route: Route, *, gate: threading.Event) -> Behaviour:
    def answer(h: _Handler, r: Route) -> None:
        while not gate.wait(0.05):
            if fs.stopping.is_set():
                return
        h.send_plain(200, r.body, content_type=dict(r.headers)["Content-Type"])
    return answer


_BEHAVIOURS: dict[str, Callable[..., Behaviour]] = {
    "conditional": _conditional,
    "rate_limited": _status(429, "120"),
    "unavailable": _status(503, "30"),
    "error": _status(500),
    "gone": _status(410),
    "trickle": _trickle,
    "hang": _hang,
    "reset": _reset,
    "oversized": _oversized,
    "gzip_bomb": _compressed("gzip", bomb=True),
    "brotli_bomb": _compressed("br", bomb=True),
    "gzip": _compressed("gzip", bomb=False),
    "brotli": _compressed("br", bomb=False),
    "redirect": _redirect,
    "redirect_loop": _redirect_loop,
    "redirect_scheme": _redirect_scheme,
    "html": _fixed(200, HTML_PAGE.encode(), "text/html; charset=utf-8"),
    "empty": _fixed(200, b"", "application/rss+xml"),
    "wrong_charset": _wrong_charset,
    "slow": _slow,
    "held": _held,
}
