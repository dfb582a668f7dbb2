"""Fetched bytes -> FeedData: entries with identity, UTC dates and clean text, or a parse failure.

    parse_feed(content, headers, url)
      ├─ JSON body (application/feed+json, or a body starting with "{")  -> _parse_json_feed
      ├─ xmlsafe.prepare: pick the encoding, drop DOCTYPE/ENTITY, defuse entity references
      ├─ an HTML page at the root                                         -> NOT_A_FEED
      ├─ fastfeedparser (fast path), accepted only if it passes cheap checks (see _fast_rejects)
      └─ feedparser (fallback): lenient, handles bozo feeds, RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF

Both parsers go through one adapter each into _Raw entries, and one function (_build_entry) turns a
_Raw into an EntryData, so identity, dates and text rules are the same whichever parser ran. The
function runs in a worker process: arguments and the result are plain picklable values.

Identity: the entry's guid/id, unless it is just its link (fastfeedparser fills id from link, and a
permalink guid says nothing a link does not) -> "link"; no guid and no link -> "hash" of title and
body. An entry without a published date but with an updated one is dated by the updated one.

Dates: RFC 822 and ISO 8601 text is read strictly by watcher.dates (an impossible date is refused,
not adjusted, and the entry's date_problem says why); only other shapes use the parser's reading.
Whether a readable date is plausible (not 9999, not 1970) needs the fetch time: ingest decides that.
"""

from __future__ import annotations

import hashlib
from html import unescape
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import fastfeedparser
import feedparser

from watcher import xmlsafe
from watcher.dates import read_date
from watcher.model import EntryData, Failure, FailureKind, FeedData
from watcher.text import collapse, html_to_text

__all__ = ["parse_feed", "parse_with", "build_entry", "iso_utc", "SUMMARY_CHARS"]

SUMMARY_CHARS = 500  # a summary derived from content is cut near here, at a word boundary

try:  # fastfeedparser writes a description of its own when a feed has none; we need to tell.
    from fastfeedparser.main import _synthesize_entry_description as _ffp_synthesize
except ImportError:  # pragma: no cover - a future fastfeedparser; then we trust every description
    _ffp_synthesize = None

# Any element an entry's date can come from, in RSS, RSS 1.0 (dc:), Atom 0.3 and 1.0.
_DATE_TAG = re.compile(r"<(?:[\w-]+:)?(?:pubDate|date|published|updated|issued|modified|created)[\s>]")
_ITEM_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_FIRST_ELEMENT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_HTML_TITLE = re.compile(r"<title[^>]*>(.{0,300}?)</title", re.IGNORECASE | re.DOTALL)
_ALTERNATE = re.compile(
    r"""<link\b[^>]*type\s*=\s*["']application/(?:rss|atom)\+xml["'][^>]*>""", re.IGNORECASE
)
_HREF = re.compile(r"""href\s*=\s*["']([^"']{1,500})["']""", re.IGNORECASE)
_BODY_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:description|summary|content|encoded)[\s>]")
_BASE64_MODE = re.compile(r"""mode\s*=\s*["']base64""")
_NOT_PERMALINK = re.compile(r"""isPermaLink\s*=\s*["']false""")
_LINK_TEXT = re.compile(r"<link>([^<]*)</link>")
_LANGUAGE = re.compile(r"<(?:dc:)?language>\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)\s*</")
# A date element's text, and an offset no place has (beyond +/-14:00, or 60+ minutes): fastfeedparser
# applies "+0099" as 99 minutes and "+1500" as 15 hours without a word.
_DATE_TEXT = re.compile(
    r"<(?:[\w-]+:)?(?:pubDate|date|published|updated|issued|modified|created)(?:\s[^>]*)?>"
    r"(?:<!\[CDATA\[)?\s*([^\s<\]][^<\]]{0,99})"
)
_BAD_OFFSET = re.compile(
    r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:[A-Za-z]{1,5})?\s*[+-](?:1[5-9]|[2-9]\d|\d\d:?[6-9]\d)(?::?\d\d)?\s*(?:\(.*)?$"
)
_MEDIA_DESCRIPTION = re.compile(rb"<(/?)media:description\b")
_SURROGATE = re.compile("[\ud800-\udfff]")
# An absolute http(s) link that urljoin returns unchanged (it splits and rejoins it): a plain host,
# and no character its split would drop or move (white space, ";" parameters, an empty query or
# fragment, an upper-case scheme).
_URL_CHARS = r"A-Za-z0-9._~%!$&'()*+,=:@/-"
_PLAIN_ABSOLUTE = re.compile(
    rf"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[{_URL_CHARS}]*)?(?:\?[{_URL_CHARS}?]+)?(?:#[{_URL_CHARS}?#]+)?"
)
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "rdf:rdf", "channel", "scriptingnews"})


