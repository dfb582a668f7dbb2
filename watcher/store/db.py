"""Connections and transactions.

A file becomes a connection in one place (`connect` for commands that write, `connect_readonly` for
those that only read), and SQLite's errors about the file itself (damaged, read-only, disk full) become
one `StoreError` naming the file there, on every statement: see `StoreConnection`.

Every write goes through `write()`, which begins IMMEDIATE: a deferred transaction that reads and
then writes fails with "database is locked" when another process wrote in between, while IMMEDIATE
takes the write lock up front and waits (busy_timeout) for it instead. Inside a transaction,
`write()` is a savepoint, so one source of a batch is still stored all or nothing. `dry_run=True`
runs the same statements and rolls them back: what a change would do is computed by the code that
does it. `write_async()` is the same transaction for a coroutine (the poll's writer), with its COMMIT
run in a thread so the event loop goes on while SQLite waits for the disk.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shlex
import sqlite3
import tempfile
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator
from urllib.parse import quote

import sqlite_utils

from ..errors import StoreDamagedError, StoreError, StoreReadOnlyError
from .schema import migrations

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database

__all__ = ["connect", "connect_readonly", "verify", "write", "dumps", "loads_list", "BUSY_TIMEOUT_MS",
           "StoreConnection", "store_error", "damaged", "recover_hint"]


def connect(path: Path) -> sqlite_utils.Database:
    """Open the store for a command that writes: created if missing, every migration applied.

    Refused with one StoreError when the file is not a store (empty, not SQLite, damaged header) or
    when this user may not write it, before anything is written.
    """
    path = Path(path)
    if not path.exists():
        _create(path)
    _check_file(path)
    _check_writable(path)
    db = sqlite_utils.Database(_open(path, str(path), readonly=False))
    try:
        if migrations.pending(db):
            # Inside one IMMEDIATE transaction, so two processes upgrading at once do not both migrate.
            with write(db):
                migrations.apply(db)
    except sqlite3.OperationalError as e:
        raise StoreError(f"cannot prepare the store {path}: {e}") from e
    return db


def connect_readonly(path: Path) -> sqlite_utils.Database:
    """Open the store for a command that only reads: no migration, no lock, no write to the file.

    So a backup, a store in a read-only folder or on a read-only mount can be inspected, and reading
    never changes the file. A missing store reads as an empty one (nothing is created).
    """
    path = Path(path)
    if not path.exists():
        return _empty_store(path)
    _check_file(path)
    try:
        conn = _open(path, f"file:{quote(str(path.absolute()))}?mode=ro", readonly=True)
    except StoreError as e:
        # A WAL reader needs the -shm file beside the store, and creates it if it is missing. In a
        # read-only folder it cannot; SQLite then reads the file as it stands ("immutable"), which is
        # only right when no -wal file holds changes not yet merged into it.
        code = getattr(e.__cause__, "sqlite_errorcode", 0) & 0xFF
        if code not in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
            raise
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreReadOnlyError(
                f"cannot read the store {path}: {wal.name} beside it holds changes not yet merged into it, and "
                f"SQLite must create {path.name}-shm to read them, which the read-only folder {path.parent} "
                f"forbids; copy the whole folder somewhere writable and read the copy") from e
        conn = _open(path, f"file:{quote(str(path.absolute()))}?mode=ro&immutable=1", readonly=True)
        conn.unlocked_stat = _stat_key(path)
    db = sqlite_utils.Database(conn)
    if migrations.pending(db):
        if not db.table_names():  # a valid SQLite file with nothing in it yet: as good as no store
            conn.close()
            return _empty_store(path)
        conn.close()
        # An upgrade of watcher must not leave `status` refusing until someone polls: where the user may
        # write the store, bring it up to date (one IMMEDIATE transaction, safe beside a running poll),
        # then read it as usual. Only a store that cannot be written (a backup on a read-only mount) is refused.
        try:
            _check_writable(path)
        except StoreError:
            pass
        else:
            connect(path).conn.close()
            return connect_readonly(path)
        raise StoreError(f"the store {path} was made by an older watcher and must be upgraded before it can "
                         f"be read; run any watcher command that writes (e.g. `watcher poll`) where it is writable")
    return db


def verify(db: sqlite_utils.Database) -> None:
    """Check every page of the store (PRAGMA quick_check); raise StoreDamagedError if any is damaged.

    Damage is otherwise only seen when a command reads the damaged page, and a poll would write on top
    of it. This reads the whole file: about 0.5 s for a 370 MB store when it is in the page cache, 10 s
    from a cold, slow disk. So it runs where that is small beside the command's own work or where a
    person asks how the store is: `poll`, `run` (once, at start), `status`, `export`, `digest`, `rematch`,
    `dedup --recheck`, `backfill`, `fulltext`. It finds damage to the structure; SQLite keeps no checksum of the data itself, so
    bytes changed inside a row's text are found only when they are not valid UTF-8.
    """
    rows = db.execute("PRAGMA quick_check").fetchall()
    if rows != [("ok",)]:
        first = str(rows[0][0]).replace("*** in database main ***", "").strip().splitlines()[0]
        raise damaged(getattr(db.conn, "path", Path("?")), first)


# --- the boundary: a file becomes a connection here, and SQLite's errors about the file become StoreError.


class StoreConnection(sqlite3.Connection):
    """A connection that reports a damaged, read-only or full store as one StoreError naming the file.

    SQLite only notices damage when it reads the damaged page, which can be anywhere in any query, so
    the translation sits on every statement and every fetch. Errors that are not about the file
    (a busy store, a constraint, bad SQL) pass through unchanged: they have their own handling, or
    they are bugs.
    """

    path: Path = Path("?")
    readonly: bool = False
    unlocked_stat: tuple[int, int] | None = None  # read without locks (immutable): the file as opened

    def cursor(self, factory: type[sqlite3.Cursor] | None = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _Cursor)

    # _Cursor(self), not self.cursor(): one Python call less on every statement (about 0.7 us of the
    # 2-3 us this boundary adds to a 13 us point query). cursor() would also pass on row_factory.
    def execute(self, *args: Any) -> sqlite3.Cursor:
        cur = _Cursor(self)
        cur.row_factory = self.row_factory
        return cur.execute(*args)

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        cur = _Cursor(self)
        cur.row_factory = self.row_factory
        return cur.executemany(*args)

    def executescript(self, *args: Any) -> sqlite3.Cursor:
        cur = _Cursor(self)
        cur.row_factory = self.row_factory
        return cur.executescript(*args)


class _Cursor(sqlite3.Cursor):
    def _fail(self, e: sqlite3.DatabaseError) -> None:
        err = store_error(self.connection, e)
        if err is not None:
            raise err from e

    def execute(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(*args)
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def executemany(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().executemany(*args)
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def executescript(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executescript(*args)
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def fetchmany(self, *args: Any) -> list:
        try:
            return super().fetchmany(*args)
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def fetchall(self) -> list:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise


def recover_hint(path: Path) -> str:
    # `.recover` needs an sqlite3 built with the sqlite_dbpage table, as sqlite.org's builds are; Debian's
    # and Ubuntu's are not (they print "SQL logic error" and a partial dump), hence the note.
    fixed = path.with_name("recovered.db")
    return (f"stop watcher and restore {path.name} from a backup, or rescue what it holds with `sqlite3 "
            f"{shlex.quote(str(path))} .recover | sqlite3 {shlex.quote(str(fixed))}` (an sqlite3 with .recover, "
            f"as sqlite.org builds are) and put {fixed.name} in place of {path.name}, keeping the damaged file")


def damaged(path: Path, detail: str) -> StoreDamagedError:
    return StoreDamagedError(f"the store {path} is damaged ({detail}): {recover_hint(path)}")


def store_error(conn: sqlite3.Connection, e: sqlite3.DatabaseError) -> StoreError | None:
    """The StoreError for an SQLite error about the file itself, or None for any other error."""
    path = getattr(conn, "path", Path("?"))
    code = getattr(e, "sqlite_errorcode", None)
    if code is None:
        # Raised by Python's sqlite3, not SQLite: every text watcher stores is valid UTF-8, so bytes that
        # are not are damage that SQLite cannot see (it keeps no checksum of the text in a page).
        if str(e).startswith("Could not decode to UTF-8"):
            return damaged(path, str(e).split(" with text ")[0])
        return None
    primary = code & 0xFF
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        opened = getattr(conn, "unlocked_stat", None)
        if opened is not None and _stat_key(path) != opened:
            return StoreError(f"the store {path} changed while it was being read without locks (its folder is "
                              f"read-only, so SQLite cannot coordinate with the writer); run the command again")
        return damaged(path, str(e))
    if primary == sqlite3.SQLITE_READONLY:
        return _read_only(path, _why_read_only(path) or str(e))
    if primary == sqlite3.SQLITE_FULL:
        return StoreError(f"no space left to write the store {path} ({e}); the failed change was not kept: free "
                          f"some space on that disk and run the command again")
    if primary == sqlite3.SQLITE_IOERR:
        return StoreError(f"the disk failed reading or writing the store {path} ({e}); check the disk, then run "
                          f"`sqlite3 {shlex.quote(str(path))} 'PRAGMA quick_check'`: if it reports damage, "
                          f"{recover_hint(path)}")
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"cannot open the store {path} ({e}); check that this user may read and write "
                          f"{path.parent}")
    return None


def _open(path: Path, target: str, *, readonly: bool) -> StoreConnection:
    """A configured connection to `target` (a path, or a file: URI), its first read done."""
    try:
        # isolation_level=None: we issue BEGIN ourselves, so the write lock is taken when we say.
        conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False, uri=target.startswith("file:"), factory=StoreConnection)
    except sqlite3.Error as e:
        raise StoreError(f"cannot open the store {path}: {e}; check that this user may read {path.parent}") from e
    conn.path, conn.readonly = path, readonly
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # The first real read, before anything is written: a damaged header or schema page is found
        # here rather than mid-command, and another program's database is left as it was.
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if tables and migrations.migrations_table not in tables:
            raise StoreDamagedError(
                f"{path} is an SQLite database but not a watcher store (it holds "
                f"{', '.join(sorted(tables)[:5])}): check `state:` in the config points at watcher's own folder")
        if not readonly:
            _set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        # A poll's transaction touches index pages all over the store (LSH keys are random). With the
        # default 2 MB cache SQLite spills dirty pages to the WAL mid-transaction, and then writes the
        # same page again at the next spill. Memory is only taken as the cache fills.
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    except BaseException:
        conn.close()
        raise
    return conn


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


def _empty_store(path: Path) -> sqlite_utils.Database:
    """An empty store in memory, for reading commands before the first poll has made the file."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False, factory=StoreConnection)
    conn.path = path
    db = sqlite_utils.Database(conn)
    migrations.apply(db)
    conn.readonly = True
    conn.execute("PRAGMA query_only = 1")
    return db


