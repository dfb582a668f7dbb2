"""watcher/connpool.py: the pool keeps httpcore's rules (keep-alive limit, a full pool making room,
dead sockets never reused) with a cheaper pass. Real servers on 127.0.0.1 throughout. Reuse across
many feeds of one host is tested through the Fetcher in test_fetch.py."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpcore
import httpx
import pytest

from feedserver import RSS_SAMPLE, FeedServer
from test_fetch import FAST
from watcher import connpool
from watcher.fetch import Fetcher, tls_context


def client(limits: httpx.Limits) -> tuple[httpx.AsyncClient, httpx.AsyncHTTPTransport]:
    t = connpool.transport(tls_context(), limits)
    return httpx.AsyncClient(transport=t, timeout=10), t


def test_the_installed_httpcore_gets_the_linear_pool() -> None:
    # If this fails after an upgrade, httpcore reshaped its pool and every poll silently runs on the
    # stock one (correct, and several times the CPU per request): adapt connpool.py to the new shape.
    assert connpool.uses_linear_pool(connpool.transport(tls_context(), httpx.Limits()))


def test_a_reshaped_httpcore_gets_the_stock_pool_not_a_broken_one(monkeypatch: pytest.MonkeyPatch) -> None:
    connpool._httpcore_fits.cache_clear()
    monkeypatch.delattr(httpcore.AsyncConnectionPool, "_assign_requests_to_connections")
    try:
        t = connpool.transport(tls_context(), httpx.Limits())
        assert type(t._pool) is httpcore.AsyncConnectionPool
    finally:
        connpool._httpcore_fits.cache_clear()


def test_idle_connections_beyond_the_keep_alive_limit_are_closed(feed_server: FeedServer) -> None:
    url = feed_server.add("/k.xml", RSS_SAMPLE)

    async def go() -> int:
        c, t = client(httpx.Limits(max_connections=4, max_keepalive_connections=1))
        async with c:
            rs = await asyncio.gather(*(c.get(url) for _ in range(8)))
            assert all(r.status_code == 200 for r in rs)
            return len(t._pool.connections)

    assert asyncio.run(go()) <= 1


def test_a_full_pool_closes_an_idle_connection_to_another_server() -> None:
    # max_connections 1 and two servers: each request to the other server must take the one slot.
    with FeedServer() as a, FeedServer() as b:
        urls = [a.add("/a.xml", RSS_SAMPLE), b.add("/b.xml", RSS_SAMPLE)] * 3

        async def go() -> list[int]:
            c, _ = client(httpx.Limits(max_connections=1, max_keepalive_connections=1))
            async with c:
                return [(await asyncio.wait_for(c.get(u), 10)).status_code for u in urls]

        assert asyncio.run(go()) == [200] * 6
        assert (a.connections, b.connections) == (3, 3)


class OneAnswerServer:
    """Answers one request per connection with a keep-alive response, then closes the socket, as a
    server does when its keep-alive timeout ends between two of our requests."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = 0
        self.closed = threading.Semaphore(0)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"

    def _serve(self) -> None:
        body = RSS_SAMPLE.encode()
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.closed.release()


@pytest.fixture
def one_answer_server() -> Iterator[OneAnswerServer]:
    s = OneAnswerServer()
    s.thread.start()
    yield s
    s.sock.close()


def test_a_connection_its_server_closed_is_not_reused(one_answer_server: OneAnswerServer) -> None:
    # Reusing it would send the request into a closed socket: "server disconnected" for a feed that
    # is fine. The pool must see the close before handing the connection out.
    async def go() -> list[bool]:
        async with Fetcher(FAST) as f:
            oks = []
            for _ in range(3):
                oks.append((await asyncio.wait_for(f.fetch(one_answer_server.url), 10)).ok)
                assert await asyncio.to_thread(one_answer_server.closed.acquire, True, 10)
            return oks

    assert asyncio.run(go()) == [True, True, True]
    assert one_answer_server.accepted == 3