@dataclass
class _Raw:
    """One entry as a parser handed it over, before our rules apply."""

    id: str | None
    link: str | None
    title: str
    summary_html: str
    contents: list[str]
    published: datetime | None
    updated: datetime | None
    author: str | None = None
    language: str | None = None
    date_problem: str | None = None  # why a date the entry carried could not be read


@dataclass
class _RawFeed:
    title: str | None
    link: str | None
    language: str | None
    base: str | None  # xml:base of the feed element
    entries: list[_Raw] = field(default_factory=list)
    is_feed: bool = False  # a feed root element or a feed title was seen
    problem: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (rel, href) as the feed gave them
    generator: str | None = None


# --------------------------------------------------------------------------------------------------
# public API


def parse_feed(content: bytes, headers: dict[str, str], url: str) -> FeedData:
    """Parse one fetched body. Never raises for bad input: failures come back in FeedData.failure."""
    return parse_with(None, content, headers, url)


def parse_with(parser: str | None, content: bytes, headers: dict[str, str], url: str) -> FeedData:
    """parse_feed, optionally forcing "feedparser" or "fastfeedparser" (for bench/parsers.py)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not content or not content.strip():
        return _failed(FailureKind.NOT_A_FEED, f"{url}: the server sent an empty body, not a feed")
    if _looks_like_json(content, headers):
        return _parse_json_feed(content, headers, url)

    prepared = xmlsafe.prepare(content, headers)
    text = prepared.text
    notes = list(prepared.notes)
    root = _first_element(text)
    if root in ("html", "head", "body") or (root is None and "<html" in text[:4096].lower()):
        return _failed(FailureKind.NOT_A_FEED, f"{url}: {_describe_html(text, url)}")
    data = text.encode("utf-8")

    raw: _RawFeed | None = None
    used = "feedparser"
    if parser in (None, "fastfeedparser"):
        raw = _run_fastfeedparser(data, text) if parser or _fast_applies(text) else None
        if raw is not None:
            used = "fastfeedparser"
    if raw is None:
        if parser == "fastfeedparser":
            return _failed(FailureKind.PARSE_ERROR, f"{url}: fastfeedparser rejected this feed", "fastfeedparser")
        raw = _run_feedparser(data, prepared.added_prefix)
        used = "feedparser"

    if raw.problem:
        notes.append(raw.problem)
    if not raw.entries and not raw.is_feed:
        return _failed(*_classify_nothing(text, len(content), root, raw.problem, url), used)

    if raw.language is None:
        # fastfeedparser reads xml:lang only, not RSS's <language> (nor <dc:language>).
        m = _LANGUAGE.search(text, 0, 65536)
        raw.language = collapse(m.group(1)) or None if m else None
    base = _feed_base(raw, url)
    link = _resolve(base, raw.link) if raw.link else None
    entries = [_build_entry(r, base, raw.language) for r in raw.entries]
    notes.extend(_date_notes(entries))
    return FeedData(
        title=html_to_text(raw.title) or None if raw.title else None,
        link=link,
        language=raw.language,
        entries=entries,
        parser=used,
        problem="; ".join(notes) or None,
        links=tuple((rel, _resolve(base, href)) for rel, href in raw.links),
        generator=collapse(raw.generator) or None if raw.generator else None,
    )


def _date_notes(entries: list[EntryData]) -> list[str]:
    """One note for the fetch record when entries carried dates that could not be read."""
    bad = [e.date_problem for e in entries if e.date_problem]
    if not bad:
        return []
    return [f"{len(bad)} entr{'y' if len(bad) == 1 else 'ies'} dated by the fetch time: {bad[0]}"
            + (" and more" if len(bad) > 1 else "")]


# --------------------------------------------------------------------------------------------------
# the two XML parsers


def _fast_applies(text: str) -> bool:
    # fastfeedparser ignores xml:base below the feed element, where feedparser gets relative links
    # right; it does not read <itunes:summary>, which podcast feeds use as the body; and it leaves
    # Atom 0.3 base64 text encoded.
    return (
        "xml:base" not in text
        and "itunes:summary" not in text
        and ("base64" not in text or _BASE64_MODE.search(text) is None)  # find first: a C scan
    )


def _run_fastfeedparser(data: bytes, text: str) -> _RawFeed | None:
    """fastfeedparser's result, or None when it raised or fails a cheap plausibility check."""
    try:
        d = fastfeedparser.parse(data)
    except Exception:  # it signals "not a feed / can't parse" with ValueError and friends
        return None
    raw = _from_fastfeedparser(d)
    if _fast_rejects(raw, text):
        return None
    return raw


