"""Store one source's poll: the fetch record, the source's new state, and every entry.

All of it is one IMMEDIATE transaction (a savepoint, when the pipeline stores several sources in one
transaction), so a crash mid-poll leaves the source exactly as it was before, and the next poll (whose
conditional GET validators were not advanced either) completes it.

Per entry (already parsed, matched and fingerprinted by prepare.py in a worker process):
    same (source, guid), same text   -> seen again: only last_seen moves
    same (source, guid), new text    -> edit in place: old text goes to item_versions; the new match
                                        is stored and dedup decided again
    new (source, guid)               -> dedup against seeds and stored items, insert, index
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

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from . import backoff, store
from .config import Config, Source, parse_interval
from .dates import implausible
from .dedup import Deduper
from .match import review_status_after
from .model import (
    DedupDecision,
    EntryData,
    Failure,
    FailureKind,
    FetchResult,
    ItemIntent,
    MatchResult,
)
from .fulltext.storeops import page_columns
from .prepare import PreparedEntry, PreparedFeed


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


def make_intent(source: Source, prepared: PreparedEntry, now: datetime) -> ItemIntent:
    """Turn a prepared entry into what the store needs (dedup comes after, against the store)."""
    entry = prepared.entry
    published, note = publication_date(entry, now)
    return ItemIntent(
        source=source.name,
        entry=entry,
        published=published or now,
        published_is_fetch_time=published is None,
        language=prepared.language,
        match=prepared.match,
        date_note=note,
    )


def _match_columns(m: MatchResult) -> dict:
    return {
        "relevant": int(m.relevant),
        "score": round(m.score, 4),
        "topics": store.dumps(m.topics),
        "keywords": store.dumps(m.keywords),
        "hits": store.dumps([h.__dict__ for h in m.hits]),
    }


def _dedup_columns(d: DedupDecision) -> dict:
    return {
        "duplicate_of": d.duplicate_of,
        "dup_method": d.method,
        "dup_score": None if d.score is None else round(d.score, 4),
        "dup_possible": int(d.possible),
    }


def _decide(deduper: Deduper, intent: ItemIntent, prepared: PreparedEntry, item_id: int | None,
            now: datetime) -> DedupDecision:
    e = intent.entry
    return deduper.decide(item_id=item_id, source=intent.source, guid=e.guid, link=e.link, title=e.title,
                          summary=e.summary, content=e.content, language=intent.language,
                          published=intent.published, now=now, fingerprint=prepared.fingerprint,
                          link_key=prepared.canonical_link)


def _remember(deduper: Deduper, item_id: int, intent: ItemIntent, prepared: PreparedEntry) -> None:
    e = intent.entry
    deduper.remember(item_id, title=e.title, summary=e.summary, content=e.content, language=intent.language,
                     published=intent.published, link=e.link, link_key=prepared.canonical_link)


_STORED = "SELECT guid, id, content_hash FROM items"
_BY_LINK = "SELECT canonical_link, id, content_hash, guid FROM items"


def stored_rows(db: sqlite_utils.Database, source: Source, guids: list[str]) -> dict[str, tuple]:
    """(id, content_hash) of these guids of a source, by guid: one query per source, not one per entry."""
    out: dict[str, tuple] = {}
    for i in range(0, len(guids), 500):  # well under SQLite's limit on bound parameters
        chunk = guids[i:i + 500]
        marks = ",".join("?" for _ in chunk)
        for row in db.execute(f"{_STORED} WHERE source = ? AND guid IN ({marks})", [source.name, *chunk]):
            out[row[0]] = row[1:]
    return out


def stored_by_link(db: sqlite_utils.Database, source: Source, links: list[str]) -> dict[str, list[tuple]]:
    """(id, content_hash, guid) of a source's rows with these canonical links, oldest first, by link."""
    out: dict[str, list[tuple]] = {}
    for i in range(0, len(links), 500):
        chunk = links[i:i + 500]
        marks = ",".join("?" for _ in chunk)
        for row in db.execute(f"{_BY_LINK} WHERE source = ? AND canonical_link IN ({marks}) ORDER BY id",
                              [source.name, *chunk]):
            out.setdefault(row[0], []).append(row[1:])
    return out


def same_item(candidates: list[tuple], content_hash: str, poll_guids: set[str]) -> tuple | None:
    """The stored row (id, content_hash) that an entry under a guid not stored yet really is, or None.

    `candidates` are the source's rows with the entry's canonical link, as (id, content_hash, guid).
    Same link and same text: the feed rotated the guid. Same link, new text: a correction under a new
    guid, but only when it cannot be a different item: the link has one row, and that row's own guid
    is gone from the feed (a feed that links every entry to its home page lists them side by side).
    """
    for item_id, digest, _guid in candidates:
        if digest == content_hash:
            return item_id, digest
    if len(candidates) == 1 and candidates[0][2] not in poll_guids:
        return candidates[0][:2]
    return None


