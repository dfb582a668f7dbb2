"""The SQLite store: schema, connections, and the write path.

The schema is one SQL string per migration step, applied by sqlite-utils' `Migrations`; later steps
are appended, never edited. Every write goes through `write()`, which begins IMMEDIATE: a deferred
transaction that reads and then writes fails with "database is locked" when another process wrote in
between, while IMMEDIATE takes the write lock up front and waits (busy_timeout) for it instead.

A file becomes a connection in one place (`connect` for commands that write, `connect_readonly` for
those that only read), and SQLite's errors about the file itself (damaged, read-only, disk full) become
one `StoreError` naming the file there, on every statement: see `StoreConnection`.

Times are stored as ISO 8601 UTC text ("2026-11-21T05:20:00+00:00") so that `datasette` and plain
`ORDER BY` both read them correctly.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import sqlite_utils
from sqlite_utils import Migrations

from .errors import StoreDamagedError, StoreError, StoreReadOnlyError

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database

migrations = Migrations("watcher")

SCHEMA_V1 = """
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    etag TEXT,
    last_modified TEXT,
    last_attempt TEXT,
    last_success TEXT,
    next_check TEXT,              -- when the scheduler polls it next (interval, backoff, Retry-After)
    hold_until TEXT,              -- backoff or Retry-After: even a manual poll waits until then
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failure_weight REAL NOT NULL DEFAULT 0,  -- failures weighed by kind; drives the backoff
    last_error TEXT,
    last_error_kind TEXT,
    permanent_redirect TEXT,      -- a 301/308 target: update sources.yaml to it
    disabled_reason TEXT,         -- set on 410 Gone; cleared when the url changes
    feed_title TEXT
);

CREATE TABLE fetches (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(name),
    started_at TEXT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,               -- HTTP status, NULL when no response came
    bytes INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,        -- ok | not_modified | a model.FailureKind value
    error TEXT,
    parser TEXT,
    parse_problem TEXT,           -- what a lenient parse recovered from
    entries INTEGER NOT NULL DEFAULT 0,
    new_items INTEGER NOT NULL DEFAULT 0,
    updated_items INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX fetches_source_started ON fetches(source, started_at);

CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(name),
    guid TEXT NOT NULL,
    guid_kind TEXT NOT NULL,      -- guid | link | hash: where the identity came from
    link TEXT,
    canonical_link TEXT,          -- tracking parameters, m./amp. hosts and fragments removed
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    summary_html TEXT NOT NULL DEFAULT '',
    author TEXT,
    language TEXT,
    published TEXT NOT NULL,
    published_is_fetch_time INTEGER NOT NULL DEFAULT 0,  -- the feed gave no date
    fetched_at TEXT NOT NULL,     -- first stored
    last_seen TEXT NOT NULL,
    updated_at TEXT,              -- last edit in place
    version INTEGER NOT NULL DEFAULT 1,
    content_hash TEXT NOT NULL,
    relevant INTEGER NOT NULL DEFAULT 0,
    score REAL NOT NULL DEFAULT 0,
    topics TEXT NOT NULL DEFAULT '[]',    -- JSON list
    keywords TEXT NOT NULL DEFAULT '[]',  -- JSON list
    hits TEXT NOT NULL DEFAULT '[]',      -- JSON list of {topic, term, field, start, end, weight}
    duplicate_of TEXT,            -- NULL | seed:<file> | item:<id>
    dup_method TEXT,              -- guid | link | containment | resemblance | crosslingual
    dup_score REAL,
    dup_possible INTEGER NOT NULL DEFAULT 0,
    review_status TEXT,           -- NULL for items not queued; new | accepted | rejected | later
    UNIQUE (source, guid)
);
CREATE INDEX items_published ON items(published);
CREATE INDEX items_fetched_at ON items(fetched_at);
CREATE INDEX items_canonical_link ON items(canonical_link);
CREATE INDEX items_review ON items(review_status);