def _fast_rejects(raw: _RawFeed, text: str) -> bool:
    """Cheap signs that fastfeedparser got this feed wrong, so feedparser should parse it instead.

    - no entries (feedparser decides between a quiet feed, broken XML and not-a-feed);
    - an entry with neither title nor link nor id (a misread structure);
    - a guid marked isPermaLink="false" that it took as the link;
    - no entry with any text although the feed has description/summary/content elements;
    - fewer entries than <item>/<entry> start tags (it stopped early, or skipped some);
    - more dated entries than date elements: it reads a date out of a guid like "t-2" or "1234",
      which the feed never gave as a date (the row would then hide that the date is the fetch time);
    - fewer dated entries than items with a date element, or a date with an offset no place has: it
      dropped or misread a date, and only feedparser's entries say what the feed's text was.
    """
    if not raw.entries:
        return True
    for e in raw.entries:
        if not (e.title or e.link or e.id):
            return True
    if "isPermaLink" in text and _NOT_PERMALINK.search(text):
        # It takes any http guid as the link, even one marked isPermaLink="false": a link that is
        # also the id must appear as a <link> element somewhere.
        suspects = {e.link for e in raw.entries if e.link and e.link == e.id}
        if suspects and not suspects <= {unescape(x).strip() for x in _LINK_TEXT.findall(text)}:
            return True
    if not any(e.summary_html or e.contents for e in raw.entries) and _BODY_TAG.search(text):
        # fastfeedparser drops a <description> holding raw (unescaped) HTML; feedparser keeps it.
        return True
    dated = sum(1 for e in raw.entries if e.published or e.updated)
    date_texts = _DATE_TEXT.findall(text)
    if dated > len(date_texts):
        return True
    if dated < len(raw.entries) and dated < _items_with_dates(text):
        # It drops a date it cannot read (30 February, an offset of +99:99, a year 9999 date at -05:00)
        # without a word; feedparser's entries keep the text, so the row can say what the feed said.
        return True
    if any(_BAD_OFFSET.search(t) for t in date_texts):
        return True
    # Start tags inside CDATA can inflate the count; that only costs a feedparser run.
    return len(raw.entries) < len(_ITEM_TAG.findall(text))


def _items_with_dates(text: str) -> int:
    """How many <item>/<entry> elements carry a date element (only counted when an entry lacks one)."""
    return sum(1 for chunk in _ITEM_TAG.split(text)[1:] if _DATE_TAG.search(chunk))