def save_entry(db: sqlite_utils.Database, source: Source, prepared: PreparedEntry, *, deduper: Deduper,
               now: datetime, stored: tuple | None, origin: str = "poll") -> str:
    """Insert or update one entry. Returns "new", "updated" or "seen". Runs inside the caller's transaction.

    `stored` is what stored_rows() found of the entry's guid (None: not stored yet). `origin` is how a
    new item came in (poll | backfill); an item already stored keeps the origin it had.
    """
    e = prepared.entry
    digest = prepared.content_hash
    row = stored
    if row is not None and row[1] == digest:
        # Seen before, unchanged: the common case on every poll, so it costs one lookup and nothing more.
        db.execute("UPDATE items SET last_seen = ? WHERE id = ?", [store.iso(now), row[0]])
        return "seen"
    intent = make_intent(source, prepared, now)
    columns = {
        "link": e.link,
        "canonical_link": prepared.canonical_link,
        "title": e.title,
        "summary": e.summary,
        "content": e.content,
        "summary_html": e.summary_html,
        "author": e.author,
        "language": intent.language,
        "last_seen": store.iso(now),
        "content_hash": digest,
        **_match_columns(intent.match),
        **page_columns(prepared),  # full text (issue 11): content is then the page's, see watcher/fulltext
    }
    if row is not None:
        item_id = row[0]
        version, title, summary, content, link, review = db.execute(
            "SELECT version, title, summary, content, link, review_status FROM items WHERE id = ?",
            [item_id]).fetchone()
        # Keep what the feed said before, then re-decide: the correction may change both answers.
        db.execute(
            "INSERT INTO item_versions (item_id, version, title, summary, content, link, replaced_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [item_id, version, title, summary, content, link, store.iso(now)],
        )
        deduper.forget(item_id)
        decision = _decide(deduper, intent, prepared, item_id, now)
        columns.update(_dedup_columns(decision))
        columns["version"] = version + 1
        columns["updated_at"] = store.iso(now)
        columns["review_status"] = review_status_after(review, intent.match.relevant, decision.duplicate_of)
        sets = ", ".join(f"{k} = ?" for k in columns)
        db.execute(f"UPDATE items SET {sets} WHERE id = ?", [*columns.values(), item_id])
        _remember(deduper, item_id, intent, prepared)
        return "updated"
    decision = _decide(deduper, intent, prepared, None, now)
    columns.update(_dedup_columns(decision))
    columns.update(
        source=intent.source,
        guid=e.guid,
        guid_kind=e.guid_kind,
        published=store.iso(intent.published),
        published_is_fetch_time=int(intent.published_is_fetch_time),
        date_note=intent.date_note,
        fetched_at=store.iso(now),
        origin=origin,
        review_status=review_status_after(None, intent.match.relevant, decision.duplicate_of),
    )
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    cur = db.execute(f"INSERT INTO items ({names}) VALUES ({marks})", list(columns.values()))
    _remember(deduper, cur.lastrowid, intent, prepared)
    return "new"


def store_entries(db: sqlite_utils.Database, source: Source, entries: list[PreparedEntry], *, deduper: Deduper,
                  now: datetime, origin: str = "poll") -> list[str]:
    """Store a list of prepared entries of one source: "new", "updated", "seen" or "repeat" for each.

    The one path every item takes into the store, polled or backfilled (watcher/backfill/). Runs
    inside the caller's transaction."""
    poll_guids = {p.entry.guid for p in entries}
    stored = stored_rows(db, source, list(poll_guids))
    by_link = stored_by_link(db, source, sorted({p.canonical_link for p in entries
                                                 if p.canonical_link and p.entry.guid not in stored}))
    saved: set[str] = set()
    saved_keys: set[tuple[str, str]] = set()
    claimed: set[int] = set()  # stored rows an entry of this list turned out to be
    kinds = []
    for entry in entries:
        guid = entry.entry.guid
        key = (entry.canonical_link or "", entry.content_hash)
        if guid in saved or (entry.canonical_link and key in saved_keys):
            # Listed twice in one feed (under one guid, or two guids with the same link and text):
            # the first (feeds list newest first) is the item. Storing both made every poll of the
            # unchanged feed an edit, and the edit an endless churn.
            kinds.append("repeat")
            continue
        saved.add(guid)
        saved_keys.add(key)
        row = stored.get(guid)
        if row is None and entry.canonical_link:
            row = same_item(by_link.get(entry.canonical_link, []), entry.content_hash, poll_guids)
            if row is not None and row[0] in claimed:
                row = None  # two new entries cannot both be one stored item: the second is new
        if row is not None:
            claimed.add(row[0])
        kinds.append(save_entry(db, source, entry, deduper=deduper, now=now, stored=row, origin=origin))
    return kinds


