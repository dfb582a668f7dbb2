"""Decide stored items again: after new seeds, a changed seed, or new thresholds.

The candidate index is rebuilt first (from the items table), then every item is re-decided in
published order, so an original's own decision is settled before its reposts look at it. Only the
dedup columns change, and review_status follows the same queue rule as a poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from ..match import review_status_after
from ..store import iso, parse_iso
from .decide import Deduper

__all__ = ["Change", "Recheck", "recheck"]


@dataclass(frozen=True)
class Change:
    item_id: int
    title: str
    old: str | None  # duplicate_of before, with (method) and "?" for possible
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "now duplicates"
        if self.new is None:
            return "now new"
        return "relinked"


@dataclass
class Recheck:
    checked: int = 0
    changed: list[Change] = field(default_factory=list)


def _label(dup_of: str | None, method: str | None, possible: int) -> str | None:
    if dup_of is None:
        return None
    return f"{dup_of} ({method}{', possible' if possible else ''})"


def recheck(db: sqlite_utils.Database, deduper: Deduper, *, since: datetime | None, now: datetime) -> Recheck:
    """Re-run decisions; runs inside the caller's write transaction."""
    deduper.reindex()
    out = Recheck()
    sql = ("SELECT id, source, guid, link, title, summary, content, language, published, duplicate_of,"
           " dup_method, dup_score, dup_possible, relevant, review_status FROM items")
    params: list = []
    if since is not None:
        sql += " WHERE published >= ?"
        params.append(iso(since))
    sql += " ORDER BY published, id"
    for row in db.execute(sql, params).fetchall():
        (iid, source, guid, link, title, summary, content, lang, pub, dup_of, method, score, possible,
         relevant, review) = row
        d = deduper.decide(item_id=iid, source=source, guid=guid, link=link, title=title, summary=summary,
                           content=content, language=lang, published=parse_iso(pub), now=now)
        out.checked += 1
        new_score = None if d.score is None else round(d.score, 4)
        if (d.duplicate_of, d.method, int(d.possible)) == (dup_of, method, possible) and new_score == score:
            continue
        db.execute("UPDATE items SET duplicate_of = ?, dup_method = ?, dup_score = ?, dup_possible = ?,"
                   " review_status = ? WHERE id = ?",
                   [d.duplicate_of, d.method, new_score, int(d.possible),
                    review_status_after(review, bool(relevant), d.duplicate_of), iid])
        old_label, new_label = _label(dup_of, method, possible), _label(d.duplicate_of, d.method, int(d.possible))
        if old_label != new_label:
            out.changed.append(Change(iid, title, old_label, new_label))
    return out
