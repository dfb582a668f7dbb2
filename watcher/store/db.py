"""Connections and transactions.

Every write goes through `write()`, which begins IMMEDIATE: a deferred transaction that reads and
then writes fails with "database is locked" when another process wrote in between, while IMMEDIATE
takes the write lock up front and waits (busy_timeout) for it instead. Inside a transaction,
`write()` is a savepoint, so one source of a batch is still stored all or nothing. `dry_run=True`
runs the same statements and rolls them back: what a change would do is computed by the code that
does it.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from ..errors import StoreError
from .schema import migrations

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024

__all__ = ["connect", "write", "dumps", "loads_list", "BUSY_TIMEOUT_MS"]


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the store, in WAL mode, with every migration applied."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves, so the write lock is taken when we say.
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # A poll's transaction touches index pages all over the store (LSH keys are random). With the
        # default 2 MB cache SQLite spills dirty pages to the WAL mid-transaction, and then writes the
        # same page again at the next spill. Memory is only taken as the cache fills.
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    except (OSError, sqlite3.Error) as e:
        raise StoreError(f"cannot open the store {path}: {e}; check the `state:` folder is writable") from e
    db = sqlite_utils.Database(conn)
    try:
        if migrations.pending(db):
            # Inside one IMMEDIATE transaction, so two processes starting at once do not both migrate.
            with write(db):
                migrations.apply(db)
    except sqlite3.OperationalError as e:
        raise StoreError(f"cannot prepare the store {path}: {e}") from e
    return db


def _set_wal(conn: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs an exclusive lock and SQLite does not wait for it (no busy
    # handler): a second process opening a store that is being created got "database is locked" at
    # once. Once the file is in WAL mode the pragma is a no-op, so this only ever waits at creation.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_savepoints = itertools.count()


@contextmanager
def write(db: sqlite_utils.Database, *, dry_run: bool = False) -> Iterator[sqlite_utils.Database]:
    """One write transaction that holds the lock from its first statement (BEGIN IMMEDIATE); inside
    another, a savepoint. dry_run: everything done inside is rolled back at the end."""
    conn = db.conn
    if conn.in_transaction:
        name = f"w{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        if dry_run:
            conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        raise StoreError(f"the store is busy ({e}); another watcher process is writing, try again") from e
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("ROLLBACK" if dry_run else "COMMIT")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_list(text: str | None) -> list:
    """A JSON list column; NULL or empty is an empty list."""
    return json.loads(text) if text else []