def _schedule(db: sqlite_utils.Database, cfg: Config, source: Source, result: FetchResult,
              failure: Failure | None, now: datetime) -> tuple[dict, backoff.Schedule]:
    row = db.execute("SELECT consecutive_failures, failure_weight FROM sources WHERE name = ?", [source.name]).fetchone()
    failures, weight = (row[0], row[1]) if row else (0, 0.0)
    if failure is None:
        sched = (backoff.after_not_modified if result.not_modified else backoff.after_success)(now, source.interval)
    else:
        sched = backoff.after_failure(now, source.interval, failures, weight, failure,
                                      parse_interval(cfg.fetch.backoff_cap))
    state = {
        "last_attempt": store.iso(now),
        "next_check": store.iso(sched.next_check),
        "hold_until": store.iso(sched.hold_until),
        "consecutive_failures": sched.consecutive_failures,
        "failure_weight": sched.failure_weight,
    }
    return state, sched


def store_source(db: sqlite_utils.Database, cfg: Config, source: Source, result: FetchResult,
                 prepared: PreparedFeed | None, *, deduper: Deduper, now: datetime, duration: float) -> SourceOutcome:
    """Record one source's poll, all or nothing, and say how it went.

    All or nothing: its own transaction, or a savepoint inside the caller's (the pipeline's batch)."""
    feed = prepared.feed if prepared is not None else None
    failure = result.failure or (feed.failure if feed is not None else None)
    outcome = SourceOutcome(name=source.name, status="ok", duration_s=duration)
    if failure is None and feed is not None:
        outcome.entries = len(feed.entries)
        outcome.problem = feed.problem
    with store.write(db):
        state, _ = _schedule(db, cfg, source, result, failure, now)
        if failure is not None:
            outcome.status, outcome.error, outcome.error_kind = "failed", failure.message, failure.kind.value
            state.update(last_error=failure.message, last_error_kind=failure.kind.value)
            if failure.kind is FailureKind.GONE:
                state["disabled_reason"] = f"410 Gone at {store.iso(now)}: remove it from {cfg.path.name} or change its url"
        else:
            # Validators advance only together with the items they describe, in this transaction.
            state.update(last_success=store.iso(now), last_error=None, last_error_kind=None)
            if result.not_modified:
                outcome.status = "not_modified"
            else:
                state.update(etag=result.etag, last_modified=result.last_modified)
                if feed is not None and feed.title:
                    state["feed_title"] = feed.title
            kinds = store_entries(db, source, prepared.entries if prepared is not None else [],
                                  deduper=deduper, now=now)
            outcome.new = kinds.count("new")
            outcome.updated = kinds.count("updated")
        state["deferred"] = None  # it was polled: an earlier deferral is over
        if result.permanent_redirect:
            state["permanent_redirect"] = result.permanent_redirect
        sets = ", ".join(f"{k} = ?" for k in state)
        db.execute(f"UPDATE sources SET {sets} WHERE name = ?", [*state.values(), source.name])
        db.execute(
            "INSERT INTO fetches (source, started_at, url, status, bytes, duration_ms, outcome, error, parser,"
            " parse_problem, entries, new_items, updated_items) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [source.name, store.iso(now), result.url, result.status, result.nbytes, int(duration * 1000),
             failure.kind.value if failure else ("not_modified" if result.not_modified else "ok"),
             failure.message if failure else None, feed.parser if feed else None,
             feed.problem if feed else None, outcome.entries, outcome.new, outcome.updated],
        )
    return outcome


def store_deferred(db: sqlite_utils.Database, source: Source, reason: str) -> SourceOutcome:
    """A source this poll did not get to (its host stopped answering, or the poll ran out of time).

    Only the reason is recorded, for `watcher status`: it is not the source's failure, so its
    failure count, backoff and next check stay as they were, and the next poll tries it as usual."""
    with store.write(db):
        db.execute("UPDATE sources SET deferred = ? WHERE name = ?", [reason, source.name])
    return SourceOutcome(name=source.name, status="deferred", error=reason)