def _feed_head(d: Any, *, is_feed: bool) -> _RawFeed:
    """The feed-level fields, which both parsers return under the same keys."""
    feed = d.get("feed", {}) or {}
    title_detail = feed.get("title_detail") or {}
    return _RawFeed(
        title=_s(feed.get("title")) or None,
        link=_s(feed.get("link")) or None,
        language=_s(feed.get("language")) or None,
        base=_s(title_detail.get("base")) or None,
        is_feed=is_feed,
        links=[(_s(x.get("rel")) or "alternate", _s(x.get("href")).strip())
               for x in feed.get("links") or [] if isinstance(x, dict) and _s(x.get("href")).strip()],
        generator=_s(feed.get("generator")) or None,
    )


def _from_fastfeedparser(d: Any) -> _RawFeed:
    out = _feed_head(d, is_feed=True)
    for e in d.get("entries", []):
        contents = [_s(c.get("value")) for c in (e.get("content") or []) if isinstance(c, dict)]
        description = _s(e.get("description"))
        if not description and not contents:
            # feedparser reads <media:description> (YouTube, podcasts) as the summary; so do we.
            media = [m for m in e.get("media_content") or [] if isinstance(m, dict)]
            description = next((_s(m.get("description")) for m in media if _s(m.get("description"))), "")
        # fastfeedparser copies a lone description into content: the feed carried one body, not two.
        contents = [c for c in contents if c.strip() != description.strip()]
        if contents and description and _ffp_synthesize is not None:
            # A description fastfeedparser made up from the content is not the feed's summary.
            probe: dict[str, Any] = {"content": e["content"]}
            _ffp_synthesize(probe)
            if _same_start(probe.get("description") or "", description):
                description = ""
        published, problem = _date(e.get("published"))
        updated, problem2 = _date(e.get("updated"))
        out.entries.append(
            _Raw(
                id=_s(e.get("id")).strip() or None,
                link=_s(e.get("link")).strip() or None,
                title=_s(e.get("title")),
                summary_html=description,
                contents=contents,
                published=published,
                updated=updated,
                author=_s(e.get("author")) or None,
                date_problem=problem or problem2,
            )
        )
    return out


def _same_start(a: str, b: str) -> bool:
    # fastfeedparser's native extractor cuts its made-up description a few characters differently
    # from the Python function we re-run, so compare loosely.
    a, b = collapse(a), collapse(b)
    return bool(a) and abs(len(a) - len(b)) <= 16 and a[:200] == b[:200]


def _run_feedparser(data: bytes, added_prefix: int = 0) -> _RawFeed:
    # BytesIO, never a str or bytes: feedparser treats strings as URLs or file names to open.
    # The text is already UTF-8 (xmlsafe.prepare), so the header says so. No Content-Location: we
    # resolve relative links ourselves, against the feed's own link before the fetch URL.
    if b"<media:description" in data:
        # feedparser files <media:description> (usually an image caption) as the summary, or as the
        # content when a summary exists, so a caption can replace the article text. Renamed, it
        # lands in its own key, used below only when the entry has no other text.
        data = _MEDIA_DESCRIPTION.sub(rb"<\1media:captiontext", data)
    d = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,  # the digest sanitises; here it would only cost time and change text
    )
    # A feed root in a document too broken to yield anything else is not a quiet feed.
    is_feed = (bool(d.get("version")) and not d.get("bozo")) or bool((d.get("feed") or {}).get("title"))
    out = _feed_head(d, is_feed=is_feed)
    if d.get("bozo"):
        out.problem = _describe_bozo(d.get("bozo_exception"), len(d.get("entries", [])), added_prefix)
    for e in d.get("entries", []):
        contents = [_s(c.get("value")) for c in (e.get("content") or []) if isinstance(c, dict)]
        summary = _s(e.get("summary"))
        if summary and summary in contents:
            summary = ""  # feedparser copies content into summary when the feed has no summary
        if not summary and not contents:
            summary = _s(e.get("media_captiontext"))
        lang = _s((e.get("title_detail") or {}).get("language")) or None
        published, problem = _date(_own(e, "published"), _own(e, "published_parsed"))
        updated, problem2 = _date(_own(e, "updated"), _own(e, "updated_parsed"))
        out.entries.append(
            _Raw(
                id=_s(e.get("id")).strip() or None,
                link=_s(e.get("link")).strip() or None,
                title=_s(e.get("title")),
                summary_html=summary,
                contents=contents,
                published=published,
                updated=updated,
                author=_s(e.get("author")) or None,
                language=lang,
                date_problem=problem or problem2,
            )
        )
    return out


