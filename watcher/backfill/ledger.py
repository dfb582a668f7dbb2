"""The coverage ledger's one rule, and its operations (kept in watcher/store/backfill.py).

The rule that makes a backfill resumable: a page's items and the run's cursor after that page are
stored in ONE transaction (`store_page`). A run killed at any point either has the page and the
cursor past it, or neither, so the next run refetches at most the page it was on, and loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from .. import store
from ..config import Source
from ..ingest import Dedup, store_entries
from ..prepare import PreparedEntry
from ..store.backfill import (
    Run,
    choose,
    covering,
    day_counts,
    ensure_source,
    finish,
    get,
    last_backfilled,
    resume,
    runs,
    start,
    unfinished,
)

__all__ = ["Run", "choose", "covering", "day_counts", "ensure_source", "finish", "get", "last_backfilled",
           "resume", "runs", "start", "unfinished", "store_page"]


def store_page(db: sqlite_utils.Database, run_id: int, source: Source, entries: list[PreparedEntry], *,
               cursor: dict[str, Any], requests: int, found: int, reached: datetime | None,
               dd: Dedup, now: datetime) -> list[str]:
    """Store one page's entries (the poll's own path, marked origin=backfill) and the cursor past it,
    in one transaction. Returns what happened to each entry (new, updated, seen, repeat)."""
    from ..store.backfill import page_done

    with store.write(db):
        kinds = store_entries(db, source, entries, dd=dd, now=now, origin="backfill")
        page_done(db, run_id, cursor=cursor, requests=requests, found=found, new=kinds.count("new"),
                  relevant=sum(1 for k, e in zip(kinds, entries) if k == "new" and e.match.relevant),
                  reached=reached)
    return kinds
