"""The poll's full-text step: between preparing a feed and storing it, fetch the pages of its short
entries that could matter, extract their text, and match and fingerprint the entries again on it.

    prepared feed --policy.decide--> which entries need a page
                  --PageFetcher----> page bytes, or why not        (this process, async, the fetch layer)
                  --finish_entries-> extracted text, new match and
                                     fingerprint                   (worker processes, like prepare.py)
                  --> the same PreparedFeed, entries carrying a PageInfo for ingest to store
                      (a `never` source's feed passes untouched; page_info() says why when stored)

A page is fetched once per link. What the store already knows decides first: an entry seen before and
unchanged is not looked at at all (ingest only touches its last_seen), and a correction under the same
link reuses the stored page text or the stored failure instead of fetching again. A page that fails
leaves the entry as the feed gave it, with the reason on its PageInfo.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from .. import store
from ..config import Config, Source
from ..dedup.decide import UNCHECKED
from ..dedup.fingerprint import fingerprint, worth_fingerprinting
from ..fetch import Fetcher
from ..match import Matcher
from ..prepare import PreparedEntry, PreparedFeed
from . import storeops
from .extract import extract_page
from .fetchpage import Page, PageFetcher
from .policy import decide

log = logging.getLogger("watcher.fulltext")


@dataclass(frozen=True)
class PageInfo:
    """What the full-text step did for one entry; stored in the item's page_* columns."""

    status: str  # ok | skipped | robots | not_html | encoding | no_text | deferred | a FailureKind value
    note: str  # why, in words (shown by `watcher show`)
    link: str | None  # the link the page was fetched (or considered) for
    fetched_at: str | None = None  # ISO UTC, when a request was made
    content_source: str = "feed"  # feed | page: where `content` (what is matched and deduped) came from
    feed_content: str | None = None  # the feed's own content, kept when `content` holds the page's


@dataclass(frozen=True)
class Job:
    """One entry for the worker: a fetched page to extract, or stored page text to reuse."""

    prepared: PreparedEntry
    info: PageInfo
    page: Page | None = None
    reuse_text: str | None = None


def _two_letters(language: str | None) -> str | None:
    return (language or "").split("-")[0].split("_")[0].lower() or None


def finish_entries(matcher: Matcher, jobs: list[Job]) -> list[PreparedEntry]:
    """Extract each page (or take the stored text) and match and fingerprint the entry on it. Pure."""
    out = []
    for job in jobs:
        p, info = job.prepared, job.info
        text, date, language = job.reuse_text, None, None
        if job.page is not None:
            got = extract_page(job.page.content, job.page.content_type, job.page.final_url or job.page.url)
            date, language = got.date, got.language
            if got.status != "ok":
                out.append(dataclasses.replace(p, fulltext=dataclasses.replace(info, status=got.status,
                                                                                note=got.note)))
                continue
            text = got.text
        if not text:
            out.append(dataclasses.replace(p, fulltext=info))
            continue
        e = p.entry
        # The page's date and language only fill what the feed left out.
        entry = dataclasses.replace(e, content=text,
                                    published=e.published or (None if e.updated else date))
        lang = p.language or _two_letters(language)
        match = matcher.match(e.title, e.summary, text, lang)
        out.append(dataclasses.replace(
            p, entry=entry, language=lang, match=match,
            fingerprint=fingerprint(e.title, e.summary, text, lang,
                                    seeds_only=not worth_fingerprinting(match.score)),
            seed=UNCHECKED,  # a verdict on the feed's text says nothing of the page's: the store checks it
            fulltext=dataclasses.replace(info, status="ok", note="", content_source="page",
                                         feed_content=e.content)))
    return out


def page_info(source: Source, p: PreparedEntry) -> PageInfo | None:
    """What the full-text step did for an entry about to be stored: what it recorded, or for a `never`
    source, whose feeds it leaves untouched, that no page is fetched and why. With `never`, a
    correction of an item whose page was fetched while the source was `auto` keeps the feed's text.

    The short cut: building a record per entry at poll time (a Job, a PageInfo and a copy of the
    PreparedEntry each) was about 7% of the storing thread's samples in bench/poll.py's cold poll,
    where every source is `never` (py-spy), and it was wasted on every entry seen before."""
    if p.fulltext is not None:
        return p.fulltext  # type: ignore[return-value]  # PreparedEntry keeps it untyped (no import cycle)
    if source.fulltext != "never":
        return None
    return PageInfo("skipped", decide("never", p.entry, p.match, lambda: False, False).why, p.entry.link)


def finish_in_worker(jobs: list[Job]) -> list[PreparedEntry]:
    from .. import prepare

    assert prepare._matcher is not None, "init_worker was not run in this process"
    return finish_entries(prepare._matcher, jobs)