def _create(path: Path) -> None:
    """Make a new, complete store at `path`, atomically.

    It is built under a temporary name and linked into place, so `path` never exists half-made: a
    0-byte or headerless file there is always damage (a crash, a full disk), never a store being born.
    Two processes creating it at once both build one; the first link wins and the other is dropped.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
        os.close(fd)
    except OSError as e:
        why = _why_read_only(path.parent) or e.strerror
        raise StoreReadOnlyError(f"cannot create the store {path}: {why}; check that this user may write "
                                 f"{path.parent} (`state:` in the config)") from e
    tmp = Path(name)
    try:
        conn = _open(path, name, readonly=False)
        try:
            db = sqlite_utils.Database(conn)
            with write(db):
                migrations.apply(db)
        finally:
            conn.close()  # merges the WAL into the file and removes it: the file is complete alone
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError:  # a file system without hard links: rename, unless someone made it meanwhile
            if not path.exists():
                os.rename(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _check_file(path: Path) -> None:
    """Refuse what is not a store before SQLite sees it: SQLite takes a 0-byte file for a new database
    and would silently start afresh over a store that a crash or a full disk cut to nothing."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as e:
        raise StoreError(f"cannot read the store {path}: {e.strerror}; check that this user may read it") from e
    if size == 0:
        raise StoreDamagedError(
            f"the store {path} is empty (0 bytes), not a store: a crash or a full disk probably cut it short. "
            f"Restore {path.name} from a backup, or delete it to start a new, empty store")
    if not head.startswith(SQLITE_MAGIC):
        raise StoreDamagedError(
            f"{path} is not an SQLite database (it begins {head[:16]!r}), so not a watcher store: check `state:` "
            f"in the config points at watcher's own folder, then restore {path.name} from a backup, or move it "
            f"aside to start a new, empty store")
    if len(head) < 100:
        raise damaged(path, f"cut short: {size} bytes, less than an SQLite header")


