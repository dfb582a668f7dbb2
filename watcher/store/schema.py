"""The schema: one SQL string for the whole store, and the migration steps that bring a store to it.

A new store gets SCHEMA in one step. A store written by an older release already has some of it:
each step records its name in `_sqlite_migrations` (sqlite-utils' `Migrations`), and every statement
in SCHEMA is `IF NOT EXISTS`, so a step that applies SCHEMA creates only what is missing. When a
table changes, SCHEMA shows the new table and a new step (appended, never edited) changes the old
one in place, written so that it is a no-op on a store that SCHEMA already made (see `add_column`).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

__all__ = ["SCHEMA", "migrations", "add_column"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
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
    feed_title TEXT,
    deferred TEXT                 -- why the last poll did not get to it (not a failure); cleared when polled
);

CREATE TABLE IF NOT EXISTS fetches (
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
CREATE INDEX IF NOT EXISTS fetches_source_started ON fetches(source, started_at);

CREATE TABLE IF NOT EXISTS items (
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
    date_note TEXT,               -- why it is dated by fetch time although the feed gave a date
    origin TEXT NOT NULL DEFAULT 'poll',  -- poll | backfill: how it came in
    -- Full text for summary-only feeds (watcher/fulltext/): `content` is what is matched and deduplicated,
    -- the article page's text when it was fetched, with the feed's own kept in feed_content.
    content_source TEXT NOT NULL DEFAULT 'feed',  -- feed | page
    feed_content TEXT,            -- the feed's own content when content is the page's
    page_link TEXT,               -- the link a page was fetched or considered for
    page_status TEXT,             -- NULL | ok | skipped | robots | not_html | ... (store/fulltext.py)
    page_note TEXT,               -- why, in words
    page_fetched_at TEXT,         -- UTC
    UNIQUE (source, guid)
);
CREATE INDEX IF NOT EXISTS items_published ON items(published);
CREATE INDEX IF NOT EXISTS items_fetched_at ON items(fetched_at);
-- With what dedup reads of an item found by its link (store/lsh.py), so that lookup never reads the row.
CREATE INDEX IF NOT EXISTS items_canonical_link ON items(canonical_link, published, duplicate_of, dup_possible);
-- The indexes on review_status and duplicate_of hold only the rows that have one (partial): under 1% of
-- items are queued or repeat something, and every other item inserted cost four index entries that no
-- query reads (a fifth of an item insert's CPU; the queries all say `review_status IS NOT NULL` or
-- `duplicate_of = ?`, which SQLite knows only such rows can meet).
CREATE INDEX IF NOT EXISTS items_review ON items(review_status) WHERE review_status IS NOT NULL;
-- the reposts of an original
CREATE INDEX IF NOT EXISTS items_duplicate_of ON items(duplicate_of) WHERE duplicate_of IS NOT NULL;
-- The review page's queue: filtered by status, newest first, keyset-paged on (published, id); a page is
-- a range scan of 50 entries at any store size (bench/serve.py).
CREATE INDEX IF NOT EXISTS items_queue ON items(review_status, published, id) WHERE review_status IS NOT NULL;
-- ... and filtered by origin (polled or backfilled): a page of the few backfilled items is a range scan
-- too, not a walk through every queued polled one.
CREATE INDEX IF NOT EXISTS items_queue_origin ON items(review_status, origin, published, id)
    WHERE review_status IS NOT NULL;

CREATE TABLE IF NOT EXISTS item_versions (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    link TEXT,
    replaced_at TEXT NOT NULL     -- when a newer version came in
);
CREATE INDEX IF NOT EXISTS item_versions_item ON item_versions(item_id);

-- One row per local date built; its header (counts, failed sources) is frozen here so that
-- rendering a date again reproduces it. digest_items.item_id is UNIQUE: an item is in one digest.
CREATE TABLE IF NOT EXISTS digests (
    date TEXT PRIMARY KEY,        -- YYYY-MM-DD, local date in digest.timezone
    built_at TEXT NOT NULL,       -- UTC; failures after the previous digest's built_at are reported
    cutoff TEXT NOT NULL,         -- UTC end of that local day (or build time if earlier)
    timezone TEXT NOT NULL,
    item_count INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',  -- JSON list of {source, kind, error, count, last}
    sent_at TEXT                  -- when --send last mailed it
);

CREATE TABLE IF NOT EXISTS digest_items (
    item_id INTEGER NOT NULL UNIQUE REFERENCES items(id),
    digest_date TEXT NOT NULL REFERENCES digests(date),
    topic TEXT NOT NULL           -- the group it is shown under
);
CREATE INDEX IF NOT EXISTS digest_items_date ON digest_items(digest_date);

-- Every review decision, oldest first; items.review_status holds the latest.
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    status TEXT NOT NULL,         -- new | accepted | rejected | later
    previous TEXT,                -- review_status before this decision
    who TEXT NOT NULL,
    at TEXT NOT NULL,             -- UTC
    note TEXT,
    origin TEXT NOT NULL DEFAULT 'cli'  -- cli | import:<file name>
);
CREATE INDEX IF NOT EXISTS reviews_item ON reviews(item_id);

-- The MinHash LSH candidate index (watcher/dedup/index.py computes the keys, lsh.py here keeps
-- them). Clustered on the key (WITHOUT ROWID): the items sharing a band are one B-tree seek away.
CREATE TABLE IF NOT EXISTS dedup_keys (
    key INTEGER NOT NULL,         -- hash of one LSH band of an item's MinHash signature
    item_id INTEGER NOT NULL,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dedup_indexed (
    item_id INTEGER PRIMARY KEY,
    published INTEGER NOT NULL,   -- epoch seconds, for the repost window
    keys BLOB NOT NULL            -- its keys (int64 array), so forgetting it needs no recompute
);
CREATE INDEX IF NOT EXISTS dedup_indexed_published ON dedup_indexed(published);

-- The coverage ledger of watcher/backfill/ (one row per source and date range): what was backfilled,
-- how, and where a stopped run resumes (cursor, saved with each page's items).
CREATE TABLE IF NOT EXISTS backfill_runs (
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
CREATE INDEX IF NOT EXISTS backfill_runs_source ON backfill_runs(source, since, until);
"""

