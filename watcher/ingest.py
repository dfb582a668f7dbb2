"""Store one source's poll: the fetch record, the source's new state, and every entry.

All of it is one IMMEDIATE transaction (the pipeline's, when it stores several sources in one), so a
crash mid-poll leaves the source exactly as it was before, and the next poll (whose conditional GET
validators were not advanced either) completes it. Every write is a store.apply()
intent; the decisions (dedup, review queue, backoff) are pure functions called from here.

Per entry (already parsed, matched and fingerprinted by prepare.py in a worker process; an entry that
hits no keyword has a seeds-only fingerprint: it is checked against its link and the seeds, and is
not indexed):
    same (source, guid), same text   -> seen again: only last_seen moves (ItemSeen)
    same (source, guid), new text    -> edit in place (ItemEdit): old text goes to item_versions; the
                                        new match is stored and dedup decided again
    new (source, guid)               -> dedup against seeds and stored items, insert (NewItem), index
    a guid listed again in one feed  -> skipped: the first listing (the newest) is the item

A new guid is not always a new item: some feeds give every entry a fresh guid on each poll (a session
id, a timestamp). Within a source (see same_item):
    new guid, same canonical link, same text            -> the same item, seen again
    new guid, same link, new text, the link's only row,
      whose own guid has left the feed                  -> the same item, corrected (as an edit in place)
    anything else                                       -> a new item (dedup then decides, as before)
The row keeps the guid it was first stored under: its id, reviews and digest entries point at it, and a
rotating feed would otherwise rewrite it on every poll.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlite_utils

from . import backoff, store
from .config import Config, DedupSettings, Source, parse_interval
from .dates import implausible
from .dedup import Candidate, SeedIndex, adopt_later, decide, index_keys
from .fulltext.enrich import page_info
from .model import DedupDecision, EntryData, Failure, FailureKind, FetchResult
from .prepare import PreparedEntry, PreparedFeed
from .review import review_status_after


@dataclass
class SourceOutcome:
    name: str
    status: str  # ok | not_modified | failed | deferred
    new: int = 0
    updated: int = 0
    entries: int = 0
    error: str | None = None
    error_kind: str | None = None
    duration_s: float = 0.0
    problem: str | None = None  # a parse problem that was recovered from

    def log_line(self) -> str:
        if self.status == "deferred":
            return f"{self.name}: deferred to the next poll: {self.error}"
        text = f"{self.name}: {self.status} new={self.new} updated={self.updated} {self.duration_s:.2f}s"
        if self.error:
            text += f" error={self.error_kind}: {self.error}"
        return text


def publication_date(entry: EntryData, now: datetime) -> tuple[datetime | None, str | None]:
    """The entry's publication date, or None and why the feed's date cannot be used (None, None: it gave
    none). A date before 1990 or days ahead of `now` is a placeholder or a typo (see watcher.dates)."""
    dates = [d for d in (entry.published, entry.updated) if d is not None]
    for d in dates:
        if implausible(d, now) is None:
            return d, None
    if dates:
        return None, f"the feed's date {store.iso(dates[0])} is {implausible(dates[0], now)}"
    return None, entry.date_problem


def same_item(candidates: list[store.LinkedItem], content_hash: str, poll_guids: set[str]) -> store.StoredKey | None:
    """The stored item that an entry under a guid not stored yet really is, or None.

    `candidates` are the source's items with the entry's canonical link, oldest first. Same link and
    same text: the feed rotated the guid. Same link, new text: a correction under a new guid, but only
    when it cannot be a different item: the link has one item, and that item's own guid is gone from
    the feed (a feed that links every entry to its home page lists them side by side).
    """
    for c in candidates:
        if c.content_hash == content_hash:
            return store.StoredKey(c.id, c.content_hash)
    if len(candidates) == 1 and candidates[0].guid not in poll_guids:
        return store.StoredKey(candidates[0].id, candidates[0].content_hash)
    return None


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
               now: datetime, stored: store.StoredKey | None, origin: str = "poll") -> str:
    """Insert or update one entry. Returns "new", "updated" or "seen" (the caller records a "seen"). Runs
    inside the caller's transaction.

    `stored` is the item the entry already is (None: not stored yet). `origin` is how a new item came
    in (poll | backfill); an item already stored keeps the origin it had.
    """
    e = prepared.entry
    if stored is not None and stored.content_hash == prepared.content_hash:
        # Seen before, unchanged: the common case on every poll; the caller batches the ItemSeen.
        return "seen"
    published, date_note = publication_date(e, now)
    candidate = Candidate(item_id=stored.id if stored else None, published=published or now,
                          fingerprint=prepared.fingerprint, link_key=prepared.canonical_link, seed=prepared.seed)
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
                               old.review_status, match.relevant, decision.duplicate_of), at=now,
                           page=page_info(source, prepared)),
            store.IndexEntry(item_id, candidate.published, keys)])
        kind = "updated"
    else:
        new_id = store.apply(db, [store.NewItem(
            source=source.name, entry=e, canonical_link=prepared.canonical_link,
            content_hash=prepared.content_hash, language=prepared.language, published=candidate.published,
            published_is_fetch_time=published is None, date_note=date_note, origin=origin, match=match,
            dedup=decision, page=page_info(source, prepared),
            review_status=review_status_after(None, match.relevant, decision.duplicate_of), at=now)])[0]
        assert new_id is not None
        item_id = new_id
        if keys:  # most new items have none (no keyword hit): nothing to index, nothing to remove
            store.apply(db, [store.IndexEntry(item_id, candidate.published, keys)])
        kind = "new"
    repoint(db, item_id, decision, candidate, neighbours, dd)
    return kind


def store_entries(db: sqlite_utils.Database, source: Source, entries: list[PreparedEntry], *, dd: Dedup,
                  now: datetime, origin: str = "poll") -> list[str]:
    """Store a list of prepared entries of one source: "new", "updated", "seen" or "repeat" for each.

    The one path every item takes into the store, polled or backfilled (watcher/backfill/). Runs
    inside the caller's transaction."""
    poll_guids = {p.entry.guid for p in entries}
    stored = store.items_for_update(db, source.name, list(poll_guids))
    by_link = store.items_by_link(db, source.name, sorted({
        p.canonical_link for p in entries if p.canonical_link and p.entry.guid not in stored}))
    saved: set[str] = set()
    saved_keys: set[tuple[str, str]] = set()
    claimed: set[int] = set()  # stored items an entry of this list turned out to be
    seen: list[store.Change] = []
    kinds = []
    for entry in entries:
        guid = entry.entry.guid
        same = (entry.canonical_link or "", entry.content_hash)
        if guid in saved or (entry.canonical_link and same in saved_keys):
            # Listed twice in one feed (under one guid, or two guids with the same link and text):
            # the first (feeds list newest first) is the item. Storing both made every poll of the
            # unchanged feed an edit, and the edit an endless churn.
            kinds.append("repeat")
            continue
        saved.add(guid)
        saved_keys.add(same)
        key = stored.get(guid)
        if key is None and entry.canonical_link:
            key = same_item(by_link.get(entry.canonical_link, []), entry.content_hash, poll_guids)
            if key is not None and key.id in claimed:
                key = None  # two new entries cannot both be one stored item: the second is new
        if key is not None:
            claimed.add(key.id)
        kind = save_entry(db, source, entry, dd=dd, now=now, stored=key, origin=origin)
        if kind == "seen" and key is not None:
            seen.append(store.ItemSeen(key.id, now))
        kinds.append(kind)
    store.apply(db, seen)
    return kinds


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

    All or nothing: its own transaction, or the caller's. The pipeline stores the sources ready together
    in one transaction, and an error storing any of them ends the poll and rolls that transaction back,
    so a savepoint per source would add nothing but its cost (7% of a cold poll's disk writes:
    every page a savepoint first changes is copied to a sub-journal)."""
    feed = prepared.feed if prepared is not None else None
    failure = result.failure or (feed.failure if feed is not None else None)
    outcome = SourceOutcome(name=source.name, status="ok", duration_s=duration)
    if failure is None and feed is not None:
        outcome.entries = len(feed.entries)
        outcome.problem = feed.problem
    with store.write(db, savepoint=False):
        sched = _schedule(cfg, source, store.source_state(db, source.name), result, failure, now)
        update = store.SourceUpdate(
            name=source.name, last_attempt=now, next_check=sched.next_check, hold_until=sched.hold_until,
            consecutive_failures=sched.consecutive_failures, failure_weight=sched.failure_weight,
            permanent_redirect=result.permanent_redirect or store.KEEP,
            deferred=None)  # it was polled: an earlier deferral is over
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
            kinds = store_entries(db, source, prepared.entries if prepared is not None else [], dd=dd, now=now)
            outcome.new = kinds.count("new")
            outcome.updated = kinds.count("updated")
        store.apply(db, [update, store.FetchRecord(
            source=source.name, started_at=now, url=result.url, status=result.status, nbytes=result.nbytes,
            duration_ms=int(duration * 1000),
            outcome=failure.kind.value if failure else ("not_modified" if result.not_modified else "ok"),
            error=failure.message if failure else None, parser=feed.parser if feed else None,
            parse_problem=feed.problem if feed else None, entries=outcome.entries, new_items=outcome.new,
            updated_items=outcome.updated)])
    return outcome


def store_deferred(db: sqlite_utils.Database, source: Source, reason: str) -> SourceOutcome:
    """A source this poll did not get to (its host stopped answering, or the poll ran out of time).

    Only the reason is recorded, for `watcher status`: it is not the source's failure, so its
    failure count, backoff and next check stay as they were, and the next poll tries it as usual."""
    store.apply(db, [store.SourceDeferred(source.name, reason)])
    return SourceOutcome(name=source.name, status="deferred", error=reason)
