"""The backfill coverage ledger (`backfill_runs`): every run of `watcher backfill`, what it covered,
and where a stopped one resumes. watcher/backfill/ledger.py stores a page's items and `page_done`
in one transaction, so a killed run never has one without the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from ..backfill.plan import DateRange
from ..config import Source
from ..times import iso
from .db import dumps, write


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
    with write(db):
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
    with write(db):
        cur = db.execute("INSERT INTO backfill_runs (source, since, until, requested, status, started_at)"
                         " VALUES (?, ?, ?, ?, 'running', ?)",
                         [source, rng.since.isoformat(), rng.until.isoformat(), requested, iso(now)])
        assert cur.lastrowid is not None  # an INSERT always sets it
        return cur.lastrowid


def resume(db: sqlite_utils.Database, run_id: int) -> None:
    with write(db):
        db.execute("UPDATE backfill_runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ?",
                   [run_id])


def choose(db: sqlite_utils.Database, run_id: int, method: str, notes: list[str], cursor: dict[str, Any]) -> None:
    """Record the method (auto: the one chosen, and why each earlier one was skipped)."""
    with write(db):
        db.execute("UPDATE backfill_runs SET method = ?, notes = ?, cursor = ? WHERE id = ?",
                   [method, dumps(notes), dumps(cursor), run_id])


def page_done(db: sqlite_utils.Database, run_id: int, *, cursor: dict[str, Any], requests: int, found: int,
              new: int, relevant: int, reached: datetime | None) -> None:
    """One more page stored: the cursor past it and the counts (inside the transaction that stored its items)."""
    with write(db):
        db.execute(
            "UPDATE backfill_runs SET cursor = ?, pages = pages + 1, requests = ?, items_found = items_found + ?,"
            " items_new = items_new + ?, items_relevant = items_relevant + ?,"
            " reached = CASE WHEN ? IS NOT NULL AND (reached IS NULL OR ? < reached) THEN ? ELSE reached END"
            " WHERE id = ?",
            [dumps(cursor), requests, found, new, relevant, *[iso(reached)] * 3, run_id])


def finish(db: sqlite_utils.Database, run_id: int, status: str, now: datetime, *, error: str | None = None,
           requests: int | None = None) -> None:
    """complete (the cursor is dropped: nothing to resume), partial or failed (the cursor stays)."""
    with write(db):
        db.execute("UPDATE backfill_runs SET status = ?, error = ?, finished_at = ?,"
                   " requests = COALESCE(?, requests),"
                   " cursor = CASE WHEN ? = 'complete' THEN NULL ELSE cursor END WHERE id = ?",
                   [status, error, iso(now), requests, status, run_id])


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
