"""Method `wordpress`: the WordPress REST API, 100 posts (titles, dates, full text) per request.

    /wp-json/wp/v2/posts?after=SINCE&before=UNTIL+1&per_page=100&page=N&orderby=date&order=desc

paged until `X-WP-TotalPages`. A post becomes an entry with the same identity the site's feed gives
it (guid.rendered, `https://site/?p=123`), so a post already polled from the feed is recognised.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from ..model import EntryData
from ..parse import build_entry, iso_utc
from .context import Ctx, PageError
from .plan import Page, in_range, oldest
from .polite import Disallowed, host_of


def _text(value: Any) -> str:
    """A REST field: {"rendered": "..."} or a plain string."""
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def post_entry(post: dict, base: str) -> EntryData | None:
    if not isinstance(post, dict):
        return None
    gmt = post.get("date_gmt") if isinstance(post.get("date_gmt"), str) else None
    published = iso_utc(gmt + "Z" if gmt and not gmt.endswith("Z") else gmt) if gmt else iso_utc(_text(post.get("date")))
    modified = post.get("modified_gmt") if isinstance(post.get("modified_gmt"), str) else None
    return build_entry(id=_text(post.get("guid")) or None, link=_text(post.get("link")) or None,
                       title_html=_text(post.get("title")), summary_html=_text(post.get("excerpt")),
                       content_html=_text(post.get("content")), published=published,
                       updated=iso_utc(modified + "Z") if modified else None, base=base)


class WordPressApi:
    name = "wordpress"

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.root = host_of(ctx.source.url)
        self.total_pages: int | None = None
        self.total: int | None = None

    def url(self, page: int) -> str:
        rng = self.ctx.rng
        query = {"after": rng.start.strftime("%Y-%m-%dT%H:%M:%S"), "before": rng.end.strftime("%Y-%m-%dT%H:%M:%S"),
                 "per_page": 100, "page": page, "orderby": "date", "order": "desc"}
        return f"{self.root}/wp-json/wp/v2/posts?{urlencode(query)}"

    async def _get(self, page: int) -> tuple[list | None, str | None, Any]:
        try:
            result = await self.ctx.polite.get(self.url(page), keep=True)
        except Disallowed as e:
            return None, str(e), None
        if not result.ok:
            return None, result.problem, result
        try:
            posts = json.loads(result.content.decode("utf-8-sig", errors="replace"))
        except json.JSONDecodeError as e:
            return None, f"{self.url(page)} is not JSON (line {e.lineno}: {e.msg})", result
        if not isinstance(posts, list):
            return None, f"{self.url(page)} is JSON but not a list of posts", result
        return posts, None, result

    async def probe(self) -> str | None:
        posts, problem, result = await self._get(1)
        if posts is None:
            return f"no WordPress REST API: {problem}"
        self.total_pages = _int(result.headers.get("x-wp-totalpages"))
        self.total = _int(result.headers.get("x-wp-total"))
        if not posts:
            return f"the WordPress REST API lists no posts in {self.ctx.rng}"
        return None

    def first_cursor(self) -> dict[str, Any]:
        return {"page": 1}

    async def step(self, cursor: dict[str, Any]) -> Page:
        page = cursor["page"]
        url = self.url(page)
        posts, problem, result = await self._get(page)
        if posts is None:
            if result is not None and result.status == 400 and page > 1:
                # rest_post_invalid_page_number: past the last page (the total shrank meanwhile).
                return Page(url, cursor=cursor, done=True, stop_reason="past the last page")
            raise PageError(f"{url}: {problem}")
        total = _int(result.headers.get("x-wp-totalpages"))
        entries = [e for e in (post_entry(p, self.root) for p in posts) if e is not None]
        done = not posts or (total is not None and page >= total) or (total is None and len(posts) < 100)
        reason = f"page {page} of {total}" if total is not None else "the last page"
        return Page(url, entries=in_range(entries, self.ctx.rng), cursor={"page": page + 1}, done=done,
                    stop_reason=reason if done else None, found=len(entries), oldest=oldest(entries))

    def estimate(self) -> str:
        pages = self.total_pages or 1
        return (f"{self.total if self.total is not None else '?'} posts in the range: {pages} request"
                f"{'s' if pages != 1 else ''} to {self.root}/wp-json/wp/v2/posts")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
