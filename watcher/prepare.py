"""The CPU-heavy, store-free part of processing a feed: parse it, match every entry, fingerprint it
(whole only when a reader may see it, a match score above zero: dedup.worth_fingerprinting).

All three are pure functions of the fetched bytes and the (read-only) keyword list, so they run in the
pipeline's worker processes, one feed per task, while the main process fetches and stores. So do the
small per-entry keys the store needs (canonical link, content hash): the storing process is the one
that limits a large poll, and anything pure that it need not do, it should not. What needs
the store (is this entry new? does it repeat a stored item?) stays in `ingest.py`.

Most entries hit no keyword (under 1% of the real feeds' items do), and for them the whole
fingerprint, 40% of an entry's CPU here, would buy nothing: they are checked against the seeds
(a seeds-only fingerprint, less than half the cost) and linked by their link, and not indexed. In the
workers that seed check is made here too (`seed_check`), for a whole feed at once, and only its
verdict goes to the storing process: their shingles were half of what a worker sent it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import hashlib

from .dedup.decide import UNCHECKED, Unchecked
from .dedup.fingerprint import Fingerprint, fingerprint, seeds_only_fingerprints, worth_fingerprinting
from .dedup.shingles import fold_text
from .lifeline import bind_to_parent
from .links import canonical_link
from .match import Matcher
from .model import DedupDecision, EntryData, FeedData, MatchResult
from .parse import parse_feed


@dataclass(frozen=True)
class PreparedEntry:
    entry: EntryData
    language: str | None
    match: MatchResult
    fingerprint: Fingerprint  # seeds_only unless the entry hits a keyword (worth_fingerprinting)
    canonical_link: str | None  # links.canonical_link(entry.link): the link-dedup key
    content_hash: str  # content_hash(entry): how an edit in place is recognised
    # An entry that hits no keyword, prepared with a seed check (in a worker): its seed_verdict(), and
    # its fingerprint without the shingles, which the storing process then never needs.
    seed: DedupDecision | None | Unchecked = UNCHECKED
    fulltext: object | None = None  # watcher.fulltext.enrich.PageInfo: what the full-text step did (issue 11)


@dataclass(frozen=True)
class PreparedFeed:
    feed: FeedData
    entries: list[PreparedEntry]


def content_hash(e: EntryData) -> str:
    """What counts as an edit: a new title, summary, text or link under the same guid."""
    # Each part followed by a NUL byte, hashed as one string: one encode and one update, not eight.
    text = "\x00".join((e.title, e.summary, e.content, e.link or "", ""))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def item_language(source_language: str | None, entry: EntryData, feed: FeedData) -> str | None:
    """The configured language wins; else the entry's, else the feed's; "zh-CN" -> "zh"."""
    language = source_language or entry.language or feed.language
    return (language or "").split("-")[0].split("_")[0].lower() or None


# Checks a feed's seeds-only fingerprints against the seeds: dedup.seed_verdicts with the seeds and
# thresholds bound.
SeedCheck = Callable[[list[Fingerprint]], "list[DedupDecision | None]"]


def prepare_entry(matcher: Matcher, feed: FeedData, entry: EntryData, source_language: str | None) -> PreparedEntry:
    return prepare_entries(matcher, feed, [entry], source_language)[0]


def prepare_entries(matcher: Matcher, feed: FeedData, entries: list[EntryData],
                    source_language: str | None, seed_check: SeedCheck | None = None) -> list[PreparedEntry]:
    """Match and fingerprint a feed's entries. Each field is folded once, for the matcher and the
    fingerprint both; the entries that hit no keyword (nearly all) get their seeds-only
    fingerprints in one batch.

    With `seed_check`, those are also checked against the seeds here, and their shingles dropped: the
    verdict is all the storing process needs of them, and the shingles were half of what a worker sent
    it (a feed's pickled result was 1.8x its bytes; unpickling them, ~1.5 ms of its CPU per feed)."""
    languages = [item_language(source_language, e, feed) for e in entries]
    folded = [(fold_text(e.title), fold_text(e.summary), fold_text(e.content)) for e in entries]
    matches = [matcher.match(e.title, e.summary, e.content, lang, (t.flat, s.flat, c.flat))
               for e, lang, (t, s, c) in zip(entries, languages, folded)]
    whole = [worth_fingerprinting(m.score) for m in matches]
    quiet = seeds_only_fingerprints([(f, lang) for f, lang, w in zip(folded, languages, whole) if not w])
    verdicts: list[DedupDecision | None | Unchecked] = [UNCHECKED] * len(quiet)
    if seed_check is not None and quiet:
        verdicts = list(seed_check(quiet))
        quiet = [fp.checked() for fp in quiet]
    seeds_only, seed_of = iter(quiet), iter(verdicts)
    out = []
    for e, lang, f, m, w in zip(entries, languages, folded, matches, whole):
        seed: DedupDecision | None | Unchecked = UNCHECKED
        if w:
            fp = fingerprint(e.title, e.summary, e.content, lang, folded=f)
        else:
            fp, seed = next(seeds_only), next(seed_of)
        out.append(PreparedEntry(
            entry=e,
            language=lang,
            match=m,
            fingerprint=fp,
            canonical_link=canonical_link(e.link),
            content_hash=content_hash(e),
            seed=seed,
        ))
    return out


def prepare_feed(matcher: Matcher, content: bytes, headers: dict[str, str], url: str,
                 source_language: str | None, seed_check: SeedCheck | None = None) -> PreparedFeed:
    feed = parse_feed(content, headers, url)
    if feed.failure is not None:
        return PreparedFeed(feed, [])
    return PreparedFeed(feed, prepare_entries(matcher, feed, feed.entries, source_language, seed_check))


# --- in a worker process ----------------------------------------------------------------------------
# The matcher is handed to each worker once, when the pool starts, not with every feed.
_matcher: Matcher | None = None
_seed_check: SeedCheck | None = None


def init_worker(matcher: Matcher, parent_pid: int, seed_check: SeedCheck | None = None) -> None:
    global _matcher, _seed_check
    # First: a worker must never outlive the poll that made it (a kill -9 of the parent included).
    bind_to_parent(parent_pid)
    _matcher, _seed_check = matcher, seed_check
    # The main process stores what the workers prepare; if it waits for a core, so does everything.
    # (bench/poll.py --feeds 1000: wall 50.7 s -> 44.1 s.)
    os.nice(5)


def prepare_in_worker(content: bytes, headers: dict[str, str], url: str, source_language: str | None) -> PreparedFeed:
    assert _matcher is not None, "init_worker was not run in this process"
    return prepare_feed(_matcher, content, headers, url, source_language, _seed_check)