CREATE TABLE item_versions (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    link TEXT,
    replaced_at TEXT NOT NULL     -- when a newer version came in
);
CREATE INDEX item_versions_item ON item_versions(item_id);
"""


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    _exec(db, SCHEMA_V1)


def _exec(db: sqlite_utils.Database, sql: str) -> None:
    # executescript() would COMMIT the migration's transaction; run statement by statement instead.
    for stmt in _split(sql):
        db.execute(stmt)


def _split(sql: str) -> list[str]:
    out, buf = [], []
    for line in sql.splitlines():
        code = line.split("--", 1)[0]
        buf.append(code)
        if code.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if stmt.strip(";").strip():
                out.append(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


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
        raise damaged(db.conn.path, first)


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

    def cursor(self, factory: type[sqlite3.Cursor] | None = None) -> sqlite3.Cursor:
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

    def execute(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args)
        except sqlite3.DatabaseError as e:
            self._fail(e)
            raise

    def executemany(self, *args: Any) -> sqlite3.Cursor:
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


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction that holds the lock from its first statement (BEGIN IMMEDIATE).

    On a store opened read-only it is a plain read transaction (one consistent snapshot), so code that
    would write only when asked (`digest --dry-run`) reads a read-only store; a write inside it is then
    refused with StoreReadOnlyError.
    """
    conn = db.conn
    if conn.in_transaction:  # nested: a savepoint inside the outer IMMEDIATE transaction
        with db.atomic():
            yield db
        return
    try:
        conn.execute("BEGIN" if getattr(conn, "readonly", False) else "BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        raise StoreError(f"the store is busy ({e}); another watcher process is writing, try again") from e
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@migrations()
def m010_digests_reviews(db: sqlite_utils.Database) -> None:
    # digests: one row per local date built; its header (counts, failed sources) is frozen here so that
    # rebuilding a date reproduces it. digest_items.item_id is UNIQUE: an item is in exactly one digest.
    # reviews: every review decision, oldest first; items.review_status holds the latest.
    _exec(db, """
CREATE TABLE digests (
    date TEXT PRIMARY KEY,        -- YYYY-MM-DD, local date in digest.timezone
    built_at TEXT NOT NULL,       -- UTC; failures after the previous digest's built_at are reported
    cutoff TEXT NOT NULL,         -- UTC end of that local day (or build time if earlier)
    timezone TEXT NOT NULL,
    item_count INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',  -- JSON list of {source, kind, error, count, last}
    sent_at TEXT                  -- when --send last mailed it
);

CREATE TABLE digest_items (
    item_id INTEGER NOT NULL UNIQUE REFERENCES items(id),
    digest_date TEXT NOT NULL REFERENCES digests(date),
    topic TEXT NOT NULL           -- the group it is shown under
);
CREATE INDEX digest_items_date ON digest_items(digest_date);

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    status TEXT NOT NULL,         -- new | accepted | rejected | later
    previous TEXT,                -- review_status before this decision
    who TEXT NOT NULL,
    at TEXT NOT NULL,             -- UTC
    note TEXT,
    origin TEXT NOT NULL DEFAULT 'cli'  -- cli | import:<file name>
);
CREATE INDEX reviews_item ON reviews(item_id);
""")


@migrations()
def m020_dedup_index(db: sqlite_utils.Database) -> None:
    # The MinHash LSH candidate index of watcher/dedup/index.py. Clustered on the key (WITHOUT ROWID),
    # so finding the items that share a band is one B-tree seek per band at any store size.
    _exec(db, """
CREATE TABLE dedup_keys (
    key INTEGER NOT NULL,         -- hash of one LSH band of an item's MinHash signature
    item_id INTEGER NOT NULL,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;

CREATE TABLE dedup_indexed (
    item_id INTEGER PRIMARY KEY,
    published INTEGER NOT NULL,   -- epoch seconds, for the repost window
    keys BLOB NOT NULL            -- its keys (int64 array), so forgetting it needs no recompute
);
CREATE INDEX dedup_indexed_published ON dedup_indexed(published);

CREATE INDEX items_duplicate_of ON items(duplicate_of);  -- also_in(): the reposts of an original
""")


@migrations()
def m030_source_deferred(db: sqlite_utils.Database) -> None:
    # Why the last poll did not get to a source (its host stopped answering, the poll's deadline):
    # not a failure, so it has its own column rather than last_error; cleared when it is polled.
    _exec(db, "ALTER TABLE sources ADD COLUMN deferred TEXT;")


@migrations()
def m031_item_date_note(db: sqlite_utils.Database) -> None:
    # Why an item is dated by its fetch time although its feed gave a date (an impossible one, or one
    # before 1990 or days ahead): `show` and `export` say so. NULL: the feed's date was used, or it gave none.
    _exec(db, "ALTER TABLE items ADD COLUMN date_note TEXT;")


@migrations()
def m032_backfill(db: sqlite_utils.Database) -> None:
    # items.origin: how an item came in. Existing rows were all polled. The digest leaves backfilled
    # items to the review queue (old news must not look like today's).
    # backfill_runs: the coverage ledger of watcher/backfill/ (one row per source and date range):
    # what was backfilled, how, and where a stopped run resumes (cursor, saved with each page's items).
    _exec(db, """
ALTER TABLE items ADD COLUMN origin TEXT NOT NULL DEFAULT 'poll';  -- poll | backfill

CREATE TABLE backfill_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(name),
    since TEXT NOT NULL,          -- YYYY-MM-DD, first day of the range (UTC)
    until TEXT NOT NULL,          -- YYYY-MM-DD, last day of the range, inclusive
    requested TEXT NOT NULL,      -- auto | feed | wordpress | sitemap | wayback: what was asked for
    method TEXT,                  -- the method used (auto: the one it chose); NULL until chosen
    status TEXT NOT NULL,         -- running | partial | complete | failed
    cursor TEXT,                  -- JSON: where a partial run resumes
    notes TEXT NOT NULL DEFAULT '[]',  -- JSON list: why auto skipped each earlier method
    error TEXT,                   -- why it failed or stopped
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    items_found INTEGER NOT NULL DEFAULT 0,
    items_new INTEGER NOT NULL DEFAULT 0,
    items_relevant INTEGER NOT NULL DEFAULT 0,
    reached TEXT                  -- the oldest publication date seen so far
);
CREATE INDEX backfill_runs_source ON backfill_runs(source, since, until);
""")


@migrations()
def m033_queue_index(db: sqlite_utils.Database) -> None:
    # The review page's queue: filtered by status, newest first, keyset-paged on (published, id). With
    # this index a page is a range scan of 50 entries at any store size; without it SQLite sorted every
    # queued item for each page (bench/serve.py).
    _exec(db, "CREATE INDEX items_queue ON items(review_status, published, id);")


@migrations()
def m034_fulltext(db: sqlite_utils.Database) -> None:
    # Full text for summary-only feeds (issue 11; watcher/fulltext/, whose storeops.py holds its SQL).
    # `content` stays the text that is matched and deduplicated: the article page's, when fetched, with
    # the feed's own kept in feed_content. Stores made before this step read as content_source 'feed'.
    _exec(db, """
ALTER TABLE items ADD COLUMN content_source TEXT NOT NULL DEFAULT 'feed';  -- feed | page
ALTER TABLE items ADD COLUMN feed_content TEXT;      -- the feed's own content when content is the page's
ALTER TABLE items ADD COLUMN page_link TEXT;         -- the link a page was fetched or considered for
ALTER TABLE items ADD COLUMN page_status TEXT;       -- NULL | ok | skipped | robots | not_html | ... (storeops.py)
ALTER TABLE items ADD COLUMN page_note TEXT;         -- why, in words
ALTER TABLE items ADD COLUMN page_fetched_at TEXT;   -- UTC
""")
