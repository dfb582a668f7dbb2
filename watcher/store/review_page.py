"""The review page's reads (watcher/web/): the queue, keyset-paged, its count, one row, items per day,
versions and an item's text. Every value is bound (`?`), never formatted in.
The queue query is keyset-paged on (published, id) and served by the index `items_queue`
(review_status, published, id), so a page costs the same at any depth and any store size. Filtered by
origin, it is served by `items_queue_origin` (review_status, origin, published, id) the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlite_utils

from ..review import QueueFilter
from .items import queue_where

PAGE_SIZE = 50
ORIGINS = {"polled": "poll", "backfilled": "backfill"}  # the filter's words -> items.origin
COUNT_CAP = 1000  # "1000+": counting a huge filtered queue exactly would cost more than the page


@dataclass(frozen=True)
class QueueQuery:
    filter: QueueFilter = QueueFilter()
    since: date | None = None  # published on or after this UTC day
    until: date | None = None  # ... and on or before this one
    origin: str | None = None  # the items.origin value: poll | backfill (see ORIGINS)
    before: tuple[str, int] | None = None  # keyset cursor: (published, id) of the last row shown


def _day(d: date) -> str:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc).isoformat(timespec="seconds")


def _where(q: QueueQuery) -> tuple[list[str], list[str | int]]:
    f = q.filter
    where, args = queue_where(status=f.status, source=f.source, language=f.language, topic=f.topic)
    if q.since:
        where.append("published >= ?")
        args.append(_day(q.since))
    if q.until:
        where.append("published < ?")
        args.append(_day(q.until + timedelta(days=1)))
    if q.origin:
        where.append("origin = ?")
        args.append(q.origin)
    return where, args


QUEUE_COLUMNS = ("id, source, language, published, published_is_fetch_time, title, link, summary, content, "
                 "topics, keywords, hits, score, review_status, dup_possible, origin")


def queue_page(db: sqlite_utils.Database, q: QueueQuery, limit: int = PAGE_SIZE) -> list[dict]:
    """One page of the queue, newest first, after the cursor. JSON columns come back decoded."""
    where, args = _where(q)
    if q.before:
        where.append("(published < ? OR (published = ? AND id < ?))")
        args += [q.before[0], q.before[0], q.before[1]]
    cur = db.execute(f"SELECT {QUEUE_COLUMNS} FROM items WHERE {' AND '.join(where)} "
                     f"ORDER BY published DESC, id DESC LIMIT ?", [*args, int(limit)])
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur]
    for r in rows:
        for k in ("topics", "keywords", "hits"):
            r[k] = json.loads(r[k] or "[]")
    return rows


def queue_count(db: sqlite_utils.Database, q: QueueQuery, cap: int = COUNT_CAP) -> int:
    """How many items the filter matches, counted up to `cap` (+1 to tell "more than cap")."""
    where, args = _where(q)
    return db.execute(f"SELECT count(*) FROM (SELECT 1 FROM items WHERE {' AND '.join(where)} LIMIT ?)",
                      [*args, cap + 1]).fetchone()[0]


def queue_row(db: sqlite_utils.Database, item_id: int) -> dict | None:
    cur = db.execute(f"SELECT {QUEUE_COLUMNS} FROM items WHERE id = ?", [item_id])
    values = cur.fetchone()
    if values is None:
        return None
    row = dict(zip([d[0] for d in cur.description], values))
    for k in ("topics", "keywords", "hits"):
        row[k] = json.loads(row[k] or "[]")
    return row


def items_per_day(db: sqlite_utils.Database, since: date) -> dict[str, dict[str, int]]:
    """Items first stored per source per UTC day since `since` (the items_fetched_at index)."""
    out: dict[str, dict[str, int]] = {}
    for source, day, n in db.execute(
            "SELECT source, substr(fetched_at, 1, 10) AS day, count(*) FROM items WHERE fetched_at >= ? "
            "GROUP BY source, day", [_day(since)]):
        out.setdefault(source, {})[day] = n
    return out


def versions(db: sqlite_utils.Database, item_id: int) -> list[dict]:
    """An item's earlier versions, whole, oldest first (report.item_detail gives only their titles)."""
    cur = db.execute("SELECT version, title, summary, content, link, replaced_at FROM item_versions "
                     "WHERE item_id = ? ORDER BY version", [item_id])
    return [dict(zip([d[0] for d in cur.description], r)) for r in cur]


def item_text(db: sqlite_utils.Database, item_id: int) -> dict | None:
    """Title and text of one item (the original a duplicate repeats)."""
    cur = db.execute("SELECT id, source, title, summary, content, language FROM items WHERE id = ?", [item_id])
    values = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], values)) if values else None
