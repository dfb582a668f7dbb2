"""A polite fetcher for backfills, over the poll's own fetch layer (watcher/fetch.py).

Every request of a backfill goes through `Polite.get`, which adds, per host:
- robots.txt, read once with protego (the stdlib's robotparser gets wildcards wrong: it allows
  /x.php under `Disallow: /*php$`). A disallowed URL raises `Disallowed` and is never requested.
  robots.txt answering 4xx means no rules; 5xx or no answer means "disallow all" (RFC 9309 2.3.1.4),
  so a backfill stops politely and can be run again later.
- pacing: at most `rate` requests per second (backfill.rate, a source's backfill_rate, or
  backfill.wayback_rate for the Wayback Machine), slower when robots.txt asks a Crawl-delay.
- Retry-After (429, 503) honoured by sleeping, up to backfill.max_retry_wait; a longer wait raises
  `Stop`, and the run stops partway, resumable. Timeouts, 5xx and broken connections are retried
  with doubling delays, three times.
- --max-requests: the request that would exceed it raises `Stop` instead.
The fetch layer itself still applies the size cap, the deadlines and the redirect checks.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import httpx
from protego import Protego

from ..fetch import Fetcher
from ..model import FailureKind, FetchResult

ROBOTS_AGENT = "watcher"  # the product token robots.txt rules name
_RETRIED = (FailureKind.TIMEOUT, FailureKind.HTTP_5XX, FailureKind.CONNECT, FailureKind.PROTOCOL)
_TRIES = 4  # one request and three retries
_MEMO = 4  # recent bodies kept, so a probe's page is not fetched twice


class Stop(Exception):
    """The backfill must stop now (budget spent, a wait too long); what was stored stays, resumable."""


class Disallowed(Exception):
    """robots.txt forbids this URL."""


def host_of(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.scheme}://{u.netloc.decode('ascii')}"


class Polite:
    def __init__(self, fetcher: Fetcher, *, rate_for: Callable[[str], float], max_requests: int | None,
                 max_retry_wait: float, say: Callable[[str], None],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.fetcher = fetcher
        self.rate_for = rate_for  # host ("http://a:8080") -> requests per second
        self.max_requests = max_requests
        self.max_retry_wait = max_retry_wait
        self.say = say
        self.sleep = sleep
        self.requests = 0
        self._robots: dict[str, Protego] = {}
        self._next_at: dict[str, float] = {}
        self._memo: OrderedDict[str, FetchResult] = OrderedDict()

    def interval(self, host: str) -> float:
        delay = 0.0
        rules = self._robots.get(host)
        if rules is not None:
            delay = float(rules.crawl_delay(ROBOTS_AGENT) or 0.0)
            rate = rules.request_rate(ROBOTS_AGENT)
            if rate is not None and rate.requests:
                delay = max(delay, rate.seconds / rate.requests)
        return max(1.0 / self.rate_for(host), delay)

    async def robots(self, url: str) -> Protego:
        host = host_of(url)
        rules = self._robots.get(host)
        if rules is None:
            result = await self._request(f"{host}/robots.txt")
            if result.ok:
                text = result.content.decode("utf-8", errors="replace")
            elif result.status is not None and 400 <= result.status < 500:
                text = ""  # no robots.txt: no rules
            else:
                self.say(f"  {host}/robots.txt could not be read ({result.problem}); "
                         f"taking it as `Disallow: /` until it can (RFC 9309)")
                text = "User-agent: *\nDisallow: /\n"
            rules = self._robots[host] = Protego.parse(text)
            # The pause after robots.txt itself was set before its Crawl-delay was known.
            self._next_at[host] = max(self._next_at.get(host, 0.0), time.monotonic() + self.interval(host))
        return rules

    async def sitemaps(self, url: str) -> list[str]:
        """The `Sitemap:` lines of the host's robots.txt."""
        return list((await self.robots(url)).sitemaps)

    async def get(self, url: str, *, keep: bool = False) -> FetchResult:
        """GET url politely. `keep`: remember the body for the next get of the same URL (a probe)."""
        if url in self._memo:
            return self._memo.pop(url)
        rules = await self.robots(url)
        if not rules.can_fetch(url, ROBOTS_AGENT):
            raise Disallowed(f"robots.txt of {host_of(url)} disallows {url}")
        result = await self._request(url)
        if keep and result.ok:
            self._memo[url] = result
            while len(self._memo) > _MEMO:
                self._memo.popitem(last=False)
        return result

    async def _request(self, url: str) -> FetchResult:
        host = host_of(url)
        for attempt in range(_TRIES):
            if self.max_requests is not None and self.requests >= self.max_requests:
                raise Stop(f"reached --max-requests {self.max_requests}")
            wait = self._next_at.get(host, 0.0) - time.monotonic()
            if wait > 0:
                await self.sleep(wait)
            self.requests += 1
            try:
                result = await self.fetcher.fetch(url)
            finally:
                self._next_at[host] = time.monotonic() + self.interval(host)
            failure = result.failure
            if failure is None or attempt == _TRIES - 1:
                return result
            if failure.kind is FailureKind.RATE_LIMITED or (failure.retry_after is not None):
                delay = failure.retry_after if failure.retry_after is not None else self.interval(host) * 2 ** (attempt + 2)
                if delay > self.max_retry_wait:
                    raise Stop(f"{url} asked us to wait {delay:.0f} s (Retry-After), longer than "
                               f"backfill.max_retry_wait ({self.max_retry_wait:.0f} s); run the same command later")
                self.say(f"  {host}: {failure.message}; waiting {delay:g} s")
                await self.sleep(delay)
            elif failure.kind in _RETRIED:
                delay = self.interval(host) * 2 ** (attempt + 1)
                self.say(f"  {host}: {failure.message}; retrying in {delay:g} s")
                await self.sleep(delay)
            else:
                return result
        raise AssertionError("unreachable")  # the loop returns on its last attempt