class FulltextPoll:
    """One poll's full-text step: its robots.txt cache and host deferrals live as long as it does."""

    def __init__(self, cfg: Config, db: sqlite_utils.Database, fetcher: Fetcher, pool: Executor | None,
                 matcher: Matcher, now: datetime | None = None):
        self.db, self.pool, self.matcher, self.now = db, pool, matcher, now
        self.pages = PageFetcher(fetcher, cfg.fetch.user_agent)
        self.topics = set(matcher.list.topics)

    async def finish(self, jobs: list[Job]) -> list[PreparedEntry]:
        if not jobs:
            return []
        if self.pool is not None:
            try:
                return await asyncio.get_running_loop().run_in_executor(self.pool, finish_in_worker, jobs)
            except BrokenProcessPool:
                # A worker died (the system killed it, or a page crashed the parser): the pool is gone
                # for the rest of the poll, as pipeline.Parsers finds too; extract here instead.
                self.pool = None
        return finish_entries(self.matcher, jobs)

    def plan(self, source: Source, prepared: PreparedFeed) -> tuple[dict[int, Job], dict[int, str]]:
        """Which entries reuse what the store has (jobs), and which need a page fetched (index -> link)."""
        known = storeops.page_state(self.db, source.name, [p.entry.guid for p in prepared.entries])
        unknown = [p.canonical_link for p in prepared.entries if p.entry.guid not in known and p.canonical_link]
        by_link = storeops.page_state_by_link(self.db, source.name, unknown) if unknown else {}
        on_topic = bool(self.topics & set(source.tags))
        jobs: dict[int, Job] = {}
        fetch: dict[int, str] = {}
        for i, p in enumerate(prepared.entries):
            e = p.entry
            row = known.get(e.guid)
            if row is None:  # a guid not stored: maybe a stored item under a rotated guid (same link)
                rows = by_link.get(p.canonical_link or "", [])
                if any(r.content_hash == p.content_hash for r in rows):
                    continue  # the same item seen again: ingest only notes it was seen
                row = next((r for r in rows if r.page_link == e.link and r.page_status not in (None, "skipped")),
                           None)
            if row is not None and row.content_hash == p.content_hash:
                continue  # seen before, unchanged: ingest only notes it was seen; never refetched
            if row is not None and row.page_link == e.link and row.page_status not in (None, "skipped"):
                # A correction under the same link: the page was fetched (or failed) for this link once.
                info = PageInfo(row.page_status, row.page_note or "", e.link, row.page_fetched_at)
                text = storeops.stored_page_text(self.db, row.id) if row.page_status == "ok" else None
                jobs[i] = Job(p, info, reuse_text=text)
                continue
            d = decide(source.fulltext, e, p.match,
                       lambda: self.matcher.mentions(e.title, e.summary, p.language), on_topic)
            if d.fetch:
                fetch[i] = e.link  # type: ignore[assignment]
            else:
                jobs[i] = Job(p, PageInfo("skipped", d.why, e.link))
        return jobs, fetch

    async def enrich(self, source: Source, prepared: PreparedFeed) -> PreparedFeed:
        """The feed with its short entries' page text. Never fails the poll: if anything here breaks
        (a bug met on one page), the entries are stored as the feed gave them, and it is logged.

        A `never` source's feed comes back as it was: its entries' PageInfo is made by `page_info`
        when the store writes them (most entries of a poll are seen before and never written)."""
        if not prepared.entries or source.fulltext == "never":
            return prepared
        try:
            return await self._enrich(source, prepared)
        except Exception:  # not CancelledError: a cancelled poll stops as a whole
            log.warning("%s: full text skipped this poll after an error; entries stored as the feed gave them",
                        source.name, exc_info=True)
            return prepared

    async def _enrich(self, source: Source, prepared: PreparedFeed) -> PreparedFeed:
        jobs, fetch = self.plan(source, prepared)
        if fetch:
            when = store.iso(self.now or store.utcnow())
            got = await asyncio.gather(*(self.pages.fetch(link) for link in fetch.values()))
            for i, page in zip(fetch, got):
                p = prepared.entries[i]
                info = PageInfo(page.status, page.note, p.entry.link, when)
                jobs[i] = Job(p, info, page=page if page.ok else None)
        entries = list(prepared.entries)
        work = sorted(i for i, j in jobs.items() if j.page is not None or j.reuse_text)
        for i, j in jobs.items():
            if i not in work:  # nothing to extract or match again: only the record of what happened
                entries[i] = dataclasses.replace(j.prepared, fulltext=j.info)
        for i, p in zip(work, await self.finish([jobs[i] for i in work])):
            entries[i] = p
        return dataclasses.replace(prepared, entries=entries)
