"""Method `wayback`: past copies of the feed in the Wayback Machine, for feeds with no archive.

The CDX API lists the snapshots of the feed URL:

    {wayback_url}/cdx/search/cdx?url=FEED&from=YYYYMMDD&to=YYYYMMDD&output=json&filter=statuscode:200
        &collapse=digest&limit=50&showResumeKey=true[&resumeKey=KEY]

(collapse=digest: one snapshot per distinct content). Each snapshot, `{wayback_url}/web/{timestamp}id_/{FEED}`
(id_: the bytes as archived, no toolbar), is parsed as the feed was then, and its entries in the range
are stored like any other. Snapshots up to 7 days after --until are read too: a feed still lists an
item for days after it was published. The Wayback Machine is a shared public service, so its host
has a rate of its own (backfill.wayback_rate, default one request every 5 s).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from ..parse import parse_feed
from .context import Ctx, PageError
from .plan import Page, in_range, oldest
from .polite import Disallowed

CDX_PAGE = 50  # snapshots per CDX request
_AFTER = timedelta(days=7)


def parse_cdx(content: bytes) -> tuple[list[tuple[str, str]], str | None]:
    """([(timestamp, original url)], resume key) from a CDX JSON answer. Raises ValueError."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return [], None
    rows = json.loads(text)
    if not isinstance(rows, list):
        raise ValueError("not a JSON list")
    key = None
    # With showResumeKey the last two rows are [] and [key].
    if len(rows) >= 2 and rows[-2] == [] and isinstance(rows[-1], list) and len(rows[-1]) == 1:
        key = str(rows[-1][0])
        rows = rows[:-2]
    if not rows:
        return [], key
    head, body = rows[0], rows[1:]
    if not (isinstance(head, list) and "timestamp" in head and "original" in head):
        raise ValueError(f"no header row with timestamp and original (got {str(head)[:80]})")
    ts, orig = head.index("timestamp"), head.index("original")
    return [(str(r[ts]), str(r[orig])) for r in body if isinstance(r, list) and len(r) > max(ts, orig)], key


class Wayback:
    name = "wayback"

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.base = ctx.cfg.backfill.wayback_url.rstrip("/")

    def cdx_url(self, resume: str | None) -> str:
        rng = self.ctx.rng
        query = {"url": self.ctx.source.url, "from": rng.since.strftime("%Y%m%d"),
                 "to": (rng.until + _AFTER).strftime("%Y%m%d"), "output": "json", "filter": "statuscode:200",
                 "collapse": "digest", "limit": CDX_PAGE, "showResumeKey": "true"}
        if resume:
            query["resumeKey"] = resume
        return f"{self.base}/cdx/search/cdx?{urlencode(query)}"

    async def _cdx(self, resume: str | None) -> tuple[list[tuple[str, str]], str | None]:
        url = self.cdx_url(resume)
        try:
            result = await self.ctx.polite.get(url, keep=True)
        except Disallowed as e:
            raise PageError(str(e)) from None
        if not result.ok:
            raise PageError(f"the Wayback Machine's CDX API failed: {result.problem}")
        try:
            return parse_cdx(result.content)
        except (ValueError, json.JSONDecodeError) as e:
            raise PageError(f"{url}: not a CDX answer ({e})") from None

    async def probe(self) -> str | None:
        try:
            snapshots, _ = await self._cdx(None)
        except PageError as e:
            return str(e)
        if not snapshots:
            return f"the Wayback Machine has no snapshot of {self.ctx.source.url} in the range"
        return None

    def first_cursor(self) -> dict[str, Any]:
        return {"resume": None, "listed": False, "snapshots": []}

    async def step(self, cursor: dict[str, Any]) -> Page:
        snapshots = list(cursor["snapshots"])
        if snapshots:
            (ts, original), rest = snapshots[0], snapshots[1:]
            url = f"{self.base}/web/{ts}id_/{original}"
            done = not rest and cursor["listed"]
            base = {**cursor, "snapshots": rest}
            try:
                result = await self.ctx.polite.get(url)
            except Disallowed as e:
                return Page(url, cursor=base, done=done, stop_reason="every snapshot read", note=str(e))
            if not result.ok:
                return Page(url, cursor=base, done=done, stop_reason="every snapshot read",
                            note=f"skipped snapshot: {result.problem}")
            feed = parse_feed(result.content, result.headers, original)
            if feed.failure is not None:
                return Page(url, cursor=base, done=done, stop_reason="every snapshot read",
                            note=f"skipped snapshot {ts}: {feed.failure.message}")
            return Page(url, entries=in_range(feed.entries, self.ctx.rng), cursor=base, done=done,
                        stop_reason="every snapshot read", found=len(feed.entries), oldest=oldest(feed.entries),
                        feed=feed)
        if cursor["listed"]:
            return Page("", cursor=cursor, done=True, stop_reason="every snapshot read")
        url = self.cdx_url(cursor["resume"])
        listed, key = await self._cdx(cursor["resume"])
        done_listing = key is None
        nxt = {"resume": key, "listed": done_listing, "snapshots": [list(s) for s in listed]}
        return Page(url, cursor=nxt, done=done_listing and not listed, stop_reason="every snapshot read",
                    note=f"{len(listed)} snapshot(s) listed")

    def estimate(self) -> str:
        return (f"list snapshots of {self.ctx.source.url} with the CDX API ({self.base}), {CDX_PAGE} per request, "
                f"then one request per distinct snapshot")
