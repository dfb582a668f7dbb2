"""What `status` and `show` print: plain data gathered from the store, formatted by the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from .config import Config
from .dedup import also_in
from .errors import UsageError
from .review import history as review_history


@dataclass
class SourceStatus:
    name: str
    enabled: bool
    last_success: str | None
    last_attempt: str | None
    last_error: str | None
    last_error_kind: str | None
    failures: int
    next_check: str | None
    hold_until: str | None
    items: int
    permanent_redirect: str | None
    disabled_reason: str | None
    deferred: str | None = None  # why the last poll did not get to it; not a failure


def source_status(cfg: Config, db: sqlite_utils.Database) -> list[SourceStatus]:
    counts = dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
    rows = {
        r[0]: r
        for r in db.execute(
            "SELECT name, last_success, last_attempt, last_error, last_error_kind, consecutive_failures,"
            " next_check, hold_until, permanent_redirect, disabled_reason, deferred FROM sources"
        )
    }
    out = []
    for s in cfg.sources:
        r = rows.get(s.name) or (s.name, None, None, None, None, 0, None, None, None, None, None)
        out.append(SourceStatus(
            name=s.name, enabled=s.enabled and not r[9], last_success=r[1], last_attempt=r[2], last_error=r[3],
            last_error_kind=r[4], failures=r[5], next_check=r[6], hold_until=r[7], items=counts.get(s.name, 0),
            permanent_redirect=r[8], disabled_reason=r[9], deferred=r[10],
        ))
    return out


def item_detail(db: sqlite_utils.Database, item_id: int) -> dict:
    """One item with everything needed to say why it was kept and whether it repeats something."""
    cur = db.execute("SELECT * FROM items WHERE id = ?", [item_id])
    values = cur.fetchone()
    if values is None:
        raise UsageError(f"no item with id {item_id}; `watcher export` or `watcher review list` shows ids")
    item = dict(zip([d[0] for d in cur.description], values))
    for k in ("topics", "keywords", "hits"):
        item[k] = json.loads(item[k] or "[]")
    item["versions"] = [
        dict(zip(("version", "title", "replaced_at"), r))
        for r in db.execute("SELECT version, title, replaced_at FROM item_versions WHERE item_id = ? ORDER BY version",
                            [item_id])
    ]
    item["also_in"] = also_in(db, item_id)
    item["reviews"] = review_history(db, item_id)
    return item


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """The matched text with some context, the match marked [like this]."""
    a = max(0, start - width)
    b = min(len(text), end + width)
    pre = ("…" if a > 0 else "") + text[a:start]
    post = text[end:b] + ("…" if b < len(text) else "")
    return " ".join(f"{pre}[{text[start:end]}]{post}".split())