def _s(value: Any) -> str:
    # Parsers hand back whatever odd feeds contain; anything that is not text counts as absent.
    return value if isinstance(value, str) else ""


def _own(d: dict[str, Any], key: str) -> Any:
    # FeedParserDict answers "updated" with "published" when there is none; we want what was there.
    return dict.get(d, key)


def _describe_bozo(exc: object, n_entries: int, added_prefix: int = 0) -> str:
    msg = str(exc) if exc is not None else "malformed feed"
    get_line = getattr(exc, "getLineNumber", None)
    get_col = getattr(exc, "getColumnNumber", None)
    if callable(get_line) and callable(get_col):
        line, col = get_line(), get_col()
        if line == 1 and isinstance(col, int):
            col = max(0, col - added_prefix)
        msg = f"XML error at line {line}, column {col}: {getattr(exc, 'getMessage', lambda: msg)()}"
    return f"{msg} (a lenient parse recovered {n_entries} entr{'y' if n_entries == 1 else 'ies'})"


# --------------------------------------------------------------------------------------------------
# JSON Feed (neither of the XML parsers' business)


def _looks_like_json(content: bytes, headers: dict[str, str]) -> bool:
    ctype = headers.get("content-type", "").lower()
    if "json" in ctype:
        return True
    head = content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _parse_json_feed(content: bytes, headers: dict[str, str], url: str) -> FeedData:
    try:
        doc = json.loads(content.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        head = content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith((b"{", b"[")):
            return _failed(
                FailureKind.PARSE_ERROR,
                f"{url}: broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "json",
            )
        return _failed(FailureKind.NOT_A_FEED, f"{url}: declared JSON but {_describe_bytes(content)}", "json")
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        keys = ", ".join(sorted(doc)[:6]) if isinstance(doc, dict) else type(doc).__name__
        return _failed(
            FailureKind.NOT_A_FEED, f"{url}: a JSON document that is not a JSON Feed (no 'items'; has {keys})", "json"
        )
    base = doc.get("home_page_url") if isinstance(doc.get("home_page_url"), str) else None
    base = _resolve(url, base) if base else url
    language = doc.get("language") if isinstance(doc.get("language"), str) else None
    entries = []
    skipped = 0
    for item in doc["items"]:
        if not isinstance(item, dict):
            skipped += 1
            continue
        html = _str(item.get("content_html"))
        text = _str(item.get("content_text"))
        author = item.get("author") or (item.get("authors") or [None])[0]
        published, problem = _date(_str(item.get("date_published")))
        updated, problem2 = _date(_str(item.get("date_modified")))
        raw = _Raw(
            id=_str(item.get("id")).strip() or None,
            link=_str(item.get("url") or item.get("external_url")).strip() or None,
            title=_str(item.get("title")),
            summary_html=_str(item.get("summary")),
            contents=[c for c in (html, _text_as_html(text)) if c],
            published=published,
            updated=updated,
            author=_str(author.get("name")) or None if isinstance(author, dict) else None,
            language=_str(item.get("language")) or None,
            date_problem=problem or problem2,
        )
        entries.append(_build_entry(raw, base, language))
    title = _str(doc.get("title")) or None
    notes = [f"skipped {skipped} item(s) that are not JSON objects"] if skipped else []
    notes.extend(_date_notes(entries))
    return FeedData(
        title=title,
        link=base if doc.get("home_page_url") else None,
        language=language,
        entries=entries,
        parser="json",
        problem="; ".join(notes) or None,
        # JSON Feed's paging: next_url is the next (older) page of the feed.
        links=(("next", _resolve(url, doc["next_url"])),) if isinstance(doc.get("next_url"), str) else (),
    )


def _str(value: object) -> str:
    # JSON Feed fields are strings by the spec; ids are sometimes numbers in the wild.
    if isinstance(value, str):
        # JSON can spell a lone surrogate ("\\ud800"), which no UTF-8 encoder (SQLite's, the digest
        # writer's) accepts: it stood for some character, so it becomes U+FFFD.
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _text_as_html(text: str) -> str:
    from html import escape

    return escape(text) if text else ""


# --------------------------------------------------------------------------------------------------
# shared rules: identity, links, dates, text


def _build_entry(r: _Raw, base: str, feed_language: str | None) -> EntryData:
    link = _resolve(base, r.link) if r.link else None
    title = html_to_text(r.title)
    content_html = max(r.contents, key=len) if r.contents else ""
    content = html_to_text(content_html)
    summary = html_to_text(r.summary_html) if r.summary_html else ""
    if not summary and content:
        summary = _derive_summary(content)
    if content == summary:
        content = ""  # one body, not two; it is the summary

    # "updated" means changed after publication: an updated date equal to (or before) the published
    # one says nothing, and one without a published date is the best publication date there is.
    # (RSS dc:date reads as "updated" in feedparser and not in fastfeedparser; this rule makes the
    # two agree and keeps only information.)
    published = r.published or r.updated
    updated = r.updated if r.updated and published and r.updated > published else None

    if r.id and r.id != r.link:
        guid, kind = r.id, "guid"
    elif link:
        guid, kind = link, "link"
    else:
        body = content or summary
        guid, kind = hashlib.sha256(f"{title}\n{body}".encode("utf-8")).hexdigest(), "hash"
    return EntryData(
        guid=guid,
        guid_kind=kind,
        link=link,
        title=title,
        summary=summary,
        content=content,
        summary_html=r.summary_html,
        published=published,
        updated=updated,
        author=collapse(r.author) or None if r.author else None,
        language=r.language or feed_language,
        # Only when the entry ends up with no date: then the store dates it by the fetch and says why.
        date_problem=r.date_problem if published is None else None,
    )


def build_entry(*, id: str | None, link: str | None, title_html: str, summary_html: str, content_html: str,
                published: datetime | None, updated: datetime | None = None, author: str | None = None,
                language: str | None = None, base: str = "") -> EntryData:
    """An EntryData from parts found outside a feed (a WordPress REST post, an article page found in a
    sitemap), by the same identity, date and text rules as a feed's entries (watcher/backfill/)."""
    raw = _Raw(id=id, link=link, title=title_html, summary_html=summary_html,
               contents=[content_html] if content_html else [], published=published, updated=updated,
               author=author, language=language)
    return _build_entry(raw, base or link or "", language)


def iso_utc(value: str | None) -> datetime | None:
    """An ISO 8601 date or time as UTC (no zone given: UTC), or None when it is not one."""
    return read_date(value)[0]


def _derive_summary(content: str) -> str:
    flat = collapse(content)
    if len(flat) <= SUMMARY_CHARS:
        return flat
    cut = flat.rfind(" ", 0, SUMMARY_CHARS)
    return flat[: cut if cut > SUMMARY_CHARS // 2 else SUMMARY_CHARS] + " …"


def _feed_base(raw: _RawFeed, url: str) -> str:
    """Where relative links point from: the feed's xml:base, else its own link, else the fetch URL."""
    base = url
    if raw.link and urlsplit(_resolve(url, raw.link)).scheme in ("http", "https"):
        base = _resolve(url, raw.link)
    if raw.base:
        base = _resolve(base, raw.base)
    return base


def _resolve(base: str, link: str) -> str:
    # "&amp;" left in a link is a feed escaping its URL twice; no real URL means it literally.
    link = link.strip().replace("&amp;", "&")
    if link.endswith("?"):
        link = link[:-1]  # an empty query is no query; feedparser drops it too
    if base and _PLAIN_ABSOLUTE.fullmatch(link):
        return link  # what urljoin gives back for it, whatever the base: most links are these
    try:
        return urljoin(base, link) if base else link
    except ValueError:  # e.g. a malformed IPv6 host; keep what the feed said
        return link


def _date(text: Any, parsed: Any = None) -> tuple[datetime | None, str | None]:
    """A date element's text -> (UTC datetime, None), or (None, why the entry's date was not used).

    Our own strict reading (watcher.dates) decides for RFC 822 and ISO 8601 text, so an impossible
    date is refused rather than adjusted; only text in another shape falls back to what the parser
    made of it (`parsed`, a feedparser time tuple)."""
    if not isinstance(text, str) or not text.strip():
        return None, None
    dt, problem = read_date(text)
    if dt is None and problem is None:
        dt = _struct_utc(parsed)
        if dt is None:
            problem = f"unreadable date {collapse(text)[:80]!r}"
    return dt, problem


def _struct_utc(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6]).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


# --------------------------------------------------------------------------------------------------
# saying what a non-feed looked like


def _failed(kind: FailureKind, message: str, parser: str = "feedparser") -> FeedData:
    return FeedData(
        title=None, link=None, language=None, entries=[], parser=parser, failure=Failure(kind, message)
    )


def _first_element(text: str) -> str | None:
    """The name of the first element, skipping the XML declaration, comments and PIs."""
    pos = 0
    n = min(len(text), 65536)
    while pos < n:
        i = text.find("<", pos, n)
        if i < 0:
            return None
        if text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            pos = n if j < 0 else j + 3
            continue
        if text.startswith("<?", i) or text.startswith("<!", i):
            j = text.find(">", i)
            pos = n if j < 0 else j + 1
            continue
        m = _FIRST_ELEMENT.match(text, i)
        return m.group(1).lower() if m else None
    return None


def _describe_html(text: str, url: str) -> str:
    m = _HTML_TITLE.search(text[:65536])
    title = collapse(html_to_text(m.group(1)))[:80] if m else ""
    what = f"an HTML page (<title>{title}</title>)" if title else "an HTML page"
    advice = "check the source URL"
    alt = _ALTERNATE.search(text[:65536])
    href = _HREF.search(alt.group(0)) if alt else None
    if href:
        advice = f"the page announces a feed at {_resolve(url, html_to_text(href.group(1)))}"
    return f"{what}, not a feed; {advice}"


def _describe_bytes(text: str | bytes, nbytes: int | None = None) -> str:
    head = text[:60]
    if isinstance(head, bytes):
        head = head.decode("utf-8", errors="replace")
    n = len(text) if nbytes is None else nbytes
    return f"{n} bytes that are neither XML nor JSON (starts {collapse(head)!r})"


def _classify_nothing(
    text: str, nbytes: int, root: str | None, problem: str | None, url: str
) -> tuple[FailureKind, str]:
    """Why a body gave no entries and no feed: (kind, message)."""
    stripped = text.strip()
    if not stripped:
        return FailureKind.NOT_A_FEED, f"{url}: the body is only white space, not a feed"
    if root is None:
        return FailureKind.NOT_A_FEED, f"{url}: {_describe_bytes(stripped, nbytes)}"
    if root in _FEED_ROOTS or root.endswith(":rdf"):
        return FailureKind.PARSE_ERROR, f"{url}: a <{root}> document so broken that nothing could be read ({problem})"
    if problem:
        return FailureKind.PARSE_ERROR, f"{url}: broken XML with root <{root}>, no feed in it ({problem})"
    return FailureKind.NOT_A_FEED, f"{url}: an XML document with root <{root}>, not RSS, Atom or RDF"
