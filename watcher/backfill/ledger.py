"""The coverage ledger (`backfill_runs`, schema in watcher/store.py): every SQL statement of the
backfill is here, as named operations, until the storage package takes them over.

The one rule that makes a backfill resumable: a page's items and the run's cursor after that page
are stored in ONE transaction (`store_page`). A run killed at any point either has the page and the
cursor past it, or neither, so the next run refetches at most the page it was on, and loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from .. import store
from ..config import Source
from ..dedup import Deduper
from ..ingest import store_entries
from ..prepare import PreparedEntry
from .plan import DateRange


@dataclass
class Run:
    id: int
    source: str
    rng: DateRange
    requested: str
    method: str | None
    status: str
    cursor: dict[str, Any] | None
    notes: list[str]
    error: str | None
    started_at: str
    finished_at: str | None
    pages: int
    requests: int
    found: int
    new: int
    relevant: int
    reached: str | None


_COLUMNS = ("id, source, since, until, requested, method, status, cursor, notes, error, started_at, finished_at,"
            " pages, requests, items_found, items_new, items_relevant, reached")


def _run(row: tuple) -> Run:
    return Run(id=row[0], source=row[1], rng=DateRange(date.fromisoformat(row[2]), date.fromisoformat(row[3])),
               requested=row[4], method=row[5], status=row[6], cursor=json.loads(row[7]) if row[7] else None,
               notes=json.loads(row[8] or "[]"), error=row[9], started_at=row[10], finished_at=row[11],
               pages=row[12], requests=row[13], found=row[14], new=row[15], relevant=row[16], reached=row[17])


def ensure_source(db: sqlite_utils.Database, source: Source) -> None:
    """A source backfilled before it was ever polled still needs its row (items refer to it)."""
    with store.write(db):
        db.execute("INSERT OR IGNORE INTO sources (name, url, enabled) VALUES (?, ?, ?)",
                   [source.name, source.url, int(source.enabled)])


def covering(db: sqlite_utils.Database, source: str, rng: DateRange) -> Run | None:
    """A complete run whose range holds all of `rng`: backfilling it again would add nothing."""
    for row in db.execute(f"SELECT {_COLUMNS} FROM backfill_runs WHERE source = ? AND status = 'complete'"
                          " AND since <= ? AND until >= ? ORDER BY id DESC LIMIT 1",
                          [source, rng.since.isoformat(), rng.until.isoformat()]):
        return _run(row)
    return None


def unfinished(db: sqlite_utils.Database, source: str, rng: DateRange) -> Run | None:
    """The latest run of exactly this range that stopped partway (or was killed while `running`: the
    store lock says no other backfill is alive), to be resumed from its cursor."""
    for row in db.execute(f"SELECT {_COLUMNS} FROM backfill_runs WHERE source = ? AND since = ? AND until = ?"
                          " AND status IN ('running', 'partial', 'failed') AND cursor IS NOT NULL"
                          " ORDER BY id DESC LIMIT 1",
                          [source, rng.since.isoformat(), rng.until.isoformat()]):
        return _run(row)
    return None


def start(db: sqlite_utils.Database, source: str, rng: DateRange, requested: str, now: datetime) -> int:
    with store.write(db):
        cur = db.execute("INSERT INTO backfill_runs (source, since, until, requested, status, started_at)"
                         " VALUES (?, ?, ?, ?, 'running', ?)",
                         [source, rng.since.isoformat(), rng.until.isoformat(), requested, store.iso(now)])
        return int(cur.lastrowid)


def resume(db: sqlite_utils.Database, run_id: int) -> None:
    with store.write(db):
        db.execute("UPDATE backfill_runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ?",
                   [run_id])


def choose(db: sqlite_utils.Database, run_id: int, method: str, notes: list[str], cursor: dict[str, Any]) -> None:
    """Record the method (auto: the one chosen, and why each earlier one was skipped)."""
    with store.write(db):
        db.execute("UPDATE backfill_runs SET method = ?, notes = ?, cursor = ? WHERE id = ?",
                   [method, store.dumps(notes), store.dumps(cursor), run_id])


def store_page(db: sqlite_utils.Database, run_id: int, source: Source, entries: list[PreparedEntry], *,
               cursor: dict[str, Any], requests: int, found: int, reached: datetime | None,
               deduper: Deduper, now: datetime) -> list[str]:
    """Store one page's entries (the poll's own path, marked origin=backfill) and the cursor past it,
    in one transaction. Returns what happened to each entry (new, updated, seen, repeat)."""
    with store.write(db):
        kinds = store_entries(db, source, entries, deduper=deduper, now=now, origin="backfill")
        new = kinds.count("new")
        relevant = sum(1 for k, e in zip(kinds, entries) if k == "new" and e.match.relevant)
        db.execute(
            "UPDATE backfill_runs SET cursor = ?, pages = pages + 1, requests = ?, items_found = items_found + ?,"
            " items_new = items_new + ?, items_relevant = items_relevant + ?,"
            " reached = CASE WHEN ? IS NOT NULL AND (reached IS NULL OR ? < reached) THEN ? ELSE reached END"
            " WHERE id = ?",
            [store.dumps(cursor), requests, found, new, relevant, *[store.iso(reached)] * 3, run_id])
    return kinds


def finish(db: sqlite_utils.Database, run_id: int, status: str, now: datetime, *, error: str | None = None,
           requests: int | None = None) -> None:
    """complete (the cursor is dropped: nothing to resume), partial or failed (the cursor stays)."""
    with store.write(db):
        db.execute("UPDATE backfill_runs SET status = ?, error = ?, finished_at = ?,"
                   " requests = COALESCE(?, requests),"
                   " cursor = CASE WHEN ? = 'complete' THEN NULL ELSE cursor END WHERE id = ?",
                   [status, error, store.iso(now), requests, status, run_id])


def get(db: sqlite_utils.Database, run_id: int) -> Run:
    return _run(db.execute(f"SELECT {_COLUMNS} FROM backfill_runs WHERE id = ?", [run_id]).fetchone())


def runs(db: sqlite_utils.Database, sources: list[str]) -> list[Run]:
    marks = ",".join("?" for _ in sources)
    return [_run(r) for r in db.execute(f"SELECT {_COLUMNS} FROM backfill_runs WHERE source IN ({marks})"
                                        " ORDER BY source, since, id", sources)]


def day_counts(db: sqlite_utils.Database, sources: list[str], rng: DateRange) -> dict[tuple[str, date], int]:
    """Stored items per source and UTC publication day, polled or backfilled."""
    marks = ",".join("?" for _ in sources)
    out: dict[tuple[str, date], int] = {}
    for source, day, n in db.execute(
            f"SELECT source, substr(published, 1, 10), count(*) FROM items WHERE source IN ({marks})"
            " AND published >= ? AND published < ? GROUP BY 1, 2",
            [*sources, rng.start.isoformat(), rng.end.isoformat()]):
        out[(source, date.fromisoformat(day))] = n
    return out


def last_backfilled(db: sqlite_utils.Database) -> dict[str, tuple[str, str, str, str]]:
    """Per source, its latest run: (started_at or finished_at, status, since, until)."""
    out = {}
    for source, started, finished, status, since, until in db.execute(
            "SELECT source, started_at, finished_at, status, since, until FROM backfill_runs"
            " WHERE id IN (SELECT max(id) FROM backfill_runs GROUP BY source)"):
        out[source] = (finished or started, status, since, until)
    return out
