"""The four kinds of site a backfill reaches, served by tests/sitesrv.py on 127.0.0.1.

    wordpress_site(site)   paged feed (?paged=N, 10 a page) + REST API (10 a page, X-WP-Total(Pages)),
                           REST page 2 answers 429 Retry-After: 1 (retry_after) the first time
    archive_site(site, n)  an RFC 5005 chain of n archive documents whose oldest links back into the chain
    sitemap_site(site)     robots.txt -> a sitemap index built from ../shared/realdata/sitemaps/ (the real
                           index's children rewritten to local files: the real NYT news sitemap, a plain
                           one, itself (a loop), a 404), plus the real gzipped and malformed ones
    wayback_site(site)     a CDX endpoint paging with a resume key, and the snapshots behind it
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from sitesrv import Site

SITEMAPS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "sitemaps"
ATOM = "application/atom+xml"
RSS = "application/rss+xml"


def _title(i: int) -> str:
    # Every fifth is on the story the shipped keyword list watches.
    return f"Nvidia H20 chips face new US export controls, part {i}" if i % 5 == 0 else f"Harbour festival notes {i}"


def _body(i: int) -> str:
    return (f"Report number {i}. " + ("The Commerce Department added firms to the Entity List over AI chip "
            "smuggling. " if i % 5 == 0 else "The town council met to discuss the harbour. ")) * 3


# --- WordPress -----------------------------------------------------------------------------------

def wordpress_site(site: Site, n: int = 25, start: datetime = datetime(2026, 10, 1, 8, tzinfo=timezone.utc),
                   throttle_page: int | None = 2, retry_after: str = "1") -> list[dict]:
    base = site.url("")
    posts = [{"id": 100 + i, "guid": {"rendered": f"{base}/?p={100 + i}"}, "link": f"{base}/2026/post-{i}/",
              "date_gmt": (start + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%S"),
              "title": {"rendered": _title(i)}, "excerpt": {"rendered": f"<p>Excerpt {i}</p>"},
              "content": {"rendered": f"<p>{_body(i)}</p>"}} for i in range(n)]
    newest_first = sorted(posts, key=lambda p: p["date_gmt"], reverse=True)
    throttled = {"done": False}

    def feed(q: dict) -> tuple:
        page = int(q.get("paged", "1"))
        chunk = newest_first[(page - 1) * 10: page * 10]
        if not chunk:
            return 404, {"Content-Type": "text/html"}, "<html><body>Page not found</body></html>"
        items = "".join(
            f"<item><title>{escape(p['title']['rendered'])}</title><link>{p['link']}</link>"
            f'<guid isPermaLink="false">{p["guid"]["rendered"]}</guid>'
            f"<pubDate>{format_datetime(datetime.fromisoformat(p['date_gmt']).replace(tzinfo=timezone.utc), usegmt=True)}</pubDate>"
            f"<description>{escape(p['excerpt']['rendered'])}</description>"
            f"<content:encoded><![CDATA[{p['content']['rendered']}]]></content:encoded></item>" for p in chunk)
        return 200, {"Content-Type": RSS}, (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>WP site</title>'
            f"<link>{base}/</link><generator>https://wordpress.org/?v=6.4.2</generator>{items}</channel></rss>")

    def api(q: dict) -> tuple:
        page = int(q.get("page", "1"))
        if page == throttle_page and not throttled["done"]:
            throttled["done"] = True
            return 429, {"Retry-After": retry_after, "Content-Type": "application/json"}, '{"code":"too_many_requests"}'
        chosen = [p for p in newest_first if q.get("after", "") <= p["date_gmt"] < q.get("before", "9999")]
        pages = max(1, -(-len(chosen) // 10))
        if page > pages:
            return 400, {"Content-Type": "application/json"}, '{"code":"rest_post_invalid_page_number"}'
        return 200, {"Content-Type": "application/json", "X-WP-Total": str(len(chosen)),
                     "X-WP-TotalPages": str(pages)}, json.dumps(chosen[(page - 1) * 10: page * 10])

    site.route("/feed/", feed)
    site.route("/wp-json/wp/v2/posts", api)
    site.static("/robots.txt", "User-agent: *\nDisallow: /wp-admin/\n", "text/plain")
    return posts


# --- RFC 5005 archive chain ----------------------------------------------------------------------

def archive_site(site: Site, n: int = 3, per: int = 4, loop: bool = True) -> list[str]:
    """Document 0 is the subscription feed; k links prev-archive k+1; the last links back to 1 (a loop).
    Returns every entry id. Entries are a day apart, newest in document 0, from 2026-09-30 back."""
    ids = []
    top = datetime(2026, 9, 30, 12, tzinfo=timezone.utc)
    for k in range(n):
        path = "/archive/feed.xml" if k == 0 else f"/archive/{k}.xml"
        prev = f"/archive/{k + 1}.xml" if k + 1 < n else ("/archive/1.xml" if loop and n > 1 else None)
        entries = []
        for j in range(per):
            i = k * per + j
            when = (top - timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            ids.append(f"urn:archive:{i}")
            entries.append(f"<entry><id>urn:archive:{i}</id><title>{escape(_title(i))}</title>"
                           f'<link href="{site.url(f"/a/{i}")}"/><updated>{when}</updated>'
                           f"<summary>{escape(_body(i))}</summary></entry>")
        link = f'<link rel="prev-archive" href="{site.url(prev)}"/>' if prev else ""
        site.static(path, f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                          f"<title>Archive</title><id>urn:archive</id><updated>2026-09-30T12:00:00Z</updated>"
                          f"{link}{''.join(entries)}</feed>", ATOM)
    return ids


# --- sitemaps ------------------------------------------------------------------------------------

def _article(title: str, text: str, when: str) -> str:
    paras = "".join(f"<p>{escape(text)} Paragraph {k} goes on with more words about it.</p>" for k in range(6))
    return (f"<!DOCTYPE html><html><head><title>{escape(title)}</title>"
            f'<meta property="article:published_time" content="{when}"></head><body>'
            f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{paras}</article>"
            f"<footer>Copyright</footer></body></html>")


def sitemap_site(site: Site) -> list[str]:
    """Returns the local article URLs the news sitemap dates in May 2020 (what a backfill of May 2020
    should store). Skip the test when ../shared is absent (caller checks SITEMAPS.exists())."""
    local = site.url("")
    news = (SITEMAPS / "advertools__news_sitemap.xml").read_text(encoding="utf-8")
    news = news.replace("https://www.nytimes.com", local)
    site.static("/news_sitemap.xml", news)
    articles = []
    for m in re.finditer(r"<loc>\s*([^<\s]+)\s*</loc>.*?<news:publication_date>([^<]+)<.*?<news:title>([^<]+)<",
                         news, flags=re.S):
        url, when, title = m.group(1), m.group(2), m.group(3).strip()
        articles.append(url)
        site.static(url[len(local):], _article(title, f"Story text of {title}.", when), "text/html; charset=utf-8")
    site.static("/regular_sitemap.xml", (SITEMAPS / "advertools__regular_sitemap.xml").read_text(encoding="utf-8"))
    site.route("/zipped.xml.gz", lambda q: (200, {"Content-Type": "application/gzip"},
                                             (SITEMAPS / "advertools__zipped_sitemap.xml.gz").read_bytes()))
    site.static("/error_sitemap.xml", (SITEMAPS / "advertools__error_sitemap.xml").read_text(encoding="utf-8"))
    index = (SITEMAPS / "advertools__sitemap_index.xml").read_text(encoding="utf-8")
    for real, mine in (("https://advertools.readthedocs.io/sitemap.xml", "/news_sitemap.xml"),
                       ("http://www.example.com/sitemap.xml", "/regular_sitemap.xml"),
                       ("https://raw.githubusercontent.com/eliasdabbas/advertools/master/tests/data/sitemap_testing/"
                        "sitemap_index.xml", "/sitemap_index.xml"),
                       ("https://www.google.com/adwords/sitemap_us.xml", "/missing.xml")):
        index = index.replace(real, local + mine)
    extra = "".join(f"<sitemap><loc>{local}{p}</loc></sitemap>" for p in ("/zipped.xml.gz", "/error_sitemap.xml"))
    site.static("/sitemap_index.xml", index.replace("</sitemapindex>", extra + "</sitemapindex>"))
    site.static("/robots.txt", f"User-agent: *\nDisallow: /wp-admin/\nSitemap: {local}/sitemap_index.xml\n", "text/plain")
    return articles


def robots_site(site: Site, crawl_delay: float) -> tuple[list[str], list[str]]:
    """A sitemap of five pages, two of them disallowed by wildcard rules. Returns (allowed, disallowed)."""
    local = site.url("")
    when = "2026-10-05T10:00:00Z"
    allowed = ["/news/a.html", "/news/b.html", "/news/c.html?x=php"]
    disallowed = ["/news/print.php", "/private/d.html"]
    urls = "".join(f"<url><loc>{local}{p}</loc><lastmod>{when}</lastmod></url>" for p in allowed + disallowed)
    site.static("/sitemap.xml", f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')
    for p in allowed + disallowed:
        site.static(p.split("?")[0], _article(f"Article {p}", f"Text of {p}.", when), "text/html")
    site.static("/robots.txt", f"User-agent: *\nDisallow: /*.php$\nDisallow: /priv*/\nCrawl-delay: {crawl_delay}\n"
                               f"Sitemap: {local}/sitemap.xml\n", "text/plain")
    return allowed, disallowed


# --- Wayback Machine -----------------------------------------------------------------------------

def wayback_site(site: Site, feed_url: str) -> list[str]:
    """CDX lists 4 snapshots of feed_url over two pages (a resume key between them); each snapshot is
    the feed as it was, three items, overlapping the next. Returns every guid the snapshots hold."""
    stamps = ["20260901000000", "20260905000000", "20260910000000", "20260915000000"]
    head = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]

    def row(ts: str) -> list[str]:
        return ["x", ts, feed_url, "application/rss+xml", "200", f"D{ts}", "100"]

    def cdx(q: dict) -> tuple:
        assert q.get("filter") == "statuscode:200" and q.get("collapse") == "digest" and q.get("url") == feed_url
        if q.get("resumeKey") == "key-2":
            body = [head, *map(row, stamps[2:])]
        else:
            body = [head, *map(row, stamps[:2]), [], ["key-2"]]
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    site.route("/cdx/search/cdx", cdx)
    guids = set()
    for n, ts in enumerate(stamps):
        day = datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        items = []
        for back in range(3):
            i = n * 2 + back  # snapshot n holds items n*2 .. n*2+2: each overlaps the next by one
            guids.add(f"wb-{i}")
            items.append(f"<item><title>{escape(_title(i))}</title><guid isPermaLink=\"false\">wb-{i}</guid>"
                         f"<link>{feed_url}#{i}</link><pubDate>"
                         f"{format_datetime(day - timedelta(days=back, hours=i), usegmt=True)}</pubDate>"
                         f"<description>{escape(_body(i))}</description></item>")
        site.static(f"/web/{ts}id_/{feed_url}", '<?xml version="1.0"?><rss version="2.0"><channel><title>Old</title>'
                    f"<link>{feed_url}</link>{''.join(items)}</channel></rss>", RSS)
    return sorted(guids)
