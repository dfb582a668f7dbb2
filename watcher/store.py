"""The SQLite store: schema, connections, and the write path.

The schema is one SQL string per migration step, applied by sqlite-utils' `Migrations`; later steps
are appended, never edited. Every write goes through `write()`, which begins IMMEDIATE: a deferred
transaction that reads and then writes fails with "database is locked" when another process wrote in
between, while IMMEDIATE takes the write lock up front and waits (busy_timeout) for it instead.

Times are stored as ISO 8601 UTC text ("2026-11-21T05:20:00+00:00") so that `datasette` and plain
`ORDER BY` both read them correctly.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils
from sqlite_utils import Migrations

from .errors import StoreError

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024

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


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction that holds the lock from its first statement (BEGIN IMMEDIATE)."""
    conn = db.conn
    if conn.in_transaction:  # nested: a savepoint inside the outer IMMEDIATE transaction
        with db.atomic():
            yield db
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
def m030_fulltext(db: sqlite_utils.Database) -> None:
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
