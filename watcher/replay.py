"""Replay stored items through a stage again: `rematch` (a changed keyword list) and `recheck` (new
seeds or thresholds). Both end in store.apply() like a poll, and both take `dry_run`: the same
changes are made and rolled back, so what a dry run reports is what a real run does.

Both keep the poll's rule for what is fingerprinted (dedup.worth_fingerprinting: a match score above
zero): `rematch` fingerprints an item whose score rises above zero and checks it against the seeds and
earlier items, as a poll would have; `recheck` indexes and checks against earlier items only such
items, and decides the others by their link and the seeds alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from . import store
from .dedup import Candidate, decide, fingerprint, index_keys, worth_fingerprinting
from .ingest import Dedup, repoint
from .links import canonical_link
from .match import Matcher
from .model import DedupDecision, MatchResult
from .review import review_status_after

__all__ = ["Change", "Recheck", "recheck", "Rematch", "rematch"]


# --- rematch -------------------------------------------------------------------------------------------


@dataclass
class Rematch:
    checked: int = 0
    gained: list[tuple[store.StoredItem, MatchResult]] = field(default_factory=list)  # now relevant
    lost: list[tuple[store.StoredItem, MatchResult]] = field(default_factory=list)  # no longer relevant
    # Items whose score rose above zero: now fingerprinted, indexed and checked, and what that decided.
    fingerprinted: list[tuple[store.StoredItem, DedupDecision]] = field(default_factory=list)


def rematch(db: sqlite_utils.Database, matcher: Matcher, *, since: datetime | None,
            dry_run: bool = False, dd: Dedup | None = None) -> Rematch:
    """Match stored items (published since `since`) with `matcher` and store the new results (one
    transaction; with dry_run, nothing is written).

    With `dd`, an item whose score rises above zero (so it was never fingerprinted: see
    dedup.worth_fingerprinting) is then fingerprinted, indexed and checked against the seeds and
    earlier items, and may become the original of later ones, exactly as a poll would have done.
    A dry run only matches."""
    out = Rematch()
    changes: list[store.Change] = []
    unseen: list[int] = []  # items to fingerprint now, in published order
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
        if worth_fingerprinting(res.score) and not worth_fingerprinting(item.score):
            unseen.append(item.id)
    # Each item's new match depends on nothing written here, so a dry run need not write and roll back:
    # it reads only, and works on a store opened read-only.
    if dry_run:
        return out
    with store.write(db):
        store.apply(db, changes)
        if dd is not None:
            for item_id in unseen:
                # Read again: an earlier item checked here may have re-pointed this one.
                current = store.get_item(db, item_id)
                assert current is not None, f"item {item_id} vanished inside the transaction"
                out.fingerprinted.append((current, _check_now(db, dd, current)))
    return out


def _check_now(db: sqlite_utils.Database, dd: Dedup, item: store.StoredItem) -> DedupDecision:
    """Fingerprint a stored item, index it, decide it against the seeds and its neighbours, and
    re-point the later items that repeat it: what ingest.save_entry does for a new entry."""
    fp = fingerprint(item.title, item.summary, item.content, item.language)
    candidate = Candidate(item.id, item.published, fp, canonical_link(item.link))
    keys = index_keys(fp, dd.settings)
    neighbours = store.neighbours(db, link_key=candidate.link_key, keys=keys, published=item.published,
                                  window_days=dd.settings.window_days, exclude=item.id)
    d = decide(candidate, neighbours, dd.seeds, dd.settings)
    store.apply(db, [
        store.ItemChange(item.id, dedup=d, review_status=review_status_after(
            item.review_status, item.relevant, d.duplicate_of)),
        store.IndexEntry(item.id, item.published, keys)])
    repoint(db, item.id, d, candidate, neighbours, dd)
    return d


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

    The candidate index is rebuilt first (from every stored item worth fingerprinting, as a poll
    indexes them), then each item (published since `since`) is re-decided in published order, so an
    original's own decision is settled before its reposts look at it. Only the dedup columns change,
    and review_status follows the queue rule."""
    out = Recheck()
    with store.write(db, dry_run=dry_run):
        store.index_clear(db)
        store.apply(db, [store.IndexEntry(i.id, i.published, index_keys(
            fingerprint(i.title, i.summary, i.content, i.language), dd.settings))
            for i in store.iter_items(db) if worth_fingerprinting(i.score)])
        for item in store.iter_items(db, since=since, order="published"):
            fp = fingerprint(item.title, item.summary, item.content, item.language,
                             seeds_only=not worth_fingerprinting(item.score))
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