def _check_writable(path: Path) -> None:
    why = _why_read_only(path)
    if why:
        raise _read_only(path, why)


def _why_read_only(path: Path) -> str | None:
    """Why this user cannot write the store (or its folder, which SQLite needs for -wal and -shm)."""
    folder = path if path.is_dir() else path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except OSError:
        pass
    if path.exists() and not path.is_dir() and not os.access(path, os.W_OK):
        return "this user may not write the file"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"this user may not write its folder {folder}"
    return None


def _read_only(path: Path, why: str) -> StoreReadOnlyError:
    return StoreReadOnlyError(
        f"the store {path} is read-only ({why}) and this command writes to it; run it as a user who may write "
        f"{path.parent}. Commands that only read work on a read-only store: status, show, export, review "
        f"list, digest --dry-run")


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


_savepoints = itertools.count()


@contextmanager
def write(db: sqlite_utils.Database, *, dry_run: bool = False, savepoint: bool = True
          ) -> Iterator[sqlite_utils.Database]:
    """One write transaction that holds the lock from its first statement (BEGIN IMMEDIATE); inside
    another, a savepoint, or with savepoint=False simply the caller's transaction (for a caller whose
    error ends the outer transaction anyway: a savepoint copies every page it first changes to a
    sub-journal). dry_run: everything done inside is rolled back at the end.

    On a store opened read-only it is a plain read transaction (one consistent snapshot), so code that
    would write only when asked (`digest --dry-run`) reads a read-only store; a write inside it is then
    refused with StoreReadOnlyError.
    """
    conn = db.conn
    if conn.in_transaction and not savepoint and not dry_run:
        yield db
        return
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
    with _begun(conn):
        yield db
    conn.execute("ROLLBACK" if dry_run else "COMMIT")


