"""One poll cycle, straight through: fetch, parse, process (match + dedup), store.

    select sources  ->  fetch all (async, bounded)  ->  parse, match, fingerprint each (worker processes)
                    ->  per source, all or nothing: dedup every entry and store it (one writer
                        coroutine; sources ready together share a transaction, each in a savepoint)

Where each step lives:
    fetched        watcher/fetch.py      Fetcher.fetch()  -> FetchResult
    parsed         watcher/parse.py      parse_feed()     -> FeedData          } prepare.py, in
    matched        watcher/match.py      Matcher.match()  -> MatchResult       } worker processes
    deduplicated   watcher/dedup/        Deduper.decide() -> DedupDecision
    stored         watcher/ingest.py     store_source()   (items, versions, fetches, source state)

Parsing, matching and fingerprinting are pure and CPU-heavy, so they run in a pool of worker processes
(one per core) while the event loop keeps fetching; deduplicating and storing need the store and stay in
this process, because SQLite has one writer anyway. One source's failure is a value
(`SourceOutcome.status == "failed"`), never an exception that stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from . import store
from .config import Config, Source
from .dedup import Deduper, SeedIndex
from .choices import unknown_message
from .errors import UsageError
from .fetch import Fetcher
from .fulltext.enrich import FulltextPoll
from .ingest import SourceOutcome, store_source
from .match import Matcher
from .model import FetchResult
from .prepare import PreparedFeed, init_worker, prepare_feed, prepare_in_worker

log = logging.getLogger("watcher.poll")


@dataclass
class PollSummary:
    sources: list[SourceOutcome] = field(default_factory=list)

    @property
    def ok(self) -> list[SourceOutcome]:
        return [s for s in self.sources if s.status in ("ok", "not_modified")]

    @property
    def failed(self) -> list[SourceOutcome]:
        return [s for s in self.sources if s.status == "failed"]

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)


def sync_sources(db: sqlite_utils.Database, cfg: Config) -> None:
    """Make the sources table agree with the config. A changed URL starts that source afresh."""
    with store.write(db):
        for s in cfg.sources:
            row = db.execute("SELECT url FROM sources WHERE name = ?", [s.name]).fetchone()
            if row is None:
                db.execute("INSERT INTO sources (name, url, enabled) VALUES (?, ?, ?)", [s.name, s.url, int(s.enabled)])
            elif row[0] != s.url:
                # New address: old validators, backoff, redirect and 410 belong to the old one.
                db.execute(
                    "UPDATE sources SET url = ?, enabled = ?, etag = NULL, last_modified = NULL, hold_until = NULL,"
                    " next_check = NULL, consecutive_failures = 0, failure_weight = 0, permanent_redirect = NULL,"
                    " disabled_reason = NULL WHERE name = ?",
                    [s.url, int(s.enabled), s.name],
                )
            else:
                db.execute("UPDATE sources SET enabled = ? WHERE name = ?", [int(s.enabled), s.name])


def due_sources(cfg: Config, db: sqlite_utils.Database, now: datetime) -> list[tuple[Source, datetime | None]]:
    """Enabled sources with when each is next due (None: never polled, so due now)."""
    rows = {r[0]: r for r in db.execute("SELECT name, next_check, disabled_reason FROM sources")}
    out = []
    for s in cfg.sources:
        r = rows.get(s.name)
        if not s.enabled or (r and r[2]):
            continue
        out.append((s, store.parse_iso(r[1]) if r else None))
    return out


def select_sources(cfg: Config, db: sqlite_utils.Database, now: datetime, *, names: list[str] | None,
                   force: bool, due_only: bool) -> list[Source]:
    """Which sources this cycle polls.

    Named sources are polled whatever their state: the user asked for them. Otherwise every enabled
    source, except those the fetch layer is holding back (backoff, Retry-After, 410 Gone) unless
    `force`; with `due_only`, also only those whose regular interval has come round (the scheduler's
    view, and what a cron job wants).
    """
    if names:
        known = {s.name: s for s in cfg.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError("\n".join(
                f"{cfg.path}: " + unknown_message("source", n, known, option="--source",
                                                  all_listed_by="`watcher status`") for n in unknown))
        return [known[n] for n in dict.fromkeys(names)]
    rows = {r[0]: r for r in db.execute("SELECT name, next_check, hold_until, disabled_reason FROM sources")}
    picked = []
    for s in cfg.sources:
        r = rows.get(s.name)
        if not s.enabled:
            continue
        if r and not force:
            if r[3]:
                continue
            hold = store.parse_iso(r[2])
            if hold and hold > now:
                continue
            nxt = store.parse_iso(r[1])
            if due_only and nxt and nxt > now:
                continue
        picked.append(s)
    return picked


def _worker_count(cfg: Config, n_sources: int) -> int:
    wanted = cfg.fetch.workers or (os.cpu_count() or 1)
    return max(0, min(wanted, n_sources))


def _warm(_: int) -> None:
    """Run once in each worker so it exists before the event loop starts (fork is then safe)."""


def make_pool(workers: int, matcher: Matcher) -> Executor | None:
    if workers < 2:
        return None  # one feed or one core: a pool would cost more than it saves
    # fork: the workers inherit the imported parser and the compiled keyword list instead of
    # importing and compiling again. Forked (by the warm-up) before any event-loop thread exists.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=init_worker, initargs=(matcher,))
    list(pool.map(_warm, range(workers)))
    return pool


async def _fetch_and_prepare(fetcher: Fetcher, pool: Executor | None, matcher: Matcher, source: Source,
                             etag: str | None, last_modified: str | None
                             ) -> tuple[Source, FetchResult, PreparedFeed | None, float]:
    t0 = time.perf_counter()
    result = await fetcher.fetch(source.url, etag=etag, last_modified=last_modified)
    prepared = None
    if result.ok and not result.not_modified:
        args = (result.content, result.headers, result.final_url, source.language)
        if pool is None:
            prepared = prepare_feed(matcher, *args)
        else:
            prepared = await asyncio.get_running_loop().run_in_executor(pool, prepare_in_worker, *args)
    return source, result, prepared, time.perf_counter() - t0


# How long one write transaction may gather sources before it commits. Committing each source alone
# rewrote the same index pages (LSH keys land all over the store) once per source: 1,000 feeds wrote
# 3.4 GB to disk for a 285 MB store, 1.5 GB with this (bench/poll.py prints the figure). It also bounds what a crash loses (refetched on
# the next poll: validators advance only with the commit), how long another writer waits for the lock,
# and how long a finished source waits for a slow one before its items are visible.
BATCH_SECONDS = 2.0


@dataclass
class _Ready:
    """A source fetched and prepared, waiting for the writer."""
    index: int
    source: Source
    result: FetchResult
    prepared: PreparedFeed | None
    elapsed: float
    stored: asyncio.Future


async def _run(cfg: Config, db: sqlite_utils.Database, sources: list[Source], pool: Executor | None,
               matcher: Matcher, deduper: Deduper, now: datetime | None) -> list[SourceOutcome]:
    validators = {r[0]: (r[1], r[2]) for r in db.execute("SELECT name, etag, last_modified FROM sources")}
    # Sources fetched and prepared but not yet stored hold their bytes and fingerprints in memory;
    # when storing is the slower side, this bound keeps them from piling up (1,000 feeds: 2.4 GB).
    ahead = asyncio.Semaphore(2 * max(cfg.fetch.concurrency, _worker_count(cfg, len(sources))))
    ready: asyncio.Queue[_Ready] = asyncio.Queue()
    outcomes: list[SourceOutcome | None] = [None] * len(sources)

    async def fetch_one(i: int, source: Source) -> None:
        async with ahead:
            source, result, prepared, elapsed = await _fetch_and_prepare(
                fetcher, pool, matcher, source, *validators.get(source.name, (None, None)))
            if prepared is not None:  # full text (issue 11): article pages of short entries that could matter
                prepared = await pages.enrich(source, prepared)
            stored = asyncio.get_running_loop().create_future()
            ready.put_nowait(_Ready(i, source, result, prepared, elapsed, stored))
            await stored  # keeps its read-ahead slot until its entries are in the store's hands

    async def store_all() -> None:
        # The only coroutine that touches the store, so it may wait for the fetchers mid-transaction.
        left = len(sources)
        while left:
            r = await ready.get()
            batch: list[_Ready] = []
            with store.write(db):
                deadline = time.monotonic() + BATCH_SECONDS
                while True:
                    # Each source is still all-or-nothing: a savepoint inside the batch's transaction.
                    outcomes[r.index] = store_source(db, cfg, r.source, r.result, r.prepared, deduper=deduper,
                                                     now=now or store.utcnow(), duration=r.elapsed)
                    r.stored.set_result(None)
                    batch.append(r)
                    wait = deadline - time.monotonic()
                    if len(batch) == left or wait <= 0:
                        break
                    await asyncio.sleep(0)  # let fetches start and finished work arrive
                    if not ready.empty():
                        r = ready.get_nowait()
                        continue
                    try:
                        # Committing whenever the queue runs dry (the workers are a little behind) made
                        # 370 commits of 1,000 feeds, each rewriting index pages all over the store.
                        r = await asyncio.wait_for(ready.get(), wait)
                    except TimeoutError:
                        break
            left -= len(batch)
            for r in batch:
                log.info("%s", outcomes[r.index].log_line())

    async with Fetcher(cfg.fetch) as fetcher:
        pages = FulltextPoll(cfg, db, fetcher, pool, matcher, now)
        try:
            async with asyncio.TaskGroup() as tasks:  # one failing task (a bug, a store error) stops all
                tasks.create_task(store_all())
                for i, s in enumerate(sources):
                    tasks.create_task(fetch_one(i, s))
        except BaseExceptionGroup as group:
            # Callers (the CLI's one place for errors) expect the error itself, not a group of one.
            raise group.exceptions[0] from None
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def load_processors(cfg: Config, db: sqlite_utils.Database) -> tuple[Matcher, Deduper]:
    matcher = Matcher.load(cfg.keywords_path)
    seeds = SeedIndex.load(cfg.seeds_dir, cfg.state_dir / "cache")
    return matcher, Deduper(db, seeds, cfg.dedup)


def poll(cfg: Config, db: sqlite_utils.Database, *, names: list[str] | None = None, now: datetime | None = None,
         force: bool = False, due_only: bool = False) -> PollSummary:
    """Poll the selected sources once and store what they carry. See `select_sources` for which."""
    sync_sources(db, cfg)
    picked = select_sources(cfg, db, now or store.utcnow(), names=names, force=force, due_only=due_only)
    summary = PollSummary()
    if not picked:
        return summary
    matcher, deduper = load_processors(cfg, db)
    pool = make_pool(_worker_count(cfg, len(picked)), matcher)
    try:
        summary.sources = asyncio.run(_run(cfg, db, picked, pool, matcher, deduper, now))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return summary
