"""Replay stored items through a stage again: `rematch` (a changed keyword list) and `recheck` (new
seeds or thresholds). Both end in store.apply() like a poll, and both take `dry_run`: the same
changes are made and rolled back, so what a dry run reports is what a real run does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from . import store
from .dedup import Candidate, decide, fingerprint, index_keys
from .ingest import Dedup
from .links import canonical_link
from .match import Matcher
from .model import MatchResult
from .review import review_status_after

__all__ = ["Change", "Recheck", "recheck", "Rematch", "rematch"]


# --- rematch -------------------------------------------------------------------------------------------


@dataclass
class Rematch:
    checked: int = 0
    gained: list[tuple[store.StoredItem, MatchResult]] = field(default_factory=list)  # now relevant
    lost: list[tuple[store.StoredItem, MatchResult]] = field(default_factory=list)  # no longer relevant


def rematch(db: sqlite_utils.Database, matcher: Matcher, *, since: datetime | None,
            dry_run: bool = False) -> Rematch:
    """Match stored items (published since `since`) with `matcher` and store the new results (one
    transaction; with dry_run, nothing is written)."""
    out = Rematch()
    changes: list[store.Change] = []
    for item in store.iter_items(db, since=since, order="published"):
        res = matcher.match(item.title, item.summary, item.content, item.language)
        out.checked += 1
        if res.relevant and not item.relevant:
            out.gained.append((item, res))
        elif item.relevant and not res.relevant:
            out.lost.append((item, res))
        changes.append(store.ItemChange(
            item.id, match=res, review_status=review_status_after(item.review_status, res.relevant,
                                                                  item.duplicate_of)))
    # Each item's new match depends on nothing written here, so a dry run need not write and roll back:
    # it reads only, and works on a store opened read-only.
    if not dry_run:
        store.apply(db, changes)
    return out


# --- recheck -------------------------------------------------------------------------------------------


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


def _label(dup_of: str | None, method: str | None, possible: bool) -> str | None:
    if dup_of is None:
        return None
    return f"{dup_of} ({method}{', possible' if possible else ''})"


def recheck(db: sqlite_utils.Database, dd: Dedup, *, since: datetime | None, dry_run: bool = False) -> Recheck:
    """Decide stored items again: after new seeds, a changed seed, or new thresholds.

    The candidate index is rebuilt first (from every stored item), then each item (published since
    `since`) is re-decided in published order, so an original's own decision is settled before its
    reposts look at it. Only the dedup columns change, and review_status follows the queue rule."""
    out = Recheck()
    with store.write(db, dry_run=dry_run):
        store.index_clear(db)
        store.apply(db, [store.IndexEntry(i.id, i.published, index_keys(
            fingerprint(i.title, i.summary, i.content, i.language), dd.settings)) for i in store.iter_items(db)])
        for item in store.iter_items(db, since=since, order="published"):
            fp = fingerprint(item.title, item.summary, item.content, item.language)
            link_key = canonical_link(item.link)
            candidate = Candidate(item.id, item.published, fp, link_key)
            neighbours = store.neighbours(db, link_key=link_key, keys=index_keys(fp, dd.settings),
                                          published=item.published, window_days=dd.settings.window_days,
                                          exclude=item.id)
            d = decide(candidate, neighbours, dd.seeds, dd.settings)
            out.checked += 1
            new_score = None if d.score is None else round(d.score, 4)
            if ((d.duplicate_of, d.method, d.possible) == (item.duplicate_of, item.dup_method, item.dup_possible)
                    and new_score == item.dup_score):
                continue
            store.apply(db, [store.ItemChange(item.id, dedup=d, review_status=review_status_after(
                item.review_status, item.relevant, d.duplicate_of))])
            old_label = _label(item.duplicate_of, item.dup_method, item.dup_possible)
            new_label = _label(d.duplicate_of, d.method, d.possible)
            if old_label != new_label:
                out.changed.append(Change(item.id, item.title, old_label, new_label))
    return out
