"""Fetch feed documents over HTTP: bounded, polite, and with every outcome returned as a value.

`Fetcher.fetch(url)` returns a `FetchResult` for whatever happens: the body and headers, a 304, or a
`Failure` classified into `FailureKind`. It never raises for a problem with one URL; a raise here is a
bug. The parser decides whether the bytes are a feed; the only content judgement made here is that an
empty 200 is not a feed. Connections are kept alive and reused by the pool in watcher/connpool.py.

Bounds, and why each one exists:
- concurrency: one global semaphore and one per host, acquired host first, so requests queued for a
  busy host do not occupy global slots that other hosts could use. Given the state folder, a request
  also holds one of the host's slot files (watcher/hostslots.py), so the per-host limit holds across
  every watcher process on that store (a backfill beside a `watcher run`). Waiting in these queues
  does not count against any timeout.
- time: httpx's connect and read timeouts, plus an asyncio deadline around each whole request
  (redirect hops and body included), because a server that trickles a byte every second never trips
  a read timeout.
- size: the body is decoded here, chunk by chunk with bounded output per step, and counted in decoded
  bytes. httpx's own decoders inflate a whole network chunk at once, and 64 KiB of brotli can expand
  to gigabytes, so a cap checked after httpx decoded would come too late.
- redirects: followed here, one hop at a time, so every hop's scheme is checked (http/https only),
  the per-host limit applies to the host actually contacted, and we know whether the whole chain was
  permanent (301/308), which is what lets the pipeline update a moved feed's URL.
- unresponsive servers: a server (host and port) whose requests time out HOST_TIMEOUTS_TO_DEFER
  times in a row is not asked again this poll; its remaining sources come back `deferred`, as do
  all sources not done by the poll's deadline (fetch.poll_deadline). A Fetcher is one poll.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType

import brotli
import httpx

from . import connpool
from .config import FetchSettings, parse_interval
from .errors import StoreError
from .hostslots import HostSlots
from .hostname import host_problem
from .model import Failure, FailureKind, FetchResult

# Only encodings decoded below with bounded output; we never advertise one we cannot bound.
ACCEPT_ENCODING = "gzip, deflate, br"
ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.9, application/feed+json;q=0.8, */*;q=0.5")
_PIECE = 64 * 1024  # most decoded bytes produced per decoder step
# Consecutive timeouts after which a server's remaining sources wait for the next poll. A server that
# accepts connections and never answers costs a full timeout per request, per_host at a time: 500
# sources on one took 90 minutes. One timeout is a slow moment and two can be bad luck; three in a
# row, with nothing answered in between, is a server that is not answering this poll.
HOST_TIMEOUTS_TO_DEFER = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_PERMANENT = (301, 308)


# --- decoding with bounded output ---------------------------------------------------------------

class DecodeError(Exception):
    """The body claims an encoding but the bytes do not decode."""


class _Identity:
    def decode(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (all members) or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, gzip: bool):
        self.gzip = gzip
        self.first = True
        self.d = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes) -> Iterator[bytes]:
        buf = data
        while True:
            try:
                out = self.d.decompress(buf, _PIECE)
            except zlib.error as e:
                if self.first and not self.gzip:
                    # "deflate" without the zlib header: start again as raw deflate.
                    self.first = False
                    self.d = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise DecodeError(f"bad {'gzip' if self.gzip else 'deflate'} data: {e}") from e
            self.first = False
            if out:
                yield out
            if self.d.eof:
                rest = self.d.unused_data
                if not (self.gzip and rest.strip(b"\0")):
                    return  # trailing zero padding after the last member is common; ignore it
                self.d = zlib.decompressobj(zlib.MAX_WBITS | 16)
                buf = rest
                continue
            buf = self.d.unconsumed_tail
            # Input used up and no output: zlib has nothing pending. (With max_length it can still
            # owe output after eating all input, which is why we loop once more with b"".)
            if not buf and not out:
                return

    def flush(self) -> Iterator[bytes]:
        return self.decode(b"")


class _Brotli:
    def __init__(self) -> None:
        self.d = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self.d.process(data, output_buffer_limit=_PIECE)
            if out:
                yield out
            # With an output limit, brotli holds the rest; drain it with empty input, piece by piece.
            while not self.d.can_accept_more_data():
                out = self.d.process(b"", output_buffer_limit=_PIECE)
                if not out:
                    break
                yield out
        except brotli.error as e:
            raise DecodeError(f"bad brotli data: {e}") from e

    def flush(self) -> Iterator[bytes]:
        return iter(())


def make_decoders(content_encoding: str) -> list[_Identity | _Zlib | _Brotli]:
    """Decoders in the order to apply them (the reverse of the header's order).

    Raises DecodeError for an encoding we did not offer in Accept-Encoding.
    """
    names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
    chain: list[_Identity | _Zlib | _Brotli] = []
    for name in reversed(names):
        if name in ("gzip", "x-gzip"):
            chain.append(_Zlib(gzip=True))
        elif name == "deflate":
            chain.append(_Zlib(gzip=False))
        elif name == "br":
            chain.append(_Brotli())
        elif name == "identity":
            continue
        else:
            raise DecodeError(f"Content-Encoding {name!r}, which watcher did not ask for "
                              f"(it accepts {ACCEPT_ENCODING})")
    return chain or [_Identity()]


def _run_chain(chain: list[_Identity | _Zlib | _Brotli], data: bytes, final: bool = False) -> Iterator[bytes]:
    """Feed data through decoders[0], its output through decoders[1], and so on, lazily."""
    def stage(i: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
        dec = chain[i]
        for p in pieces:
            yield from dec.decode(p)
        if final:
            yield from dec.flush()

    pieces: Iterator[bytes] = iter((data,))
    for i in range(len(chain)):
        pieces = stage(i, pieces)
    return pieces


# --- pure helpers ------------------------------------------------------------------------------

def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP-date. None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # HTTP dates are GMT by definition
    return max(0.0, (when - now).total_seconds())


def _server_now(headers: httpx.Headers) -> datetime:
    """The server's clock when it has sent one, so an HTTP-date Retry-After survives our clock skew."""
    date = headers.get("date")
    if date:
        try:
            got = parsedate_to_datetime(date)
            if got is not None:
                return got if got.tzinfo else got.replace(tzinfo=timezone.utc)
        except (TypeError, ValueError, IndexError):
            pass
    return datetime.now(timezone.utc)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups (anyio's connect wraps its errors in one)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def classify_error(exc: BaseException, url: str, settings: FetchSettings) -> Failure:
    """Turn a transport exception into a Failure whose message says what happened and what to do."""
    exc = _leaf(exc)
    host = _host_of(url)
    chain = list(_causes(exc))
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return Failure(FailureKind.BAD_URL, f"{url} is not a usable http(s) address ({exc}); fix the url")
    if any(isinstance(e, socket.gaierror) for e in chain):
        return Failure(FailureKind.DNS, f"DNS lookup failed for {host}: the host name does not resolve; "
                                        f"check the url's spelling or whether the site still exists")
    if any(isinstance(e, ssl.SSLError) for e in chain) or isinstance(exc, ssl.SSLError):
        reason = next(str(e) for e in chain if isinstance(e, ssl.SSLError))
        return Failure(FailureKind.TLS, f"TLS handshake with {host} failed ({reason}); the site's "
                                        f"certificate or https setup is broken — try http:// or tell the site")
    if isinstance(exc, httpx.ConnectTimeout):
        return Failure(FailureKind.TIMEOUT, f"connecting to {host} took longer than "
                                            f"{settings.connect_timeout:g} s; the server may be down")
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return Failure(FailureKind.TIMEOUT, f"{host} stopped answering for {settings.read_timeout:g} s "
                                            f"(fetch.read_timeout); it will be retried")
    if isinstance(exc, httpx.ConnectError) or isinstance(exc, ConnectionRefusedError):
        reason = "connection refused" if any(isinstance(e, ConnectionRefusedError) for e in chain) \
            else str(exc) or type(exc).__name__
        return Failure(FailureKind.CONNECT, f"could not connect to {host} ({reason}); the server may be "
                                            f"down or the port wrong")
    if isinstance(exc, (httpx.TransportError, httpx.DecodingError, OSError)):
        return Failure(FailureKind.PROTOCOL, f"{host} broke the HTTP exchange ({type(exc).__name__}: "
                                             f"{exc or 'no detail'}); it will be retried")
    raise exc  # anything else is a bug: let it crash


def server_key(url: str) -> str:
    """The server a URL is on, as the deferral counts it: the host, and the port if the URL names
    one (two servers on one machine answer, or hang, independently)."""
    try:
        u = httpx.URL(url)
        host = u.host or url
        return f"{host}:{u.port}" if u.port is not None else host
    except Exception:  # an unreadable URL: check_url has already made it a failure
        return url


def _host_of(url: str) -> str:
    """The URL's host for a message; the URL itself when it has none that can be read."""
    try:
        return httpx.URL(url).host or url
    except Exception:  # httpx and idna raise several types for junk; any of them means "no host"
        return url


def check_url(url: str) -> str | None:
    """Why this URL cannot be fetched, or None when it is a plausible http(s) address.

    Everything that would otherwise fail deep inside the HTTP stack, where it surfaced as a crash
    rather than as this source's failure: a port outside 1-65535 (the socket raised OverflowError,
    wrapped in anyio's ExceptionGroup), a malformed internationalised name (idna raised), and host
    names no DNS server could answer."""
    try:
        u = httpx.URL(url)
    except Exception as e:  # InvalidURL, TypeError for odd input...: all mean the same to a user
        return f"{url!r} is not a valid URL ({e})"
    if u.scheme not in ("http", "https"):
        return f"{url!r} is not http:// or https://"
    problem = host_problem(u)
    if problem:
        return f"{url!r}: {problem}"
    try:
        port = u.port
    except Exception as e:
        return f"{url!r} has an unreadable port ({e})"
    if port is not None and not 1 <= port <= 65535:
        return f"{url!r} has port {port}; a port is a number from 1 to 65535"
    return None


class _TooLarge(Exception):
    pass


# --- the fetcher --------------------------------------------------------------------------------

@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every Fetcher of this process shares: certifi's roots (or SSL_CERT_FILE /
    SSL_CERT_DIR, read once here). Building them loads the whole CA bundle, about 30 ms of CPU, which
    httpx would otherwise spend on every client: once per poll, per backfill, per full-text pass."""
    return httpx.create_ssl_context()


class Fetcher:
    """One shared AsyncClient with global and per-host concurrency limits. Use as `async with`."""

    def __init__(self, settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None,
                 state_dir: Path | None = None):
        self.settings = settings
        self._transport = transport
        # The per-host limit across processes; None (unit tests, no store) keeps it to this process.
        self._shared = HostSlots(state_dir, settings.per_host) if state_dir is not None else None
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._timeouts: dict[str, int] = {}  # server -> consecutive timeouts this poll
        self.deferred_servers: dict[str, str] = {}  # server -> why its remaining sources are deferred
        self._deadline: float | None = None  # loop time at which the poll's deadline passes

    async def __aenter__(self) -> "Fetcher":
        s = self.settings
        if self._shared is not None:
            self._shared.prepare()  # a state folder that cannot hold the slots: one error, before any request
        # Our semaphores already bound concurrency; the pool only has to keep connections alive.
        limits = httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency)
        self._client = httpx.AsyncClient(
            http1=True, http2=False, follow_redirects=False, verify=tls_context(), limits=limits,
            transport=self._transport or connpool.transport(tls_context(), limits),
            timeout=httpx.Timeout(connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout,
                                  pool=s.total_timeout),
            headers={"User-Agent": s.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        )
        await self._client.__aenter__()
        self._deadline = asyncio.get_running_loop().time() + parse_interval(s.poll_deadline)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._client is not None:
                await self._client.__aexit__(exc_type, exc, tb)
                self._client = None
        finally:
            if self._shared is not None:
                self._shared.close()

    def _host_sem(self, host: str) -> asyncio.Semaphore:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.settings.per_host)
        return sem

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """This process's share of the host first (no flock attempts beyond per_host), then, with a
        state folder, a slot that no other watcher process holds."""
        async with self._host_sem(host):
            if self._shared is None:
                yield
            else:
                async with self._shared.hold(host):
                    yield

    def _answered(self, server: str, failure: Failure | None) -> None:
        """Count a request's outcome towards its server's run of timeouts; any answer ends the run."""
        if failure is None or failure.kind is not FailureKind.TIMEOUT:
            self._timeouts[server] = 0
            return
        n = self._timeouts[server] = self._timeouts.get(server, 0) + 1
        if n >= HOST_TIMEOUTS_TO_DEFER and server not in self.deferred_servers:
            self.deferred_servers[server] = f"host {server} timed out {n} times this poll"

    def _deadline_passed(self) -> bool:
        return self._deadline is not None and asyncio.get_running_loop().time() >= self._deadline

    def _deadline_reason(self) -> str:
        return f"the poll's deadline (fetch.poll_deadline: {self.settings.poll_deadline}) passed first"

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    accept: str | None = None, content_types: tuple[str, ...] = ()) -> FetchResult:
        """GET one feed URL, following redirects; every outcome comes back as a FetchResult.

        `accept` and `content_types` are for article pages (watcher/fulltext): the Accept header to
        send, and the media types whose body is read at all; any other type is a NOT_A_FEED failure
        before a byte of its body is read (a 50 MB PDF costs one response header).

        `deferred` instead of fetched: its server stopped answering this poll, or the poll's deadline
        passed (while it waited for a slot, or mid-request)."""
        if self._client is None:
            raise RuntimeError("use Fetcher inside `async with Fetcher(settings) as f:`")
        problem = check_url(url)
        if problem:
            return FetchResult(url=url, final_url=url, status=None,
                               failure=Failure(FailureKind.BAD_URL, f"{problem}; fix the source's url"))
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        if accept:
            conditional["Accept"] = accept

        s = self.settings
        budget = s.total_timeout  # seconds of actual network time left, across all hops
        spent = 0.0
        current = url
        hops: list[int] = []  # status of every redirect followed
        while True:
            host = httpx.URL(current).host
            server = server_key(current)

            def deferred(why: str) -> FetchResult:
                return FetchResult(url=url, final_url=current, status=None, elapsed=spent, deferred=why)

            if self._deadline_passed():
                return deferred(self._deadline_reason())
            try:
                # The poll's deadline covers the wait for a slot too: that is where sources queue
                # behind a server that does not answer.
                async with asyncio.timeout_at(self._deadline), self._host_slot(host), self._global:
                    if server in self.deferred_servers:
                        return deferred(self.deferred_servers[server])
                    started = time.monotonic()
                    try:
                        async with asyncio.timeout(budget - spent):
                            outcome = await self._hop(url, current, conditional, etag, last_modified, hops,
                                                      content_types)
                    except TimeoutError:  # this request's own budget: the poll's deadline passes the inner one
                        spent += time.monotonic() - started
                        failure = Failure(
                            FailureKind.TIMEOUT, f"{current} did not finish within {s.total_timeout:g} s "
                            f"(fetch.total_timeout); the server is too slow or trickling data")
                        self._answered(server, failure)
                        return FetchResult(url=url, final_url=current, status=None, elapsed=spent, failure=failure)
                    except Exception as e:  # classify_error re-raises anything that is not a network problem
                        spent += time.monotonic() - started
                        failure = classify_error(e, current, s)
                        self._answered(server, failure)
                        return FetchResult(url=url, final_url=current, status=None, elapsed=spent, failure=failure)
                    spent += time.monotonic() - started
                    self._answered(server, None)
            except TimeoutError:  # the poll's deadline passed, waiting for a slot or mid-request
                return deferred(self._deadline_reason())
            except StoreError as e:  # a slot file of this host cannot be opened: say which, fetch nothing
                return FetchResult(url=url, final_url=current, status=None, elapsed=spent,
                                   failure=Failure(FailureKind.INTERNAL, f"{current}: {e}"))
            if isinstance(outcome, FetchResult):
                return _with_elapsed(outcome, spent)
            # A redirect: outcome is (status, next URL).
            status, target = outcome
            hops.append(status)
            if len(hops) > s.max_redirects:
                return FetchResult(url=url, final_url=current, status=status, elapsed=spent, failure=Failure(
                    FailureKind.TOO_MANY_REDIRECTS, f"{url} redirected more than {s.max_redirects} times "
                    f"(last to {target}); probably a redirect loop — open it in a browser and fix the url",
                    status=status))
            current = target

    async def _hop(self, url: str, current: str, conditional: dict[str, str], etag: str | None,
                   last_modified: str | None, hops: list[int], content_types: tuple[str, ...] = ()
                   ) -> FetchResult | tuple[int, str]:
        """One request. Returns the final result, or (status, target) for a redirect to follow."""
        assert self._client is not None
        request = self._client.build_request("GET", current, headers=conditional)
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            headers = {k: v for k, v in response.headers.items()}  # httpx lower-cases the names

            def result(**kw: object) -> FetchResult:
                return FetchResult(url=url, final_url=current, status=status, headers=headers, **kw)  # type: ignore[arg-type]

            if status in _REDIRECTS or (300 <= status < 400 and status != 304 and "location" in headers):
                location = response.headers.get("location")
                if not location:
                    return result(failure=Failure(FailureKind.PROTOCOL, f"{current} answered HTTP {status} "
                                                  f"without a Location header; the server is misconfigured",
                                                  status=status))
                try:
                    target = str(response.url.join(location.strip()))
                except Exception:  # a Location httpx cannot even parse; check_url will reject it
                    target = location.strip()
                if check_url(target) is not None:
                    return result(failure=Failure(
                        FailureKind.BAD_URL, f"{current} redirected to {location.strip()!r}, which is not an "
                        f"http(s) address; watcher does not follow it (fix the url or ask the site)",
                        status=status))
                return (status, target)

            # Only a chain made wholly of permanent redirects moves the feed for good.
            permanent = current if hops and all(h in _PERMANENT for h in hops) else None
            if status == 304:
                # A 304 has no body, but the connection goes back to the pool only once the response
                # has been read to its end; closed unread, every unchanged feed cost a new connection
                # (and, over https, a new TLS handshake) to a host already connected to.
                await response.aread()
                if not conditional:
                    return result(failure=Failure(FailureKind.PROTOCOL, f"{current} answered 304 Not Modified "
                                                  f"to a request that asked for no comparison", status=status))
                return result(not_modified=True, permanent_redirect=permanent,
                              etag=headers.get("etag") or etag,
                              last_modified=headers.get("last-modified") or last_modified)
            if 200 <= status < 300:
                media = headers.get("content-type", "").split(";")[0].strip().lower()
                if content_types and media and media not in content_types:
                    return result(failure=Failure(
                        FailureKind.NOT_A_FEED, f"{current} is {media}, not {' or '.join(content_types)}; "
                        f"its body was not read", status=status))
                return await self._body(response, result, current, permanent)
            return result(failure=_status_failure(status, response.reason_phrase, response.headers, current))
        finally:
            await response.aclose()

    async def _body(self, response: httpx.Response, result: Callable[..., FetchResult], current: str,
                    permanent: str | None) -> FetchResult:
        """Read and decode a 2xx body under the size cap."""
        s = self.settings
        status = response.status_code
        encoding = response.headers.get("content-encoding", "identity")
        length = response.headers.get("content-length", "")
        if encoding.strip().lower() in ("", "identity") and length.strip().isdigit() and int(length) > s.max_bytes:
            return result(failure=_too_large(current, status, s.max_bytes, f"it announced {int(length):,} bytes"))
        try:
            chain = make_decoders(encoding)
        except DecodeError as e:
            return result(failure=Failure(FailureKind.PROTOCOL, f"{current} sent {e}", status=status))
        parts: list[bytes] = []
        total = 0
        try:
            async for raw in response.aiter_raw():
                for piece in _run_chain(chain, raw):
                    total += len(piece)
                    if total > s.max_bytes:
                        raise _TooLarge
                    parts.append(piece)
            for piece in _run_chain(chain, b"", final=True):
                total += len(piece)
                if total > s.max_bytes:
                    raise _TooLarge
                parts.append(piece)
        except _TooLarge:
            return result(nbytes=total, failure=_too_large(current, status, s.max_bytes, "its body grew past that"
                                                           + (f" once {encoding}-decoded" if chain and not
                                                              isinstance(chain[0], _Identity) else "")))
        except DecodeError as e:
            return result(nbytes=total, failure=Failure(FailureKind.PROTOCOL, f"{current}: {e}; the server "
                                                        f"sent a broken {encoding} body", status=status))
        content = b"".join(parts)
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if not content.strip():
            return result(nbytes=total, etag=etag, last_modified=last_modified, failure=Failure(
                FailureKind.NOT_A_FEED, f"{current}: the server sent an empty body (HTTP {status}); "
                f"check that the url still points at a feed", status=status))
        return result(content=content, nbytes=total, etag=etag, last_modified=last_modified,
                      permanent_redirect=permanent)


def _with_elapsed(r: FetchResult, elapsed: float) -> FetchResult:
    return dataclasses.replace(r, elapsed=elapsed)


def _too_large(url: str, status: int, cap: int, why: str) -> Failure:
    return Failure(FailureKind.TOO_LARGE, f"{url} is larger than fetch.max_bytes ({cap:,} bytes): {why}; "
                                          f"raise fetch.max_bytes if this feed really is that big", status=status)


def _status_failure(status: int, reason: str, headers: httpx.Headers, url: str) -> Failure:
    """Classify a non-2xx, non-redirect, non-304 status."""
    what = f"{url} answered HTTP {status} {reason}".rstrip()
    if status == 410:
        return Failure(FailureKind.GONE, f"{what}: the feed was removed for good; the source is disabled "
                                         f"(find its new address and update the url)", status=status)
    if status in (429, 503):
        retry = parse_retry_after(headers.get("retry-after"), _server_now(headers))
        if status == 429 or retry is not None:
            wait = f"it asked us to wait {retry:.0f} s" if retry is not None else "it gave no Retry-After"
            return Failure(FailureKind.RATE_LIMITED, f"{what}: rate limited, {wait}; watcher will wait",
                           status=status, retry_after=retry)
    if 400 <= status < 500:
        hint = {401: "it needs a login", 403: "the site refuses us (blocked user agent or region?)",
                404: "the feed is not there; check the url"}.get(status, "check the url")
        return Failure(FailureKind.HTTP_4XX, f"{what}: {hint}", status=status)
    if 500 <= status < 600:
        return Failure(FailureKind.HTTP_5XX, f"{what}: the server failed; it will be retried", status=status)
    return Failure(FailureKind.PROTOCOL, f"{what}: not a status watcher understands here", status=status)
