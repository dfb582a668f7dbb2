"""The digest record: which items a date's digest holds, under which topic, and its frozen header."""

from __future__ import annotations

from datetime import date, datetime

import sqlite_utils

from ..times import iso, parse_iso, parse_iso_optional
from .db import dumps, loads_list, write
from .items import _COLUMNS, _SELECT, _item, reposts
from .records import DigestRecord, FailureSummary, StoredItem

__all__ = ["digest_candidates", "fetch_failures", "previous_built_at", "record_digest", "digest_record",
           "recent_digests", "last_digest_date", "first_fetch_at", "digest_exists", "mark_sent"]


def digest_candidates(db: sqlite_utils.Database, cutoff: datetime) -> list[StoredItem]:
    """Items a new digest takes: relevant, no duplicate, not rejected, polled (not backfilled), fetched
    before the cutoff, and in no earlier digest."""
    rows = db.execute(
        f"{_SELECT} WHERE relevant = 1 AND duplicate_of IS NULL AND COALESCE(review_status, '') != 'rejected'"
        # Backfilled items are old news found today: they wait in the review queue, never a digest.
        " AND fetched_at < ? AND origin = 'poll' AND id NOT IN (SELECT item_id FROM digest_items)", [iso(cutoff)])
    return [_item(r) for r in rows]


def fetch_failures(db: sqlite_utils.Database, since: datetime, until: datetime) -> list[FailureSummary]:
    """Sources whose fetches failed in (since, until], with the last error, and whether still failing."""
    rows = db.execute(
        # SQLite fills bare columns of an aggregate query from the row that max() picked: the last error.
        "SELECT f.source, f.outcome, f.error, count(*), max(f.started_at), s.last_error_kind IS NOT NULL"
        " FROM fetches f LEFT JOIN sources s ON s.name = f.source"
        " WHERE f.outcome NOT IN ('ok', 'not_modified') AND f.started_at > ? AND f.started_at <= ?"
        " GROUP BY f.source ORDER BY f.source",
        [iso(since), iso(until)])
    return [FailureSummary(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


def previous_built_at(db: sqlite_utils.Database, day: date) -> datetime | None:
    """When the last digest before this date was built."""
    return parse_iso_optional(db.execute("SELECT max(built_at) FROM digests WHERE date < ?",
                                         [day.isoformat()]).fetchone()[0])


def record_digest(db: sqlite_utils.Database, day: date, *, built_at: datetime, cutoff: datetime, timezone: str,
                  failures: list[dict], members: list[tuple[int, str]]) -> bool:
    """Record a date's digest once: its frame and its (item id, topic) members. Returns False, recording
    nothing, when the date is recorded already (another builder came first)."""
    with write(db):
        if db.execute("SELECT 1 FROM digests WHERE date = ?", [day.isoformat()]).fetchone():
            return False
        db.execute("INSERT INTO digests (date, built_at, cutoff, timezone, item_count, failures)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   [day.isoformat(), iso(built_at), iso(cutoff), timezone, len(members), dumps(failures)])
        db.conn.executemany("INSERT INTO digest_items (item_id, digest_date, topic) VALUES (?, ?, ?)",
                            [(item_id, day.isoformat(), topic) for item_id, topic in members])
    return True


def _records(db: sqlite_utils.Database, rows: list[tuple]) -> list[DigestRecord]:
    if not rows:
        return []
    days = [r[0] for r in rows]
    members: dict[str, list[tuple[StoredItem, str]]] = {d: [] for d in days}
    cols = ", ".join(f"items.{c}" for c in _COLUMNS)
    for r in db.execute(
            f"SELECT {cols}, digest_items.digest_date, digest_items.topic FROM digest_items"
            f" JOIN items ON items.id = digest_items.item_id"
            f" WHERE digest_items.digest_date IN ({','.join('?' * len(days))})", days):
        members[r[-2]].append((_item(r[:-2]), r[-1]))
    out = []
    for day, built_at, cutoff, tz, failures, sent_at in rows:
        cut = parse_iso(cutoff)
        out.append(DigestRecord(
            day=day, built_at=parse_iso(built_at), cutoff=cut, timezone=tz, failures=loads_list(failures),
            members=members[day], reposts={item.id: reposts(db, item.id, fetched_before=cut)
                                           for item, _ in members[day]},
            sent_at=parse_iso_optional(sent_at)))
    return out


_DIGEST = "SELECT date, built_at, cutoff, timezone, failures, sent_at FROM digests"


def digest_record(db: sqlite_utils.Database, day: date) -> DigestRecord | None:
    """A recorded date, with its items and their reposts as of its cutoff; None if never built."""
    got = _records(db, db.execute(f"{_DIGEST} WHERE date = ?", [day.isoformat()]).fetchall())
    return got[0] if got else None


def recent_digests(db: sqlite_utils.Database, limit: int) -> list[DigestRecord]:
    """The latest recorded dates, newest first."""
    return _records(db, db.execute(f"{_DIGEST} ORDER BY date DESC LIMIT ?", [limit]).fetchall())


def last_digest_date(db: sqlite_utils.Database, *, up_to: date | None = None) -> date | None:
    """The latest date recorded (up to `up_to`, when given)."""
    if up_to is None:
        got = db.execute("SELECT max(date) FROM digests").fetchone()[0]
    else:
        got = db.execute("SELECT max(date) FROM digests WHERE date <= ?", [up_to.isoformat()]).fetchone()[0]
    return date.fromisoformat(got) if got else None


def first_fetch_at(db: sqlite_utils.Database) -> datetime | None:
    """When this store first tried to fetch anything (ok or not)."""
    return parse_iso_optional(db.execute("SELECT min(started_at) FROM fetches").fetchone()[0])


def digest_exists(db: sqlite_utils.Database, day: date) -> bool:
    return db.execute("SELECT 1 FROM digests WHERE date = ?", [day.isoformat()]).fetchone() is not None


def mark_sent(db: sqlite_utils.Database, day: date, at: datetime) -> None:
    with write(db):
        db.execute("UPDATE digests SET sent_at = ? WHERE date = ?", [iso(at), day.isoformat()])
