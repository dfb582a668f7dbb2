"""The one write path for items and sources: `apply(db, changes)`.

Every change to an item goes through here, whoever makes it: a poll (NewItem, ItemEdit, ItemSeen,
IndexEntry), `rematch` and `dedup --recheck` and the re-pointing of reposts (ItemChange with a match
or a dedup decision), a review decision or an imported label (ItemChange with a review). So the
match-to-columns and dedup-to-columns mappings exist once, below. `dry_run=True` does all of it and
rolls it back.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Sequence

import sqlite_utils

from ..model import DedupDecision, MatchResult
from ..times import iso
from .db import dumps, write
from .lsh import epoch, index_add, index_remove
from .records import (
    KEEP,
    _Keep,
    Change,
    FetchRecord,
    IndexEntry,
    ItemChange,
    ItemEdit,
    ItemSeen,
    NewItem,
    PageUpdate,
    SourceDeferred,
    SourceUpdate,
)

__all__ = ["apply"]


def _json_list(values: list) -> str:
    # Nearly every item (99% of the real feeds') has no topic, keyword or hit: skip the encoder for [].
    return dumps(values) if values else "[]"


def match_columns(m: MatchResult) -> dict[str, Any]:
    return {
        "relevant": int(m.relevant),
        "score": round(m.score, 4),
        "topics": _json_list(m.topics),
        "keywords": _json_list(m.keywords),
        "hits": _json_list([h.__dict__ for h in m.hits]),
    }


def dedup_columns(d: DedupDecision) -> dict[str, Any]:
    return {
        "duplicate_of": d.duplicate_of,
        "dup_method": d.method,
        "dup_score": None if d.score is None else round(d.score, 4),
        "dup_possible": int(d.possible),
    }


def page_columns(page: Any) -> dict[str, Any]:
    """The page columns of the full-text step's outcome (none when the step did not see the entry)."""
    if page is None:
        return {}
    return {"content_source": page.content_source, "feed_content": page.feed_content, "page_link": page.link,
            "page_status": page.status, "page_note": page.note or None, "page_fetched_at": page.fetched_at}


def _text_columns(c: NewItem | ItemEdit) -> dict[str, Any]:
    e = c.entry
    return {"link": e.link, "canonical_link": c.canonical_link, "title": e.title, "summary": e.summary,
            "content": e.content, "summary_html": e.summary_html, "author": e.author, "language": c.language,
            "last_seen": iso(c.at), "content_hash": c.content_hash, **match_columns(c.match),
            **dedup_columns(c.dedup), "review_status": c.review_status,
            **page_columns(c.page)}  # full text (issue 11): content is then the page's, see watcher/fulltext


def _update(db: sqlite_utils.Database, table: str, key: str, value: object, columns: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = ?" for k in columns)
    db.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", [*columns.values(), value])


def _insert(db: sqlite_utils.Database, table: str, columns: dict[str, Any]) -> int:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    cur = db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(columns.values()))
    return int(cur.lastrowid or 0)


def _apply_one(db: sqlite_utils.Database, c: Change) -> int | None:
    if isinstance(c, ItemSeen):
        db.execute("UPDATE items SET last_seen = ? WHERE id = ?", [iso(c.at), c.item_id])
    elif isinstance(c, NewItem):
        return _insert(db, "items", {
            **_text_columns(c), "source": c.source, "guid": c.entry.guid, "guid_kind": c.entry.guid_kind,
            "published": iso(c.published), "published_is_fetch_time": int(c.published_is_fetch_time),
            "date_note": c.date_note, "origin": c.origin, "fetched_at": iso(c.at)})
    elif isinstance(c, ItemEdit):
        # Keep what the feed said before: the earlier text becomes a version row.
        version, title, summary, content, link = db.execute(
            "SELECT version, title, summary, content, link FROM items WHERE id = ?", [c.item_id]).fetchone()
        _insert(db, "item_versions", {"item_id": c.item_id, "version": version, "title": title,
                                      "summary": summary, "content": content, "link": link,
                                      "replaced_at": iso(c.at)})
        _update(db, "items", "id", c.item_id,
                {**_text_columns(c), "version": version + 1, "updated_at": iso(c.at)})
    elif isinstance(c, ItemChange):
        cols: dict[str, Any] = {}
        if not isinstance(c.match, _Keep):
            cols.update(match_columns(c.match))
        if not isinstance(c.dedup, _Keep):
            cols.update(dedup_columns(c.dedup))
        if not isinstance(c.review_status, _Keep):
            cols["review_status"] = c.review_status
        if cols:
            _update(db, "items", "id", c.item_id, cols)
        if c.review is not None:
            r = c.review
            _insert(db, "reviews", {"item_id": c.item_id, "status": c.review_status,
                                    "previous": c.previous_review_status, "who": r.who, "at": iso(r.at),
                                    "note": r.note, "origin": r.origin})
    elif isinstance(c, PageUpdate):
        if c.page.content_source == "page":
            _update(db, "items", "id", c.item_id, {**page_columns(c.page), "content": c.content,
                                                    "language": c.language})
        else:  # a failure leaves the text as it is (the feed's, or a page's from an earlier fetch)
            cols = page_columns(c.page)
            _update(db, "items", "id", c.item_id, {k: cols[k] for k in
                                                    ("page_status", "page_note", "page_link", "page_fetched_at")})
    elif isinstance(c, IndexEntry):
        if c.keys:
            index_add(db, c.item_id, epoch(c.published), c.keys)
        else:
            index_remove(db, c.item_id)
    elif isinstance(c, SourceUpdate):
        cols = {}
        for f in fields(c):
            value = getattr(c, f.name)
            if f.name != "name" and value is not KEEP:
                cols[f.name] = iso(value) if hasattr(value, "tzinfo") else value
        _update(db, "sources", "name", c.name, cols)
    elif isinstance(c, SourceDeferred):
        db.execute("UPDATE sources SET deferred = ? WHERE name = ?", [c.reason, c.name])
    elif isinstance(c, FetchRecord):
        _insert(db, "fetches", {
            "source": c.source, "started_at": iso(c.started_at), "url": c.url, "status": c.status,
            "bytes": c.nbytes, "duration_ms": c.duration_ms, "outcome": c.outcome, "error": c.error,
            "parser": c.parser, "parse_problem": c.parse_problem, "entries": c.entries,
            "new_items": c.new_items, "updated_items": c.updated_items})
    else:  # a new kind of change without a case here is a bug
        raise TypeError(f"not a store change: {c!r}")
    return None


def apply(db: sqlite_utils.Database, changes: Sequence[Change], *, dry_run: bool = False) -> list[int | None]:
    """Apply changes in order, all or nothing. Returns, per change, the new item's id for a NewItem
    and None for the others.

    Outside a transaction, it is one. Inside the caller's (a poll stores each source in one), the
    caller's transaction is what makes it all or nothing, and a failure here propagates to it: no
    savepoint of its own, because every savepoint makes SQLite copy each page it first changes to a
    sub-journal (bench/poll.py --feeds 150: 231 MB written for a 43 MB store with one per change,
    132 MB without)."""
    if db.conn.in_transaction and not dry_run:
        return [_apply_one(db, c) for c in changes]
    with write(db, dry_run=dry_run):
        return [_apply_one(db, c) for c in changes]
