"""Reading items: by guid for a poll, one by id, all of them in order, the review queue, reposts and
followers of an item, review history, and the counts `status`, `dedup` and `export` show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterator, Literal

import sqlite_utils

from ..times import iso, parse_iso, parse_iso_optional
from .db import dumps, loads_list
from .records import Follower, ItemText, LinkedItem, Repost, ReviewEvent, StoredItem, StoredKey, Version

__all__ = ["items_for_update", "items_by_link", "get_item", "iter_items", "queue", "reposts", "followers", "item_ids",
           "versions", "review_history", "review_states", "stored_values", "review_counts", "irrelevant_texts", "item_count", "counts_by_source", "dedup_method_counts"]

_COLUMNS = ("id", "source", "guid", "guid_kind", "link", "canonical_link", "title", "summary", "content",
            "summary_html", "author", "language", "published", "published_is_fetch_time", "fetched_at",
            "last_seen", "updated_at", "version", "content_hash", "relevant", "score", "topics", "keywords",
            "hits", "duplicate_of", "dup_method", "dup_score", "dup_possible", "review_status", "date_note", "origin", "content_source", "feed_content",
            "page_link", "page_status", "page_note", "page_fetched_at")
_SELECT = "SELECT " + ", ".join(f"items.{c}" for c in _COLUMNS) + " FROM items"
_CHUNK = 500  # bound parameters per statement, well under SQLite's limit


def _item(row: tuple) -> StoredItem:
    r = dict(zip(_COLUMNS, row))
    return StoredItem(
        id=r["id"], source=r["source"], guid=r["guid"], guid_kind=r["guid_kind"], link=r["link"],
        canonical_link=r["canonical_link"], title=r["title"] or "", summary=r["summary"] or "",
        content=r["content"] or "", summary_html=r["summary_html"] or "", author=r["author"],
        language=r["language"], published=parse_iso(r["published"]),
        published_is_fetch_time=bool(r["published_is_fetch_time"]), fetched_at=parse_iso(r["fetched_at"]),
        last_seen=parse_iso(r["last_seen"]), updated_at=parse_iso_optional(r["updated_at"]),
        version=r["version"], content_hash=r["content_hash"], relevant=bool(r["relevant"]),
        score=r["score"], topics=loads_list(r["topics"]), keywords=loads_list(r["keywords"]),
        hits=[h for h in loads_list(r["hits"]) if isinstance(h, dict)], duplicate_of=r["duplicate_of"],
        dup_method=r["dup_method"], dup_score=r["dup_score"], dup_possible=bool(r["dup_possible"]),
        review_status=r["review_status"], date_note=r["date_note"], origin=r["origin"],
        content_source=r["content_source"], feed_content=r["feed_content"], page_link=r["page_link"],
        page_status=r["page_status"], page_note=r["page_note"], page_fetched_at=r["page_fetched_at"],
    )


def items_for_update(db: sqlite_utils.Database, source: str, guids: list[str]) -> dict[str, StoredKey]:
    """The stored items of these guids of a source, by guid: one query per source, not per entry."""
    out: dict[str, StoredKey] = {}
    for i in range(0, len(guids), _CHUNK):
        chunk = guids[i:i + _CHUNK]
        marks = ",".join("?" for _ in chunk)
        for guid, item_id, content_hash in db.execute(
                f"SELECT guid, id, content_hash FROM items WHERE source = ? AND guid IN ({marks})",
                [source, *chunk]):
            out[guid] = StoredKey(item_id, content_hash)
    return out


def items_by_link(db: sqlite_utils.Database, source: str, links: list[str]) -> dict[str, list[LinkedItem]]:
    """A source's stored items with these canonical links, oldest first, by link."""
    out: dict[str, list[LinkedItem]] = {}
    for i in range(0, len(links), _CHUNK):
        chunk = links[i:i + _CHUNK]
        marks = ",".join("?" for _ in chunk)
        for link, item_id, content_hash, guid in db.execute(
                f"SELECT canonical_link, id, content_hash, guid FROM items WHERE source = ?"
                f" AND canonical_link IN ({marks}) ORDER BY id", [source, *chunk]):
            out.setdefault(link, []).append(LinkedItem(item_id, content_hash, guid))
    return out


def get_item(db: sqlite_utils.Database, item_id: int) -> StoredItem | None:
    row = db.execute(f"{_SELECT} WHERE id = ?", [item_id]).fetchone()
    return None if row is None else _item(row)


def _since(since: date | datetime | None) -> str | None:
    if since is None:
        return None
    # A date sorts before any time on that day; a datetime is compared as stored (UTC ISO text).
    return iso(since) if isinstance(since, datetime) else since.isoformat()


def iter_items(db: sqlite_utils.Database, *, since: date | datetime | None = None,
               order: Literal["id", "published"] = "id") -> Iterator[StoredItem]:
    """Every stored item (published on or after `since`), by id or in published order."""
    sql, params = _SELECT, []
    bound = _since(since)
    if bound is not None:
        sql += " WHERE published >= ?"
        params.append(bound)
    sql += " ORDER BY id" if order == "id" else " ORDER BY published, id"
    for row in db.execute(sql, params).fetchall():
        yield _item(row)


