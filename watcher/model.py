"""The stage types: each names where data comes from and where it goes.

    sources.yaml --config.load--> Source
    Source --fetch.Fetcher.fetch--> FetchResult       (bytes + headers, or a classified failure)
    FetchResult --parse.parse_feed--> FeedData        (entries, or a parse failure)
    EntryData --prepare--> PreparedEntry              (+ MatchResult from match, Fingerprint for dedup)
    PreparedEntry + Neighbours --dedup.decide--> DedupDecision
    all of it --ingest.store_source--> store.apply(NewItem | ItemEdit | ...) --> items table

Failures that belong to one feed (a timeout, a 404, a broken XML file) travel as values in these types,
so one bad source never stops the others. Anything else is a bug and is allowed to crash.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class FailureKind(str, enum.Enum):
    """Why a fetch or parse gave nothing usable. Stored as text in `fetches.outcome`."""

    DNS = "dns"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    TLS = "tls"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"  # 429, and 503 with Retry-After
    GONE = "gone"  # 410: the source is disabled
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BAD_URL = "bad_url"  # not http(s), or a redirect to somewhere that is not
    NOT_A_FEED = "not_a_feed"  # HTML page, empty 200, bytes no parser recognises
    PARSE_ERROR = "parse_error"  # hostile or broken XML that yielded no entries
    PROTOCOL = "protocol"  # the server broke HTTP itself
    INTERNAL = "internal"  # a bug (or a crashed parser process) while handling this one source


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None  # seconds the server asked us to wait


@dataclass(frozen=True)
class FetchResult:
    """What the fetch layer hands the parser."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int | None
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a 304: nothing to parse, nothing new
    permanent_redirect: str | None = None  # where a 301/308 chain ended, if it did
    failure: Failure | None = None
    elapsed: float = 0.0
    nbytes: int = 0
    # Not fetched this poll, and why (its host stopped answering, or the poll's deadline passed): not
    # the source's failure, so no backoff; it is simply tried again at the next poll.
    deferred: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.deferred is None

    @property
    def problem(self) -> str:
        """Why it gave nothing usable: the failure's message, or why it was deferred."""
        if self.failure is not None:
            return self.failure.message
        return self.deferred or "no usable response"


@dataclass(frozen=True)
class EntryData:
    """One entry as the parser saw it, text already cleaned of HTML."""

    guid: str  # identity within its source: guid, else link, else hash of title and content
    guid_kind: str  # "guid" | "link" | "hash"
    link: str | None
    title: str
    summary: str  # plain text
    content: str  # plain text, "" when the feed carries only a summary
    summary_html: str  # the feed's own HTML, kept for the digest (sanitised there)
    published: datetime | None  # UTC
    updated: datetime | None  # UTC
    author: str | None = None
    language: str | None = None
    date_problem: str | None = None  # the entry had a date that could not be read (then published is None)


@dataclass(frozen=True)
class FeedData:
    """What the parser hands the processing stage."""

    title: str | None
    link: str | None
    language: str | None
    entries: list[EntryData]
    parser: str  # "fastfeedparser" | "feedparser" | "json" (JSON Feed)
    problem: str | None = None  # a bozo problem that a lenient parse recovered from
    failure: Failure | None = None  # no usable feed at all
    # The feed's own <link rel=... href=...> (absolute), e.g. RFC 5005 "prev-archive" and "next":
    # what a backfill follows into the archive. And its <generator> ("WordPress" has ?paged=N).
    links: tuple[tuple[str, str], ...] = ()
    generator: str | None = None


@dataclass(frozen=True)
class Hit:
    """One keyword that fired: which topic, which term, where."""

    topic: str
    term: str
    field: str  # "title" | "summary" | "content"
    start: int  # offsets into the original (unfolded) field text
    end: int
    weight: float  # the rule's weight
    # What this hit added to the item's score: a term counts once per topic (on its first hit, in
    # field order), times title_weight if it is in the title; its other hits add 0. Sums to the score.
    points: float = 0.0


@dataclass(frozen=True)
class MatchResult:
    relevant: bool
    score: float
    topics: list[str]
    keywords: list[str]
    hits: list[Hit]


NO_MATCH = MatchResult(relevant=False, score=0.0, topics=[], keywords=[], hits=[])


@dataclass(frozen=True)
class DedupDecision:
    """Whether an item repeats something the analyst has already seen, and why we think so."""

    duplicate_of: str | None  # None | "seed:<file name>" | "item:<id>"
    method: str | None  # "guid" | "link" | "containment" | "resemblance" | "crosslingual"
    score: float | None = None
    possible: bool = False  # a low-confidence flag (cross-lingual): shown, not hidden


NOT_DUPLICATE = DedupDecision(duplicate_of=None, method=None)


@dataclass(frozen=True)
class Neighbour:
    """A stored item that may repeat an item being decided, or be repeated by it: the store finds these
    (store.neighbours), the pure decider reads them (dedup/decide.py)."""

    id: int
    published: int  # epoch seconds of items.published
    indexed_published: int | None  # epoch seconds in the LSH index; None when found by link only
    # The text, for verifying a neighbour found through the LSH index. Found by link, "": the link is
    # the evidence, so the store does not read the text (a wire story's copies each read every earlier
    # copy's whole article, a fifth of a cold poll's storing time in bench/poll.py).
    title: str
    summary: str
    content: str
    duplicate_of: str | None
    dup_possible: bool
    # Epoch seconds of the item named by duplicate_of (item:<id>). Found by link, read only for an item
    # published no earlier than the one decided (the only ones adopt_later may re-point), else None.
    original_published: int | None


@dataclass(frozen=True)
class Neighbours:
    # Same canonical link, in id order: the earliest such item, and those after the item decided
    # (the ones decide() and adopt_later() read; store.neighbours says why not all of them).
    by_link: list[Neighbour] = field(default_factory=list)
    near: list[Neighbour] = field(default_factory=list)  # sharing LSH keys, most shared first
