"""The store: the only code that knows the SQLite tables and their columns.

    schema.py    SCHEMA (the whole schema, one SQL string) and the migration steps
    db.py        connect() (writers), connect_readonly() (readers), verify(); SQLite's errors about the
                 file become one StoreError; write() transactions (savepoints inside, dry_run rolls back),
                 write_async() for a coroutine (its COMMIT runs in a thread)
    records.py   typed read results (SourceState, StoredItem, Neighbours, DigestRecord, ...) and
                 write intents (NewItem, ItemEdit, ItemSeen, ItemChange, IndexEntry, SourceUpdate, FetchRecord)
    apply.py     apply(db, changes): the one write path for items, the index and source state
    items.py     reads of items: items_for_update(), iter_items(), queue(), reposts(), ...
    sources.py   sync_sources(), source_states()
    lsh.py       the dedup candidate index and neighbours() lookups
    digests.py   record_digest() once per date, digest_record() and recent_digests() to render from
    backfill.py  the backfill coverage ledger (backfill_runs); imported as watcher.store.backfill
    fulltext.py  the full-text step's reads (page states, candidates); imported as watcher.store.fulltext
    review_page.py  the review page's reads (keyset-paged queue, ...); imported as watcher.store.review_page

Everything outside this package calls these named operations; a test (tests/test_store_boundary.py)
fails if SQL appears anywhere else in watcher/. Times are stored as ISO 8601 UTC text (times.py).
"""

from __future__ import annotations

from ..errors import StoreDamagedError, StoreError, StoreReadOnlyError
from ..times import iso, utcnow
from .apply import apply, dedup_columns, match_columns
from .db import (
    BUSY_TIMEOUT_MS,
    StoreConnection,
    connect,
    connect_readonly,
    damaged,
    dumps,
    recover_hint,
    store_error,
    verify,
    write,
    write_async,
)
from .digests import (
    digest_candidates,
    digest_exists,
    digest_record,
    fetch_failures,
    first_fetch_at,
    last_digest_date,
    mark_sent,
    previous_built_at,
    recent_digests,
    record_digest,
)
from .items import (
    counts_by_source,
    dedup_method_counts,
    followers,
    get_item,
    item_count,
    irrelevant_texts,
    item_ids,
    items_by_link,
    items_for_update,
    iter_items,
    queue,
    reposts,
    review_counts,
    review_history,
    review_states,
    stored_values,
    versions,
)
from .lsh import index_clear, indexed_count, neighbours
from .records import (
    KEEP,
    Change,
    DigestRecord,
    FailureSummary,
    FetchRecord,
    Follower,
    IndexEntry,
    ItemChange,
    ItemEdit,
    ItemSeen,
    ItemText,
    LinkedItem,
    Neighbour,
    Neighbours,
    NewItem,
    PageUpdate,
    Repost,
    Review,
    ReviewEvent,
    SourceDeferred,
    SourceState,
    SourceUpdate,
    StoredItem,
    StoredKey,
    Version,
)
from .schema import SCHEMA, migrations
from .sources import source_state, source_states, sync_sources

__all__ = [
    "StoreError", "StoreDamagedError", "StoreReadOnlyError", "StoreConnection", "connect_readonly", "damaged",
    "recover_hint", "store_error", "verify", "iso", "utcnow", "apply", "dedup_columns", "match_columns", "BUSY_TIMEOUT_MS", "connect",
    "dumps", "write", "write_async", "digest_candidates", "digest_exists", "digest_record", "fetch_failures", "first_fetch_at",
    "last_digest_date", "mark_sent", "previous_built_at", "recent_digests", "record_digest",
    "counts_by_source", "irrelevant_texts", "dedup_method_counts", "followers", "get_item", "item_count", "item_ids",
    "items_by_link", "items_for_update", "iter_items", "queue", "reposts", "review_counts", "review_history", "review_states", "stored_values", "versions", "index_clear",
    "indexed_count", "neighbours", "KEEP", "Change", "DigestRecord", "FailureSummary", "FetchRecord",
    "Follower", "IndexEntry", "ItemChange", "ItemEdit", "ItemSeen", "ItemText", "LinkedItem", "Neighbour", "Neighbours", "NewItem", "PageUpdate",
    "Repost", "Review", "ReviewEvent", "SourceDeferred", "SourceState", "SourceUpdate", "StoredItem", "StoredKey", "Version",
    "SCHEMA", "migrations", "source_state", "source_states", "sync_sources",
]