migrations = Migrations("watcher")


def apply_sql(db: sqlite_utils.Database, sql: str) -> None:
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


def add_column(db: sqlite_utils.Database, table: str, column: str, declaration: str) -> None:
    """ALTER TABLE ... ADD COLUMN, unless SCHEMA (a new store) already has it."""
    have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    if column not in have:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


# The steps of the releases so far. Each brings whatever it introduced; applying SCHEMA does that
# for all three (it creates only what is missing), and keeps their names, so a store that recorded
# them is left as it is.
@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    apply_sql(db, SCHEMA)


@migrations()
def m010_digests_reviews(db: sqlite_utils.Database) -> None:
    apply_sql(db, SCHEMA)


@migrations()
def m020_dedup_index(db: sqlite_utils.Database) -> None:
    apply_sql(db, SCHEMA)


@migrations()
def m030_source_deferred(db: sqlite_utils.Database) -> None:
    # Why the last poll did not get to a source (its host stopped answering, the poll's deadline):
    # not a failure, so it has its own column rather than last_error; cleared when it is polled.
    add_column(db, "sources", "deferred", "TEXT")


@migrations()
def m031_item_date_note(db: sqlite_utils.Database) -> None:
    # Why an item is dated by its fetch time although its feed gave a date (an impossible one, or one
    # before 1990 or days ahead): `show` and `export` say so. NULL: the feed's date was used, or it gave none.
    add_column(db, "items", "date_note", "TEXT")


@migrations()
def m032_backfill(db: sqlite_utils.Database) -> None:
    # items.origin: how an item came in. Existing rows were all polled. The digest leaves backfilled
    # items to the review queue (old news must not look like today's). backfill_runs: see SCHEMA.
    add_column(db, "items", "origin", "TEXT NOT NULL DEFAULT 'poll'")
    apply_sql(db, SCHEMA)


@migrations()
def m033_queue_index(db: sqlite_utils.Database) -> None:
    # The review page's queue index (see SCHEMA).
    apply_sql(db, SCHEMA)


@migrations()
def m034_fulltext(db: sqlite_utils.Database) -> None:
    # Full text for summary-only feeds (issue 11): the page columns of items (see SCHEMA). Stores made
    # before this step read as content_source 'feed'.
    add_column(db, "items", "content_source", "TEXT NOT NULL DEFAULT 'feed'")
    for column in ("feed_content", "page_link", "page_status", "page_note", "page_fetched_at"):
        add_column(db, "items", column, "TEXT")


@migrations()
def m035_queue_origin_index(db: sqlite_utils.Database) -> None:
    # The review page's queue filtered by origin (see SCHEMA; bench/serve.py, "queue, origin backfilled").
    apply_sql(db, SCHEMA)


@migrations()
def m036_partial_indexes(db: sqlite_utils.Database) -> None:
    # The review and repost indexes hold only the rows they serve (see SCHEMA): rebuilt as partial.
    for name in ("items_review", "items_duplicate_of", "items_queue", "items_queue_origin"):
        db.execute(f"DROP INDEX IF EXISTS {name}")
    apply_sql(db, SCHEMA)


@migrations()
def m037_link_index_covers(db: sqlite_utils.Database) -> None:
    # The link index carries what a link lookup reads (see SCHEMA).
    db.execute("DROP INDEX IF EXISTS items_canonical_link")
    apply_sql(db, SCHEMA)