def queue_where(*, status: str | None, source: str | None, language: str | None,
                topic: str | None) -> tuple[list[str], list[str | int]]:
    """The WHERE terms (and their bound values) of the review queue's filters: one definition for
    `watcher review list` and the review page, which adds its dates, origin and paging to them."""
    where: list[str] = ["review_status IS NOT NULL"]
    args: list[str | int] = []
    for column, value in (("review_status", status), ("source", source), ("language", language)):
        if value:
            where.append(f"{column} = ?")  # column: one of the three names above, never input
            args.append(value)
    if topic:
        where.append("EXISTS (SELECT 1 FROM json_each(items.topics) WHERE json_each.value = ?)")
        args.append(topic)
    return where, args


def queue(db: sqlite_utils.Database, *, status: str | None, source: str | None, language: str | None,
          topic: str | None, limit: int | None = None) -> list[StoredItem]:
    """Queued items (review_status set) matching every filter given, newest first."""
    where, args = queue_where(status=status, source=source, language=language, topic=topic)
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY published DESC, id DESC"
    if limit:
        sql += " LIMIT ?"
        args.append(int(limit))
    return [_item(r) for r in db.execute(sql, args)]


def reposts(db: sqlite_utils.Database, item_id: int, *, fetched_before: datetime | None = None) -> list[Repost]:
    """The stored reposts of an item (duplicate_of names it), earliest first; with `fetched_before`,
    only those that had come in by then, in the order they came (what a digest showed that day)."""
    if fetched_before is None:
        rows = db.execute("SELECT id, source, link, title, language, dup_method, dup_score FROM items"
                          " WHERE duplicate_of = ? ORDER BY published, id", [f"item:{item_id}"])
    else:
        rows = db.execute("SELECT id, source, link, title, language, dup_method, dup_score FROM items"
                          " WHERE duplicate_of = ? AND fetched_at < ? ORDER BY fetched_at, id",
                          [f"item:{item_id}", iso(fetched_before)])
    return [Repost(*r) for r in rows]


def followers(db: sqlite_utils.Database, item_id: int) -> list[Follower]:
    """Items whose duplicate_of names this one."""
    return [Follower(r[0], bool(r[1]), r[2], r[3], r[4]) for r in db.execute(
        "SELECT id, relevant, review_status, dup_method, dup_score FROM items WHERE duplicate_of = ?",
        [f"item:{item_id}"])]


def item_ids(db: sqlite_utils.Database, ids: list[int] | None = None) -> set[int]:
    """Which of these ids are stored items (all stored ids when None)."""
    if ids is None:
        return {r[0] for r in db.execute("SELECT id FROM items")}
    out: set[int] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        out |= {r[0] for r in db.execute(
            f"SELECT id FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk)}
    return out


def versions(db: sqlite_utils.Database, item_id: int) -> list[Version]:
    return [Version(*r) for r in db.execute(
        "SELECT version, title, replaced_at FROM item_versions WHERE item_id = ? ORDER BY version", [item_id])]


def review_history(db: sqlite_utils.Database, item_id: int) -> list[ReviewEvent]:
    """Every review decision on one item, oldest first."""
    return [ReviewEvent(*r) for r in db.execute(
        "SELECT status, previous, who, at, note, origin FROM reviews WHERE item_id = ? ORDER BY id", [item_id])]


def irrelevant_texts(db: sqlite_utils.Database, *, limit: int, content_chars: int) -> list[ItemText]:
    """The newest items not relevant to the keyword list: their text, content cut at `content_chars`."""
    return [ItemText(r[0] or "", r[1] or "", r[2] or "", r[3]) for r in db.execute(
        "SELECT title, summary, substr(content, 1, ?), language FROM items WHERE relevant = 0"
        " ORDER BY id DESC LIMIT ?", [content_chars, limit])]


def review_states(db: sqlite_utils.Database, ids: list[int]) -> dict[int, tuple[str | None, list[ReviewEvent]]]:
    """Per stored item of these ids: its review_status now, and its decisions, oldest first."""
    bound = dumps(ids)
    events: dict[int, list[ReviewEvent]] = {}
    for r in db.execute("SELECT item_id, status, previous, who, at, note, origin FROM reviews"
                        " WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY id", [bound]):
        events.setdefault(r[0], []).append(ReviewEvent(*r[1:]))
    return {r[0]: (r[1], events.get(r[0], [])) for r in db.execute(
        "SELECT id, review_status FROM items WHERE id IN (SELECT value FROM json_each(?))", [bound])}


def stored_values(db: sqlite_utils.Database) -> dict[str, set[str]]:
    """The sources, topics and languages stored items carry (what a queue filter can match)."""
    return {
        "source": {r[0] for r in db.execute("SELECT DISTINCT source FROM items")},
        "topic": {r[0] for r in db.execute(
            "SELECT DISTINCT json_each.value FROM items, json_each(items.topics) WHERE items.topics != '[]'")},
        "language": {r[0] for r in db.execute("SELECT DISTINCT language FROM items WHERE language IS NOT NULL")},
    }


def review_counts(db: sqlite_utils.Database) -> dict[int, int]:
    """How many review decisions each reviewed item has had (items never reviewed are absent)."""
    return dict(db.execute("SELECT item_id, count(*) FROM reviews GROUP BY item_id").fetchall())


def item_count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM items").fetchone()[0])


def counts_by_source(db: sqlite_utils.Database) -> dict[str, int]:
    return dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())


def dedup_method_counts(db: sqlite_utils.Database) -> list[tuple[str, bool, int]]:
    """(method or 'none', possible, items), most first."""
    return [(m, bool(p), n) for m, p, n in db.execute(
        "SELECT coalesce(dup_method, 'none'), dup_possible, count(*) FROM items GROUP BY 1, 2 ORDER BY 3 DESC")]
