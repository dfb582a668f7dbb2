"""Fetch article pages through the feed fetch layer, politely: robots.txt, HTML only, host deferral.

Every page goes through `watcher.fetch.Fetcher`, the one the feeds use, so it has the same size cap,
deadlines, per-host limit and http(s)-only redirects, and shares the per-host slots with the feeds of
that host. On top of that, per poll (one `PageFetcher` lives for one poll or one `watcher fulltext`):
- robots.txt, read once per host (protego), with our user agent. A missing robots.txt (4xx) allows
  everything; one that cannot be read (5xx, timeout) allows nothing on that host this poll, as
  RFC 9309 says for an unreachable file.
- a host that answers 429, or 503 with Retry-After, gets no more page requests this poll: its other
  pages are recorded as deferred, and `watcher fulltext --missing` fetches them later.
- only text/html and application/xhtml+xml bodies are read (a PDF or an image is refused on its
  headers, before its body).
Every outcome is a `Page` value; nothing here raises for a problem with one page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from protego import Protego

from ..fetch import Fetcher
from ..model import FailureKind

HTML_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
ROBOTS_MAX_BYTES = 500_000  # Google reads the first 500 KiB of a robots.txt; so do we


@dataclass(frozen=True)
class Page:
    """One page fetch: the body, or why there is none. `status` is a short code stored on the item:
    ok | robots | not_html | deferred | a watcher.model.FailureKind value."""

    url: str  # the link asked for
    status: str
    note: str = ""  # what happened, in words, for `watcher show`
    final_url: str = ""
    content: bytes = b""
    content_type: str = ""  # the Content-Type header as sent (its charset is a hint to the decoder)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _origin(url: str) -> str:
    u = httpx.URL(url)
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}"


class PageFetcher:
    def __init__(self, fetcher: Fetcher, user_agent: str):
        self.fetcher = fetcher
        self.user_agent = user_agent
        self._robots: dict[str, asyncio.Task] = {}  # origin -> task giving (Protego | None, why-not)
        self._deferred: dict[str, str] = {}  # host -> why no more requests go to it this poll

    async def _read_robots(self, origin: str) -> tuple[Protego | None, str]:
        r = await self.fetcher.fetch(f"{origin}/robots.txt", accept="text/plain, */*;q=0.1")
        if r.deferred:  # the host stopped answering this poll, or the poll's deadline passed
            return None, f"{origin}/robots.txt was not fetched ({r.deferred}); the page is fetched later"
        if r.failure is not None:
            if r.failure.kind in (FailureKind.HTTP_4XX, FailureKind.GONE):
                return None, ""  # no robots.txt: everything is allowed
            return None, f"{origin}/robots.txt could not be read ({r.failure.message}); no page of that host " \
                         f"is fetched until it can"
        text = r.content[:ROBOTS_MAX_BYTES].decode("utf-8", "replace")
        try:
            return Protego.parse(text), ""
        except Exception:  # protego on junk bytes: treat as no rules, as crawlers do
            return None, ""

    async def robots(self, url: str) -> tuple[Protego | None, str]:
        origin = _origin(url)
        task = self._robots.get(origin)
        if task is None:  # one request per host, however many pages of it wait at once
            task = self._robots[origin] = asyncio.ensure_future(self._read_robots(origin))
        return await task

    async def fetch(self, url: str) -> Page:
        problem = None
        try:
            host = httpx.URL(url).host
        except Exception:
            problem = f"{url!r} is not a usable address"
        if problem or not url.lower().startswith(("http://", "https://")):
            return Page(url, FailureKind.BAD_URL.value, problem or f"{url!r} is not http(s)")
        if host in self._deferred:
            return Page(url, "deferred", self._deferred[host])
        rules, why_not = await self.robots(url)
        if why_not:
            return Page(url, "robots", why_not)
        if rules is not None and not rules.can_fetch(url, self.user_agent):
            return Page(url, "robots", f"robots.txt of {host} disallows {httpx.URL(url).path} for watcher; "
                                       f"the page is not fetched")
        if host in self._deferred:  # deferred while we waited for robots.txt
            return Page(url, "deferred", self._deferred[host])
        r = await self.fetcher.fetch(url, accept=ACCEPT_HTML, content_types=HTML_TYPES)
        if r.deferred:
            return Page(url, "deferred", f"{r.deferred}; fetched later by `watcher fulltext --missing`",
                        final_url=r.final_url)
        if r.failure is not None:
            f = r.failure
            if f.kind is FailureKind.RATE_LIMITED:
                self._deferred[host] = f"{host} asked us to wait (HTTP {f.status}); its pages are fetched " \
                                       f"later by `watcher fulltext --missing`"
            status = "not_html" if f.kind is FailureKind.NOT_A_FEED and f.status and 200 <= f.status < 300 \
                else f.kind.value
            return Page(url, status, f.message, final_url=r.final_url)
        return Page(url, "ok", "", final_url=r.final_url, content=r.content,
                    content_type=r.headers.get("content-type", ""))
