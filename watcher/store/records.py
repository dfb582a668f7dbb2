"""What the store hands out (read results) and takes in (write intents): plain frozen dataclasses.

Callers never see a row tuple or a column name. Times are aware UTC datetimes; JSON columns are
lists; flags are bools.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

from ..model import DedupDecision, EntryData, MatchResult, Neighbour, Neighbours


class _Keep:
    """Marks a field of a write intent that leaves the stored value as it is."""

    _instance: "_Keep | None" = None

    def __new__(cls) -> "_Keep":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()

# --- read results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceState:
    """A source as the store last left it (None for what has not happened yet)."""

    name: str
    url: str
    enabled: bool
    etag: str | None
    last_modified: str | None
    last_attempt: datetime | None
    last_success: datetime | None
    next_check: datetime | None
    hold_until: datetime | None
    consecutive_failures: int
    failure_weight: float
    last_error: str | None
    last_error_kind: str | None
    permanent_redirect: str | None
    disabled_reason: str | None
    feed_title: str | None
    deferred: str | None = None  # why the last poll did not get to it


@dataclass(frozen=True)
class StoredKey:
    """What a poll needs to know of an entry's guid: its item, and whether its text changed."""

    id: int
    content_hash: str


@dataclass(frozen=True)
class LinkedItem:
    """A source's stored item found by its canonical link (for feeds that rotate guids)."""

    id: int
    content_hash: str
    guid: str


@dataclass(frozen=True)
class StoredItem:
    """An item as stored (the columns a caller may need; JSON lists decoded)."""

    id: int
    source: str
    guid: str
    guid_kind: str
    link: str | None
    canonical_link: str | None
    title: str
    summary: str
    content: str
    summary_html: str
    author: str | None
    language: str | None
    published: datetime
    published_is_fetch_time: bool
    fetched_at: datetime
    last_seen: datetime
    updated_at: datetime | None
    version: int
    content_hash: str
    relevant: bool
    score: float
    topics: list[str]
    keywords: list[str]
    hits: list[dict]
    duplicate_of: str | None
    dup_method: str | None
    dup_score: float | None
    dup_possible: bool
    review_status: str | None
    date_note: str | None = None  # why it is dated by fetch time although the feed gave a date
    origin: str = "poll"  # poll | backfill: how it came in
    # Full text (watcher/fulltext/): where `content` came from, and the page's outcome.
    content_source: str = "feed"  # feed | page
    feed_content: str | None = None
    page_link: str | None = None
    page_status: str | None = None
    page_note: str | None = None
    page_fetched_at: str | None = None


@dataclass(frozen=True)
class Follower:
    """An item whose duplicate_of names another item (it follows that one when it is re-pointed)."""

    id: int
    relevant: bool
    review_status: str | None
    dup_method: str | None
    dup_score: float | None


@dataclass(frozen=True)
class ItemText:
    title: str
    summary: str
    content: str
    language: str | None


@dataclass(frozen=True)
class Repost:
    id: int
    source: str
    link: str | None
    title: str
    dup_method: str | None
    dup_score: float | None


@dataclass(frozen=True)
class ReviewEvent:
    status: str
    previous: str | None
    who: str
    at: str
    note: str | None
    origin: str


@dataclass(frozen=True)
class Version:
    version: int
    title: str
    replaced_at: str


@dataclass(frozen=True)
class FailureSummary:
    """A source whose fetches failed in a span: for a digest's header."""

    source: str
    kind: str
    error: str | None
    count: int
    last: str
    still_failing: bool


@dataclass(frozen=True)
class DigestRecord:
    """A digest as recorded the day it was built: its frame and its items, with their topic."""

    day: str  # YYYY-MM-DD
    built_at: datetime
    cutoff: datetime
    timezone: str
    failures: list[dict]
    members: list[tuple[StoredItem, str]]  # (item, topic)
    reposts: dict[int, list[Repost]]  # per member, its reposts fetched before the cutoff
    sent_at: datetime | None = None


# --- write intents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    """Insert an entry seen for the first time."""

    source: str
    entry: EntryData
    canonical_link: str | None
    content_hash: str
    language: str | None
    published: datetime
    published_is_fetch_time: bool
    match: MatchResult
    dedup: DedupDecision
    review_status: str | None
    at: datetime  # fetched_at and last_seen
    date_note: str | None = None  # why the feed's own date was not used, when it gave one
    origin: str = "poll"  # poll | backfill
    page: Any = None  # fulltext.enrich.PageInfo: what the full-text step did (None: it did not see it)


@dataclass(frozen=True)
class ItemEdit:
    """An edit in place: the stored text becomes the next item_versions row, the new text replaces it."""

    item_id: int
    entry: EntryData
    canonical_link: str | None
    content_hash: str
    language: str | None
    match: MatchResult
    dedup: DedupDecision
    review_status: str | None
    at: datetime
    page: Any = None  # fulltext.enrich.PageInfo, as for NewItem


@dataclass(frozen=True)
class ItemSeen:
    item_id: int
    at: datetime


@dataclass(frozen=True)
class Review:
    """A review decision as history keeps it (reviews row)."""

    who: str
    at: datetime
    note: str | None
    origin: str


@dataclass(frozen=True)
class ItemChange:
    """A change to an item's decisions: any of its match, its dedup decision, its review status.

    A field left KEEP is not touched. With `review`, the new review_status is also recorded in the
    item's review history, with who, when and why."""

    item_id: int
    match: MatchResult | _Keep = KEEP
    dedup: DedupDecision | _Keep = KEEP
    review_status: str | None | _Keep = KEEP
    review: Review | None = None
    previous_review_status: str | None = None  # what it was, for the history row


@dataclass(frozen=True)
class PageUpdate:
    """The full-text step's outcome for a stored item (`watcher fulltext`): with a page's text
    (page.content_source == "page"), it becomes the item's content, in `language`; otherwise only the
    page's status is recorded and the text stays as it is."""

    item_id: int
    page: Any  # fulltext.enrich.PageInfo
    content: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class IndexEntry:
    """Put an item in the LSH index under these keys, or take it out (keys empty)."""

    item_id: int
    published: datetime
    keys: list[int]


@dataclass(frozen=True)
class SourceUpdate:
    """A source's new state after a poll; KEEP leaves a column as it is."""

    name: str
    last_attempt: datetime
    next_check: datetime
    hold_until: datetime | None
    consecutive_failures: int
    failure_weight: float
    last_success: datetime | _Keep = KEEP
    last_error: str | None | _Keep = KEEP
    last_error_kind: str | None | _Keep = KEEP
    etag: str | None | _Keep = KEEP
    last_modified: str | None | _Keep = KEEP
    feed_title: str | _Keep = KEEP
    permanent_redirect: str | _Keep = KEEP
    disabled_reason: str | _Keep = KEEP
    deferred: str | None | _Keep = KEEP


@dataclass(frozen=True)
class SourceDeferred:
    """A source the poll did not get to, and why: recorded for `status`; nothing else changes."""

    name: str
    reason: str


@dataclass(frozen=True)
class FetchRecord:
    """One row of the fetch log."""

    source: str
    started_at: datetime
    url: str
    status: int | None
    nbytes: int
    duration_ms: int
    outcome: str
    error: str | None
    parser: str | None
    parse_problem: str | None
    entries: int
    new_items: int
    updated_items: int


Change = Union[NewItem, ItemEdit, ItemSeen, ItemChange, PageUpdate, IndexEntry, SourceUpdate, SourceDeferred,
               FetchRecord]
