"""The store: schema by migrations, WAL, and write transactions that take the lock up front."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time

import pytest

from watcher import store


def test_schema_is_applied_once_and_the_store_is_in_wal_mode(tmp_path):
    db = store.connect(tmp_path / "w.db")
    applied = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert applied[0] == "m001_initial" and len(applied) == len(store.migrations._migrations)
    db2 = store.connect(tmp_path / "w.db")  # a second open applies nothing again
    assert [r[0] for r in db2.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")] == applied
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"sources", "fetches", "items", "item_versions"} <= set(db.table_names())


def _read_then_write(path: str, worker: int, n: int, start) -> None:
    db = store.connect(path)
    start.wait()
    for i in range(n):
        # Read, then write: as a deferred transaction this fails with "database is locked" when the
        # other process wrote in between; BEGIN IMMEDIATE waits for the lock instead.
        with store.write(db):
            count = db.execute("SELECT count(*) FROM sources").fetchone()[0]
            db.execute("INSERT INTO sources (name, url) VALUES (?, ?)", [f"w{worker}-{i}-{count}", "http://x/"])


def test_two_processes_writing_at_once_both_succeed(tmp_path):
    path = str(tmp_path / "w.db")
    # Closed before forking: an open connection left for the garbage collector could be finalised
    # in a child, whose close then removed the WAL under the other child ("disk I/O error").
    store.connect(path).conn.close()
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_read_then_write, args=(path, w, 150, start)) for w in range(2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert store.connect(path).execute("SELECT count(*) FROM sources").fetchone()[0] == 300


def _open_and_write(path: str, worker: int, start) -> None:
    start.wait()
    db = store.connect(path)
    with store.write(db):
        db.execute("INSERT INTO sources (name, url) VALUES (?, ?)", [f"w{worker}", "http://x/"])


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    # A cron poll and an analyst's first `watcher review` on a fresh state folder: whoever comes second
    # must wait for the first to create the file, not fail with "database is locked".
    for attempt in range(5):  # the race is narrow; several fresh files make it likely to be hit
        path = str(tmp_path / f"w{attempt}.db")
        ctx = multiprocessing.get_context("fork")
        start = ctx.Event()
        procs = [ctx.Process(target=_open_and_write, args=(path, w, start)) for w in range(4)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        assert store.connect(path).execute("SELECT count(*) FROM sources").fetchone()[0] == 4


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    db = store.connect(tmp_path / "w.db")
    with pytest.raises(ZeroDivisionError):
        with store.write(db):
            db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://x/')")
            1 / 0
    assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == 0
    assert not db.conn.in_transaction


def _slow_commits(monkeypatch: pytest.MonkeyPatch, db, seconds: float) -> None:
    """Make this connection's COMMIT take `seconds` (as a slow disk does), in whichever thread runs it."""
    execute = db.conn.execute

    def slow(sql, *args):
        if sql == "COMMIT":
            time.sleep(seconds)
        return execute(sql, *args)
    monkeypatch.setattr(db.conn, "execute", slow)


def _count(path) -> int:
    return sqlite3.connect(path).execute("SELECT count(*) FROM sources").fetchone()[0]


def test_an_async_write_commits_without_holding_the_event_loop(tmp_path, monkeypatch):
    # A poll's commit used to stop its fetching and starve the parser workers while SQLite waited
    # for the disk (store/db.py write_async).
    db = store.connect(tmp_path / "w.db")
    _slow_commits(monkeypatch, db, 0.5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def go() -> None:
        t = asyncio.create_task(ticker())
        async with store.write_async(db):
            db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://x/')")
        t.cancel()

    asyncio.run(go())
    assert _count(tmp_path / "w.db") == 1 and not db.conn.in_transaction
    assert ticks >= 10, f"the loop ran {ticks} times during a 0.5 s commit"


def test_an_async_write_that_fails_leaves_nothing_behind(tmp_path):
    db = store.connect(tmp_path / "w.db")

    async def go() -> None:
        async with store.write_async(db):
            db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://x/')")
            1 / 0

    with pytest.raises(ZeroDivisionError):
        asyncio.run(go())
    assert _count(tmp_path / "w.db") == 0 and not db.conn.in_transaction


def test_an_async_write_cancelled_during_its_commit_is_committed_whole(tmp_path, monkeypatch):
    db = store.connect(tmp_path / "w.db")
    _slow_commits(monkeypatch, db, 0.3)
    committing = asyncio.Event()

    async def write() -> None:
        async with store.write_async(db):
            db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://x/')")
            db.execute("INSERT INTO sources (name, url) VALUES ('b', 'http://y/')")
            committing.set()

    async def go() -> None:
        task = asyncio.create_task(write())
        await committing.wait()
        await asyncio.sleep(0.05)  # the commit is under way in its thread
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert _count(tmp_path / "w.db") == 2 and not db.conn.in_transaction


def test_an_unwritable_state_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(store.StoreError) as e:
        store.connect(blocker / "watcher.db")
    assert "state" in str(e.value)


def test_deferred_transactions_would_fail_where_immediate_ones_wait(tmp_path):
    """Why write() begins IMMEDIATE: the failure it prevents, shown with plain sqlite3."""
    path = tmp_path / "w.db"
    store.connect(path)
    a = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    b = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    a.execute("BEGIN")  # deferred
    a.execute("SELECT count(*) FROM sources").fetchone()
    b.execute("INSERT INTO sources (name, url) VALUES ('b', 'http://x/')")  # another writer commits
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        a.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://x/')")
    a.execute("ROLLBACK")
