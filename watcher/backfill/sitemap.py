"""Method `sitemap`: the site's sitemaps, then the article pages they list in the range.

Where: the `Sitemap:` lines of robots.txt, else /sitemap.xml. A sitemap index lists child sitemaps,
skipped when their lastmod is before --since or their dated name (sitemap-2026-10.xml) is outside
the range; a url set lists pages, with lastmod, and in a Google News sitemap news:publication_date,
news:title and news:language. Gzipped sitemaps are read too. Each page dated in the range is fetched
and its title, date and main text extracted (extract.py). Pages with no date in the sitemap are not
fetched (there could be millions): the progress line counts them.

Sitemaps are parsed with lxml after watcher/xmlsafe.py took every DOCTYPE and entity away, and with
no network; a malformed sitemap, a 404 or a sitemap listing itself is noted and skipped.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from lxml import etree

from .. import xmlsafe
from ..parse import build_entry, iso_utc
from .context import Ctx, PageError
from .extract import extract
from .plan import Page, child_sitemap_skip, in_range
from .polite import Disallowed, host_of

_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"


def gunzip(data: bytes, cap: int) -> bytes:
    """A .xml.gz sent as a file (no Content-Encoding), inflated up to `cap` bytes."""
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    out = d.decompress(data, cap + 1)
    if len(out) > cap:
        raise ValueError(f"inflates past fetch.max_bytes ({cap:,} bytes)")
    return out


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(el: Any, name: str, ns: str | None = None) -> str | None:
    for c in el:
        if _local(c.tag) == name and (ns is None or etree.QName(c.tag).namespace == ns):
            return (c.text or "").strip() or None
    return None


def parse_sitemap(content: bytes, headers: dict[str, str]) -> tuple[str, list[dict]]:
    """("index", [{loc, lastmod}]) or ("urlset", [{loc, lastmod, date, title, language}]).
    Raises ValueError for what is not a sitemap."""
    text = xmlsafe.prepare(content, headers).text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             recover=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"malformed XML ({e})") from None
    kind = _local(root.tag)
    out = []
    if kind == "sitemapindex":
        for el in root:
            if _local(el.tag) == "sitemap" and _child_text(el, "loc"):
                out.append({"loc": _child_text(el, "loc"), "lastmod": _child_text(el, "lastmod")})
        return "index", out
    if kind == "urlset":
        for el in root:
            if _local(el.tag) != "url" or not _child_text(el, "loc"):
                continue
            news = next((c for c in el if _local(c.tag) == "news"), None)
            pub = next((c for c in news if _local(c.tag) == "publication"), None) if news is not None else None
            out.append({"loc": _child_text(el, "loc"), "lastmod": _child_text(el, "lastmod"),
                        "date": _child_text(news, "publication_date") if news is not None else None,
                        "title": _child_text(news, "title") if news is not None else None,
                        "language": _child_text(pub, "language") if pub is not None else None})
        return "urlset", out
    raise ValueError(f"an XML document with root <{kind}>, not a sitemap")


def _date(text: str | None) -> datetime | None:
    return iso_utc(text) if text else None


class Sitemaps:
    name = "sitemap"

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.found: list[str] = []

    async def probe(self) -> str | None:
        root = host_of(self.ctx.source.url)
        try:
            listed = await self.ctx.polite.sitemaps(self.ctx.source.url)
        except Disallowed as e:
            return str(e)
        if listed:
            self.found = listed
            return None
        try:
            result = await self.ctx.polite.get(f"{root}/sitemap.xml", keep=True)
        except Disallowed as e:
            return f"robots.txt lists no Sitemap: and {e}"
        if not result.ok:
            return f"robots.txt lists no Sitemap: and {root}/sitemap.xml is not there ({result.problem})"
        self.found = [f"{root}/sitemap.xml"]
        return None

    def first_cursor(self) -> dict[str, Any]:
        return {"queue": [{"sitemap": u} for u in self.found], "seen": [], "undated": 0}

    async def step(self, cursor: dict[str, Any]) -> Page:
        queue = list(cursor["queue"])
        if not queue:
            return Page("", cursor=cursor, done=True, stop_reason="every sitemap read")
        job, rest = queue[0], queue[1:]
        if "sitemap" in job:
            return await self._sitemap(job["sitemap"], rest, cursor)
        return await self._article(job, rest, cursor)

    async def _sitemap(self, url: str, rest: list, cursor: dict[str, Any]) -> Page:
        seen = [*cursor["seen"], url]
        base = {**cursor, "queue": rest, "seen": seen}
        try:
            result = await self.ctx.polite.get(url)
        except Disallowed as e:
            return Page(url, cursor=base, done=not rest, stop_reason="every sitemap read", note=str(e))
        if not result.ok:
            return Page(url, cursor=base, done=not rest, stop_reason="every sitemap read",
                        note=f"skipped sitemap: {result.problem}")
        body = result.content
        try:
            if body[:2] == b"\x1f\x8b":
                body = gunzip(body, self.ctx.cfg.fetch.max_bytes)
            kind, rows = parse_sitemap(body, result.headers)
        except (ValueError, zlib.error) as e:
            return Page(url, cursor=base, done=not rest, stop_reason="every sitemap read",
                        note=f"skipped sitemap {url}: {e}")
        rng = self.ctx.rng
        added, notes = [], []
        if kind == "index":
            for r in rows:
                if r["loc"] in seen or any(j.get("sitemap") == r["loc"] for j in rest):
                    notes.append(f"{r['loc']} listed again (a loop), skipped")
                    continue
                why = child_sitemap_skip(r["loc"], _date(r["lastmod"]), rng)
                if why is None:
                    added.append({"sitemap": r["loc"]})
            note = "; ".join(notes) or None
        else:
            undated = 0
            for r in rows:
                when = _date(r["date"]) or _date(r["lastmod"])
                if when is None:
                    undated += 1
                elif rng.holds(when):
                    added.append({"page": r["loc"], "date": r["date"] or r["lastmod"], "title": r["title"],
                                  "language": r["language"]})
            base["undated"] = cursor.get("undated", 0) + undated
            note = f"{undated} page(s) without a date not fetched" if undated else None
        queue = [*rest, *added]
        return Page(url, cursor={**base, "queue": queue}, done=not queue, stop_reason="every sitemap read",
                    note=note)

    async def _article(self, job: dict, rest: list, cursor: dict[str, Any]) -> Page:
        url = job["page"]
        base = {**cursor, "queue": rest}
        try:
            result = await self.ctx.polite.get(url)
        except Disallowed as e:
            return Page(url, cursor=base, done=not rest, stop_reason="every sitemap read", note=str(e))
        if not result.ok:
            if result.status is not None and 400 <= result.status < 500:
                return Page(url, cursor=base, done=not rest, stop_reason="every sitemap read",
                            note=f"skipped page: {result.problem}")
            raise PageError(f"{url}: {result.problem}")
        article = extract(result.content, result.final_url)
        if article is None:
            return Page(url, cursor=base, done=not rest, stop_reason="every sitemap read",
                        note=f"{url}: no article text found")
        published = _date(job.get("date")) or article.published
        entry = build_entry(id=None, link=url, title_html=job.get("title") or article.title, summary_html="",
                            content_html=_as_html(article.text), published=published,
                            language=job.get("language") or article.language, base=url)
        return Page(url, entries=in_range([entry], self.ctx.rng), cursor=base, done=not rest,
                    stop_reason="every sitemap read", found=1, oldest=published)

    def estimate(self) -> str:
        return (f"read {len(self.found)} sitemap(s) ({', '.join(self.found[:3])}{'...' if len(self.found) > 3 else ''}) "
                f"and their children in the range, then one request per article page dated in the range")


def _as_html(text: str) -> str:
    from html import escape

    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())
