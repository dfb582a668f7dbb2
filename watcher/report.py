"""What `status` and `show` print: plain data gathered from the store, formatted by the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlite_utils

from . import store
from .config import Config
from .errors import UsageError
from .review import history as review_history
from .times import iso


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


def source_status(cfg: Config, db: sqlite_utils.Database) -> list[SourceStatus]:
    counts = store.counts_by_source(db)
    states = store.source_states(db)
    out = []
    for s in cfg.sources:
        st = states.get(s.name)
        out.append(SourceStatus(
            name=s.name, enabled=s.enabled and not (st and st.disabled_reason),
            last_success=iso(st.last_success) if st and st.last_success else None,
            last_attempt=iso(st.last_attempt) if st and st.last_attempt else None,
            last_error=st.last_error if st else None, last_error_kind=st.last_error_kind if st else None,
            failures=st.consecutive_failures if st else 0,
            next_check=iso(st.next_check) if st and st.next_check else None,
            hold_until=iso(st.hold_until) if st and st.hold_until else None, items=counts.get(s.name, 0),
            permanent_redirect=st.permanent_redirect if st else None,
            disabled_reason=st.disabled_reason if st else None,
        ))
    return out


def item_detail(db: sqlite_utils.Database, item_id: int) -> dict:
    """One item with everything needed to say why it was kept and whether it repeats something."""
    item = store.get_item(db, item_id)
    if item is None:
        raise UsageError(f"no item with id {item_id}; `watcher export` or `watcher review list` shows ids")
    out = asdict(item)
    for k in ("published", "fetched_at", "last_seen", "updated_at"):
        out[k] = iso(out[k]) if out[k] is not None else None
    out["relevant"], out["published_is_fetch_time"] = int(item.relevant), int(item.published_is_fetch_time)
    out["dup_possible"] = int(item.dup_possible)
    out["versions"] = [asdict(v) for v in store.versions(db, item_id)]
    out["also_in"] = [asdict(r) for r in store.reposts(db, item_id)]
    out["reviews"] = review_history(db, item_id)
    return out


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """The matched text with some context, the match marked [like this]."""
    a = max(0, start - width)
    b = min(len(text), end + width)
    pre = ("…" if a > 0 else "") + text[a:start]
    post = text[end:b] + ("…" if b < len(text) else "")
    return " ".join(f"{pre}[{text[start:end]}]{post}".split())