@contextmanager
def _begun(conn: sqlite3.Connection) -> Iterator[None]:
    """A new transaction around the body, rolled back if the body raises; the caller ends it otherwise.
    On a writable store it begins IMMEDIATE (see the module docstring)."""
    try:
        conn.execute("BEGIN" if getattr(conn, "readonly", False) else "BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        raise StoreError(f"the store is busy ({e}); another watcher process is writing, try again") from e
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@asynccontextmanager
async def write_async(db: sqlite_utils.Database) -> AsyncIterator[sqlite_utils.Database]:
    """write() for a coroutine: the same transaction, but the COMMIT runs in a thread while the event
    loop goes on.

    A commit waits for the disk, and after most poll transactions SQLite also checkpoints the WAL into
    the store: the 10 commits of a 1,000-feed cold poll held the loop for 2 s in all (bench/poll.py's
    workload, each statement timed in a scratch run). With the loop held, nothing is fetched and no
    feed goes to the parser workers, which run dry within a few feeds and leave their cores idle. sqlite3 releases the GIL while SQLite works, and the
    connection serialises any statement another coroutine issues meanwhile (it waits for the commit).
    """
    conn = db.conn
    if conn.in_transaction or getattr(conn, "readonly", False):
        with write(db) as same:  # nested, or a read-only store: write() decides, nothing to commit here
            yield same
        return
    with _begun(conn):
        yield db
    # Shielded: once started, the commit finishes even if the poll is cancelled meanwhile, and the
    # cancellation is seen after it, never with the transaction half-way.
    commit = asyncio.ensure_future(asyncio.to_thread(conn.execute, "COMMIT"))
    try:
        await asyncio.shield(commit)
    except asyncio.CancelledError:
        await asyncio.wait([commit])
        raise


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_list(text: str | None) -> list:
    """A JSON list column; NULL or empty is an empty list."""
    return json.loads(text) if text else []
