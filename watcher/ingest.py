"""Store one source's poll: the fetch record, the source's new state, and every entry.

All of it is one IMMEDIATE transaction (a savepoint, when the pipeline stores several sources in one
transaction), so a crash mid-poll leaves the source exactly as it was before, and the next poll (whose
conditional GET validators were not advanced either) completes it. Every write is a store.apply()
intent; the decisions (dedup, review queue, backoff) are pure functions called from here.

Per entry (already parsed, matched and fingerprinted by prepare.py in a worker process):
    same (source, guid), same text   -> seen again: only last_seen moves (ItemSeen)
    same (source, guid), new text    -> edit in place (ItemEdit): old text goes to item_versions; the
                                        new match is stored and dedup decided again
    new (source, guid)               -> dedup against seeds and stored items, insert (NewItem), index
    a guid listed again in one feed  -> skipped: the first listing (the newest) is the item
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlite_utils

from . import backoff, store
from .config import Config, DedupSettings, Source, parse_interval
from .dedup import Candidate, SeedIndex, adopt_later, decide, index_keys
from .model import DedupDecision, Failure, FailureKind, FetchResult
from .prepare import PreparedEntry, PreparedFeed
from .review import review_status_after


@dataclass
class SourceOutcome:
    name: str
    status: str  # ok | not_modified | failed
    new: int = 0
    updated: int = 0
    entries: int = 0
    error: str | None = None
    error_kind: str | None = None
    duration_s: float = 0.0
    problem: str | None = None  # a parse problem that was recovered from

    def log_line(self) -> str:
        text = f"{self.name}: {self.status} new={self.new} updated={self.updated} {self.duration_s:.2f}s"
        if self.error:
            text += f" error={self.error_kind}: {self.error}"
        return text


@dataclass(frozen=True)
class Dedup:
    """What deciding duplicates needs besides the store: the seeds and the thresholds."""

    seeds: SeedIndex
    settings: DedupSettings


def repoint(db: sqlite_utils.Database, item_id: int, decision: DedupDecision, candidate: Candidate,
            neighbours: store.Neighbours, dd: Dedup, *, dry_run: bool = False) -> None:
    """Make this stored item the original of the later stored items that repeat it (and of theirs)."""
    for rp in adopt_later(item_id, decision, candidate, neighbours, dd.settings):
        item = store.get_item(db, rp.item_id)
        if item is None:
            continue
        store.apply(db, [store.ItemChange(
            rp.item_id, dedup=DedupDecision(rp.target, rp.method, rp.score),
            review_status=review_status_after(item.review_status, item.relevant, rp.target))], dry_run=dry_run)
        # Items that named the re-pointed one as their original follow it.
        store.apply(db, [store.ItemChange(
            f.id, dedup=DedupDecision(rp.target, f.dup_method, f.dup_score),
            review_status=review_status_after(f.review_status, f.relevant, rp.target))
            for f in store.followers(db, rp.item_id)], dry_run=dry_run)


def save_entry(db: sqlite_utils.Database, source: Source, prepared: PreparedEntry, *, dd: Dedup,
               now: datetime, stored: store.StoredKey | None) -> str:
    """Insert or update one entry. Returns "new", "updated" or "seen". Runs inside the caller's transaction.

    `stored` is what store.items_for_update() found of the entry's guid (None: not stored yet).
    """
    e = prepared.entry
    if stored is not None and stored.content_hash == prepared.content_hash:
        # Seen before, unchanged: the common case on every poll; the caller batches the ItemSeen.
        return "seen"
    published = e.published or e.updated
    candidate = Candidate(item_id=stored.id if stored else None, published=published or now,
                          fingerprint=prepared.fingerprint, link_key=prepared.canonical_link)
    keys = index_keys(prepared.fingerprint, dd.settings)
    neighbours = store.neighbours(db, link_key=prepared.canonical_link, keys=keys, published=candidate.published,
                                  window_days=dd.settings.window_days, exclude=candidate.item_id)
    decision = decide(candidate, neighbours, dd.seeds, dd.settings)
    match = prepared.match
    if stored is not None:
        item_id = stored.id
        old = store.get_item(db, item_id)
        assert old is not None, f"item {item_id} vanished inside the transaction"
        # Keep what the feed said before, then re-decide: the correction may change both answers.
        store.apply(db, [
            store.ItemEdit(item_id=item_id, entry=e, canonical_link=prepared.canonical_link,
                           content_hash=prepared.content_hash, language=prepared.language, match=match,
                           dedup=decision, review_status=review_status_after(
                               old.review_status, match.relevant, decision.duplicate_of), at=now),
            store.IndexEntry(item_id, candidate.published, keys)])
        kind = "updated"
    else:
        new_id = store.apply(db, [store.NewItem(
            source=source.name, entry=e, canonical_link=prepared.canonical_link,
            content_hash=prepared.content_hash, language=prepared.language, published=candidate.published,
            published_is_fetch_time=published is None, match=match, dedup=decision,
            review_status=review_status_after(None, match.relevant, decision.duplicate_of), at=now)])[0]
        assert new_id is not None
        item_id = new_id
        store.apply(db, [store.IndexEntry(item_id, candidate.published, keys)])
        kind = "new"
    repoint(db, item_id, decision, candidate, neighbours, dd)
    return kind


def _schedule(cfg: Config, source: Source, state: store.SourceState | None, result: FetchResult,
              failure: Failure | None, now: datetime) -> backoff.Schedule:
    failures, weight = (state.consecutive_failures, state.failure_weight) if state else (0, 0.0)
    if failure is None:
        return (backoff.after_not_modified if result.not_modified else backoff.after_success)(now, source.interval)
    return backoff.after_failure(now, source.interval, failures, weight, failure,
                                 parse_interval(cfg.fetch.backoff_cap))


def store_source(db: sqlite_utils.Database, cfg: Config, source: Source, result: FetchResult,
                 prepared: PreparedFeed | None, *, dd: Dedup, now: datetime, duration: float) -> SourceOutcome:
    """Record one source's poll, all or nothing, and say how it went.

    All or nothing: its own transaction, or a savepoint inside the caller's (the pipeline's batch)."""
    feed = prepared.feed if prepared is not None else None
    failure = result.failure or (feed.failure if feed is not None else None)
    outcome = SourceOutcome(name=source.name, status="ok", duration_s=duration)
    if failure is None and feed is not None:
        outcome.entries = len(feed.entries)
        outcome.problem = feed.problem
    with store.write(db):
        sched = _schedule(cfg, source, store.source_state(db, source.name), result, failure, now)
        update = store.SourceUpdate(
            name=source.name, last_attempt=now, next_check=sched.next_check, hold_until=sched.hold_until,
            consecutive_failures=sched.consecutive_failures, failure_weight=sched.failure_weight,
            permanent_redirect=result.permanent_redirect or store.KEEP)
        if failure is not None:
            outcome.status, outcome.error, outcome.error_kind = "failed", failure.message, failure.kind.value
            update = replace(update, last_error=failure.message, last_error_kind=failure.kind.value)
            if failure.kind is FailureKind.GONE:
                update = replace(update, disabled_reason=f"410 Gone at {store.iso(now)}: remove it from "
                                                         f"{cfg.path.name} or change its url")
        else:
            # Validators advance only together with the items they describe, in this transaction.
            update = replace(update, last_success=now, last_error=None, last_error_kind=None)
            if result.not_modified:
                outcome.status = "not_modified"
            else:
                update = replace(update, etag=result.etag, last_modified=result.last_modified,
                                  feed_title=feed.title if feed is not None and feed.title else store.KEEP)
            entries = prepared.entries if prepared is not None else []
            stored = store.items_for_update(db, source.name, [p.entry.guid for p in entries])
            saved: set[str] = set()
            seen: list[store.Change] = []
            for entry in entries:
                guid = entry.entry.guid
                if guid in saved:
                    # Listed twice in one feed: the first (feeds list newest first) is the item. Storing
                    # both made every poll of the unchanged feed an edit, and the edit an endless churn.
                    continue
                saved.add(guid)
                key = stored.get(guid)
                kind = save_entry(db, source, entry, dd=dd, now=now, stored=key)
                if kind == "seen" and key is not None:
                    seen.append(store.ItemSeen(key.id, now))
                outcome.new += kind == "new"
                outcome.updated += kind == "updated"
            store.apply(db, seen)
        store.apply(db, [update, store.FetchRecord(
            source=source.name, started_at=now, url=result.url, status=result.status, nbytes=result.nbytes,
            duration_ms=int(duration * 1000),
            outcome=failure.kind.value if failure else ("not_modified" if result.not_modified else "ok"),
            error=failure.message if failure else None, parser=feed.parser if feed else None,
            parse_problem=feed.problem if feed else None, entries=outcome.entries, new_items=outcome.new,
            updated_items=outcome.updated)])
    return outcome
