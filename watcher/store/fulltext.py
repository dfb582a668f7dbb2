"""The full-text step's reads (watcher/fulltext/): what the store knows of entries' pages, an item's
stored page text, and the items `watcher fulltext` works on. Its writes are store.apply intents
(NewItem/ItemEdit with a page, PageUpdate).

Columns on `items` (SCHEMA; migration m034_fulltext):
    content_source   feed | page: where `content`, the text matched and deduplicated, came from
    feed_content     the feed's own content, kept when `content` holds the page's text
    page_link        the link a page was fetched (or considered) for: a new link means a new page
    page_status      NULL (never considered) | ok | skipped | robots | not_html | encoding | no_text |
                     deferred | a fetch failure kind (timeout, too_large, bad_url, http_4xx, ...)
    page_note        why, in words; shown by `watcher show`
    page_fetched_at  when the request was made (UTC)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import sqlite_utils


@dataclass(frozen=True)
class PageState:
    id: int
    content_hash: str
    page_link: str | None
    page_status: str | None
    page_note: str | None
    page_fetched_at: str | None


def page_state(db: sqlite_utils.Database, source: str, guids: list[str]) -> dict[str, PageState]:
    """What the store knows of these guids' pages, by guid; one query per 500 guids."""
    out: dict[str, PageState] = {}
    for i in range(0, len(guids), 500):
        chunk = guids[i:i + 500]
        marks = ",".join("?" for _ in chunk)
        for row in db.execute("SELECT guid, id, content_hash, page_link, page_status, page_note, page_fetched_at"
                              f" FROM items WHERE source = ? AND guid IN ({marks})", [source, *chunk]):
            out[row[0]] = PageState(*row[1:])
    return out


def page_state_by_link(db: sqlite_utils.Database, source: str, canonical_links: list[str]
                       ) -> dict[str, list[PageState]]:
    """The same, by canonical link, for entries whose guid is not stored: a feed that rotates guids
    (ingest.same_item) must not cost a page request per poll; a page is fetched once per link."""
    out: dict[str, list[PageState]] = {}
    for i in range(0, len(canonical_links), 500):
        chunk = canonical_links[i:i + 500]
        marks = ",".join("?" for _ in chunk)
        for row in db.execute("SELECT canonical_link, id, content_hash, page_link, page_status, page_note,"
                              f" page_fetched_at FROM items WHERE source = ? AND canonical_link IN ({marks})"
                              " ORDER BY id", [source, *chunk]):
            out.setdefault(row[0], []).append(PageState(*row[1:]))
    return out


def stored_page_text(db: sqlite_utils.Database, item_id: int) -> str | None:
    row = db.execute("SELECT content FROM items WHERE id = ? AND content_source = 'page'", [item_id]).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class PageItem:
    """A stored item as `watcher fulltext` needs it."""

    id: int
    source: str
    guid: str
    link: str | None
    title: str
    summary: str
    content: str
    language: str | None
    content_source: str
    feed_content: str | None
    published_is_fetch_time: bool
    published: datetime
    relevant: bool
    review_status: str | None


def candidates(db: sqlite_utils.Database, sources: list[str], since: datetime | None,
               missing: bool) -> list[PageItem]:
    """Items of these sources for `watcher fulltext`, oldest first; with `missing`, only those whose
    text is still the feed's (never fetched, skipped, or failed)."""
    from ..times import iso, parse_iso

    marks = ",".join("?" for _ in sources)
    sql = ("SELECT id, source, guid, link, title, summary, content, language, content_source, feed_content,"
           " published_is_fetch_time, published, relevant, review_status"
           f" FROM items WHERE source IN ({marks})")
    params: list = list(sources)
    if since is not None:
        sql += " AND published >= ?"
        params.append(iso(since))
    if missing:
        sql += " AND content_source = 'feed'"
    sql += " ORDER BY published, id"
    return [PageItem(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6] or "", r[7], r[8], r[9], bool(r[10]),
                     parse_iso(r[11]), bool(r[12]), r[13]) for r in db.execute(sql, params)]
