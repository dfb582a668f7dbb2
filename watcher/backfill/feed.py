"""Method `feed`: follow the feed's own archive.

RFC 5005 archived feeds link the previous archive document (`prev-archive`); paged feeds link the
next (older) page (`next`); JSON Feed has `next_url`. A WordPress feed (its generator says so) has
`?paged=2`, `?paged=3`... Paging stops at a page older than --since, a page seen before (a loop), an
empty page, or a page that links nothing older.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..model import FeedData
from ..parse import parse_feed
from .context import Ctx, PageError
from .plan import Page, in_range, oldest, page_stop
from .polite import Disallowed

_ARCHIVE_RELS = ("prev-archive", "next", "previous-archive")


def is_wordpress(feed: FeedData) -> bool:
    return "wordpress" in (feed.generator or "").lower()


def paged_url(url: str, n: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("paged", str(n))])))


def archive_link(feed: FeedData) -> str | None:
    links = dict((rel, href) for rel, href in reversed(feed.links))  # the first of each rel wins
    return next((links[rel] for rel in _ARCHIVE_RELS if rel in links), None)


class FeedPaging:
    name = "feed"

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.first: FeedData | None = None

    async def _fetch(self, url: str) -> tuple[FeedData | None, str | None, int | None]:
        """(feed, problem, HTTP status)."""
        try:
            result = await self.ctx.polite.get(url, keep=True)
        except Disallowed as e:
            return None, str(e), None
        if not result.ok:
            return None, result.problem, result.status
        feed = parse_feed(result.content, result.headers, result.final_url)
        if feed.failure is not None:
            return None, feed.failure.message, result.status
        return feed, None, result.status

    async def probe(self) -> str | None:
        feed, problem, _ = await self._fetch(self.ctx.source.url)
        if feed is None:
            return f"the feed could not be read: {problem}"
        self.first = feed
        if archive_link(feed) or is_wordpress(feed):
            return None
        first = oldest(feed.entries)
        if first is not None and first < self.ctx.rng.start:
            return None  # the current feed alone reaches back past --since
        reach = f"reaches back only to {first.date().isoformat()}" if first else "has no dated entries"
        return f"the feed links no archive (no prev-archive or next link, not WordPress) and {reach}"

    def first_cursor(self) -> dict[str, Any]:
        return {"next": self.ctx.source.url, "seen": [], "paged": None}

    async def step(self, cursor: dict[str, Any]) -> Page:
        url = cursor["next"]
        feed, problem, status = await self._fetch(url)
        seen = [*cursor["seen"], url]
        if feed is None:
            if cursor.get("paged") and status == 404:
                # WordPress answers 404 past its last page: the archive ends here.
                return Page(url, cursor={**cursor, "seen": seen}, done=True, stop_reason=f"{url} is past the last page")
            raise PageError(f"{url}: {problem}")
        paged = cursor.get("paged")
        nxt = archive_link(feed)
        if nxt is None and (paged or is_wordpress(feed)):
            paged = (paged or 1) + 1
            nxt = paged_url(self.ctx.source.url, paged)
        stop = page_stop(feed.entries, self.ctx.rng, nxt, seen)
        cursor = {"next": nxt, "seen": seen, "paged": paged}
        return Page(url, entries=in_range(feed.entries, self.ctx.rng), cursor=cursor, done=stop is not None,
                    stop_reason=stop, found=len(feed.entries), oldest=oldest(feed.entries), feed=feed)

    def estimate(self) -> str:
        feed = self.first
        how = "its archive links" if feed and archive_link(feed) else "WordPress ?paged=N pages"
        return (f"fetch {self.ctx.source.url}, then follow {how} back to {self.ctx.rng.since}: "
                f"one request per page, as many pages as the archive has in the range")
