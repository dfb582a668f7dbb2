"""The HTTP connection pool every Fetcher uses: httpcore's, with a bookkeeping pass that costs one walk.

httpcore's pool reruns `_assign_requests_to_connections` whenever a request arrives or a response is
closed. In httpcore 1.0 that pass is quadratic in the pooled connections (it counts the whole pool once
per idle connection) and asks the kernel, with a `poll()` and a `getpeername()`, whether each idle
socket was closed by its server. At 16 connections that is about 250 state queries and a dozen system
calls per pass, two passes per request, and it was most of the CPU of a warm poll, where every answer
is a short 304: the warm 1,000-feed bench took 1.8x a bare httpx loop's wall time. It can also hand
one idle connection to two queued requests, and the loser goes round again.

`LinearPool` keeps httpcore's rules and data, and changes only how the pass finds them:
- one walk over the pool per pass; connections promised to a request that has not started yet
  ("spoken for") are neither handed out again nor closed as surplus;
- a server-closed or keep-alive-expired socket is looked for where it matters, on the connection
  about to be reused, and in a sweep of the whole pool at most once per SWEEP_SECONDS.

It relies on httpcore's private pool attributes. `transport()` checks once per process that they are
what this module expects, and otherwise returns httpx's stock transport: an httpcore release that
reshapes its pool costs speed, never correctness. `tests/test_connpool.py` fails when that happens,
so the fallback is never silent in CI.

HTTP/1.1 only: an HTTP/2 connection serves many requests at once, which this pass does not model.
watcher never asks for HTTP/2 (fetch.py), and `transport()` keeps the stock pool if it is asked to.
"""

from __future__ import annotations

import functools
import ssl
import time
from typing import TYPE_CHECKING

import httpcore
import httpx

if TYPE_CHECKING:
    from httpcore._async.interfaces import AsyncConnectionInterface

# How often a pass also sweeps every idle connection for a closed or expired socket. Between sweeps a
# dead idle connection only holds a file descriptor; it is found when it would be reused.
SWEEP_SECONDS = 1.0


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's AsyncConnectionPool with a pass that walks the pool once (see the module docstring)."""

    _swept_at = float("-inf")

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        # Called by httpcore with the pool's lock held; returns the connections the caller closes.
        closing: list[AsyncConnectionInterface] = []
        now = time.monotonic()
        sweep = now - self._swept_at >= SWEEP_SECONDS
        if sweep:
            self._swept_at = now
        spoken_for = {r.connection for r in self._requests if r.connection is not None}

        kept: list[AsyncConnectionInterface] = []
        idle: list[AsyncConnectionInterface] = []  # free to hand out, oldest first
        for conn in self._connections:
            if conn.is_closed():  # includes a connection that failed to connect
                continue
            if sweep and conn not in spoken_for and conn.has_expired():
                closing.append(conn)
                continue
            kept.append(conn)
            if conn.is_idle() and conn not in spoken_for:
                idle.append(conn)

        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:  # more idle connections than may be kept alive: close the oldest
            gone = set(idle[:surplus])
            closing += idle[:surplus]
            kept = [c for c in kept if c not in gone]
            idle = idle[surplus:]

        for request in self._requests:
            if request.connection is not None:
                continue  # started, or already given a connection
            origin = request.request.url.origin
            reused = _take_reusable(idle, origin, kept, closing)
            if reused is not None:
                request.assign_to_connection(reused)
                continue
            if len(kept) >= self._max_connections:
                if not idle:
                    continue  # waits for a response to close
                # The pool is full: an idle connection to another server makes room.
                old = idle.pop(0)
                kept.remove(old)
                closing.append(old)
            new = self.create_connection(origin)
            kept.append(new)
            request.assign_to_connection(new)

        self._connections[:] = kept
        return closing


def _take_reusable(idle: list[AsyncConnectionInterface], origin: httpcore.Origin,
                   kept: list[AsyncConnectionInterface],
                   closing: list[AsyncConnectionInterface]) -> AsyncConnectionInterface | None:
    """The oldest idle connection to `origin` whose socket is still good, taken out of `idle`.
    Dead ones met on the way move from `kept` to `closing`."""
    i = 0
    while i < len(idle):
        conn = idle[i]
        if not conn.can_handle_request(origin):
            i += 1
            continue
        del idle[i]
        if not conn.has_expired():
            return conn
        kept.remove(conn)
        closing.append(conn)
    return None


@functools.cache
def _httpcore_fits() -> bool:
    """Whether this httpcore's pool has the private parts LinearPool reads and writes."""
    try:
        pool = httpcore.AsyncConnectionPool()
        return (callable(getattr(httpcore.AsyncConnectionPool, "_assign_requests_to_connections", None))
                and isinstance(pool._requests, list) and isinstance(pool._connections, list)
                and isinstance(pool._max_connections, int) and isinstance(pool._max_keepalive_connections, int)
                and callable(getattr(pool, "create_connection", None)))
    except Exception:  # any change in shape means: use the stock pool
        return False


def transport(ssl_context: ssl.SSLContext, limits: httpx.Limits, *, http2: bool = False) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose pool is a LinearPool, or httpx's stock one where that cannot be."""
    stock = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, http1=True, http2=http2)
    if http2 or not _httpcore_fits() or type(getattr(stock, "_pool", None)) is not httpcore.AsyncConnectionPool:
        return stock
    stock._pool = LinearPool(
        ssl_context=ssl_context, max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, http1=True, http2=False)
    return stock


def uses_linear_pool(t: httpx.AsyncBaseTransport) -> bool:
    """Whether `t` is a transport built by `transport()` with the fast pool (for the tests)."""
    return isinstance(getattr(t, "_pool", None), LinearPool)
