"""One poll cycle, straight through: fetch, parse, process (match + dedup), store.

    select sources  ->  fetch all (async, bounded)  ->  parse, match, fingerprint each (worker
                        processes; whole only with a keyword hit, else for the seeds only)
                    ->  per source, all or nothing: dedup every entry and store it (one writer
                        coroutine; sources ready together share a transaction)

Where each step lives:
    fetched        watcher/fetch.py      Fetcher.fetch()  -> FetchResult
    parsed         watcher/parse.py      parse_feed()     -> FeedData          } prepare.py, in
    matched        watcher/match.py      Matcher.match()  -> MatchResult       } worker processes
    deduplicated   watcher/dedup/        decide()         -> DedupDecision     } ingest.py, against
    stored         watcher/store/        apply()          (items, versions, fetches, source state) } the store

Parsing, matching and fingerprinting are pure and CPU-heavy, so they run in a pool of worker processes
(one per core; a poll of fewer than 8 sources parses them itself) while the event loop keeps fetching;
deduplicating and storing need the store and stay in this process, because SQLite has one writer anyway. One source's failure is a value
(`SourceOutcome.status == "failed"`), never an exception that stops the others, even when it is a
bug met with that source's data (`fetch_and_prepare`). A source the poll did not get to, because its
host stopped answering or the poll's deadline passed, is `deferred`: not a failure, tried next poll.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import store
from .times import utcnow
from .config import Config, Source
from .choices import unknown_message
from .dedup import SeedIndex, seed_verdicts
from .errors import UsageError
from .fetch import Fetcher, server_key
from .fulltext.enrich import FulltextPoll
from .ingest import Dedup, SourceOutcome, store_deferred, store_source
from .match import Matcher
from .model import Failure, FailureKind, FetchResult
from .prepare import PreparedFeed, init_worker, prepare_feed, prepare_in_worker

log = logging.getLogger("watcher.poll")


# Failures that mean "nothing answered at all"; with no network, every source fails one of these ways.
_UNREACHABLE = {FailureKind.DNS.value: "host names did not resolve", FailureKind.CONNECT.value: "connections failed"}


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
    def deferred(self) -> list[SourceOutcome]:
        return [s for s in self.sources if s.status == "deferred"]

    @property
    def unreachable(self) -> str | None:
        """One line when no source could be reached at all, which says more about this machine's
        network than about the sources: every one of (at least two) sources failed to resolve or to
        connect. None otherwise (one reachable server, even one answering 404, shows the network works)."""
        kinds = [o.error_kind for o in self.sources]
        if len(kinds) < 2 or not all(k in _UNREACHABLE for k in kinds):
            return None
        counts = ", ".join(f"{kinds.count(k)} {_UNREACHABLE[k]}" for k in _UNREACHABLE if k in kinds)
        return (f"no source could be reached: is this machine online? ({counts}; `watcher status` "
                f"lists each source's error)")

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)


def sync_sources(db: sqlite_utils.Database, cfg: Config) -> None:
    """Make the sources table agree with the config. A changed URL starts that source afresh."""
    store.sync_sources(db, cfg.sources)


def due_sources(cfg: Config, db: sqlite_utils.Database, now: datetime) -> list[tuple[Source, datetime | None]]:
    """Enabled sources with when each is next due (None: never polled, so due now)."""
    states = store.source_states(db)
    out = []
    for s in cfg.sources:
        st = states.get(s.name)
        if not s.enabled or (st and st.disabled_reason):
            continue
        out.append((s, st.next_check if st else None))
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
    states = store.source_states(db)
    picked = []
    for s in cfg.sources:
        st = states.get(s.name)
        if not s.enabled:
            continue
        if st and not force:
            if st.disabled_reason:
                continue
            if st.hold_until and st.hold_until > now:
                continue
            if due_only and st.next_check and st.next_check > now:
                continue
        picked.append(s)
    return picked


# With `fetch.workers: 0` (one per core), a poll of fewer sources than this parses them here: forking
# the workers and shipping each feed across costs more than parsing a few feeds in this process.
# `bench/small_polls.py` (real feeds, medians of 5): a pool took 3.3x the wall time of parsing here for
# 2 feeds and 1.7x for 4, and 0.90x for 8.
POOL_FROM_SOURCES = 8


def _worker_count(cfg: Config, n_sources: int) -> int:
    if cfg.fetch.workers:
        return max(0, min(cfg.fetch.workers, n_sources))
    if n_sources < POOL_FROM_SOURCES:
        return 0
    return min(os.cpu_count() or 1, n_sources)


def _warm(_: int) -> None:
    """Submitted once so the workers are forked before the event loop starts (fork is then safe)."""


def make_pool(workers: int, matcher: Matcher, dd: Dedup | None = None) -> Executor | None:
    """The parser workers. With `dd`, they also check the entries that hit no keyword against the seeds
    (prepare.prepare_entries says why)."""
    if workers < 2:
        return None  # one feed or one core: a pool would cost more than it saves
    # fork: the workers inherit the imported parser and the compiled keyword list instead of
    # importing and compiling again. Forked (by the warm-up) before any event-loop thread exists.
    # Forked children close their copy of the instance lock at once (lock.py), and each worker dies
    # with this process (lifeline.py), so a crash here never leaves the store locked.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=init_worker,
                               initargs=(matcher, os.getpid(), None if dd is None else
                                         functools.partial(seed_verdicts, seeds=dd.seeds, settings=dd.settings)))
    # With fork, the first task submitted starts every worker at once, here, before any thread exists.
    # Its result is not waited for: niced workers on a busy machine took a tenth of a second to
    # be scheduled, a wait that every poll paid, even one where every feed answers 304.
    pool.submit(_warm, 0)
    return pool


class Parsers:
    """Where fetched feeds are parsed: the worker pool, or this process once there is no pool.

    A worker that dies (killed by the system for memory, or a crash inside the parser) breaks the
    whole pool: every feed queued in it fails with BrokenProcessPool, and so would every later one.
    The feeds caught in it fail (this poll only; they are parsed again next time); the rest of the
    poll parses in this process, slower but complete."""

    def __init__(self, pool: Executor | None, matcher: Matcher):
        self.pool = pool
        self.matcher = matcher

    async def prepare(self, content: bytes, headers: dict[str, str], url: str,
                      language: str | None) -> PreparedFeed:
        args = (content, headers, url, language)
        if self.pool is not None:
            try:
                future = asyncio.get_running_loop().run_in_executor(self.pool, prepare_in_worker, *args)
            except BrokenProcessPool:
                self.pool = None  # broken before this feed reached it: parse it here
            else:
                try:
                    return await future
                except BrokenProcessPool:
                    self.pool = None
                    raise
        return prepare_feed(self.matcher, *args)


def internal_failure(exc: BaseException, url: str) -> Failure:
    """A bug (or a dead parser process) met while handling one source: that source's failure, which
    says where, so it can be reported; the traceback goes to the debug log."""
    log.debug("bug while handling %s", url, exc_info=exc)
    if isinstance(exc, BrokenProcessPool):
        return Failure(FailureKind.INTERNAL, f"{url}: a parser process died (killed by the system, or a crash in "
                                             f"the parser) while this feed was queued or being parsed; it is "
                                             f"parsed again next poll, and if this repeats for this source alone, "
                                             f"its feed crashes the parser: please report it")
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return Failure(FailureKind.INTERNAL, f"{url}: watcher hit a bug handling this source "
                                         f"({type(exc).__name__}: {exc}{where}); the other sources are not "
                                         f"affected; please report it")


async def fetch_and_prepare(fetcher: Fetcher, parsers: Parsers, source: Source, etag: str | None,
                            last_modified: str | None) -> tuple[FetchResult, PreparedFeed | None, float]:
    """Fetch and parse one source. Whatever goes wrong comes back as this source's failure: a bug
    met with one source's data must not cost the other sources their poll."""
    t0 = time.perf_counter()
    result = FetchResult(url=source.url, final_url=source.url, status=None)
    prepared = None
    try:
        result = await fetcher.fetch(source.url, etag=etag, last_modified=last_modified)
        if result.ok and not result.not_modified:
            prepared = await parsers.prepare(result.content, result.headers, result.final_url, source.language)
    except Exception as e:  # not CancelledError (a BaseException): a cancelled poll stops as a whole
        result = dataclasses.replace(result, content=b"", failure=internal_failure(e, source.url))
        prepared = None
    return result, prepared, time.perf_counter() - t0


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


# How often a poll that is still waiting says so (on stderr for `watcher poll`, in the log for `run`):
# often enough that nobody wonders whether it hangs, rarely enough to stay out of the way.
PROGRESS_EVERY_S = 10.0


def progress_line(sources: list[Source], done: list[bool], elapsed: float) -> str:
    """'still polling after 30s: 12 of 40 sources done; waiting on 28 (host a.example: 25, host b.org: 3)'"""
    waiting: dict[str, int] = {}
    for s, d in zip(sources, done):
        if not d:
            key = server_key(s.url)
            waiting[key] = waiting.get(key, 0) + 1
    top = sorted(waiting.items(), key=lambda kv: (-kv[1], kv[0]))
    hosts = ", ".join(f"host {k}: {n}" for k, n in top[:3]) + (f", {len(top) - 3} more hosts" if len(top) > 3 else "")
    n_waiting = sum(waiting.values())
    return (f"still polling after {elapsed:.0f}s: {len(sources) - n_waiting} of {len(sources)} sources done; "
            f"waiting on {n_waiting} ({hosts})")


async def _run(cfg: Config, db: sqlite_utils.Database, sources: list[Source], pool: Executor | None,
               matcher: Matcher, dd: Dedup, now: datetime | None,
               progress: Callable[[str], None] | None = None,
               progress_every: float = PROGRESS_EVERY_S) -> list[SourceOutcome]:
    validators = {name: (st.etag, st.last_modified) for name, st in store.source_states(db).items()}
    # Sources fetched and prepared but not yet stored hold their bytes and fingerprints in memory;
    # when storing is the slower side, this bound keeps them from piling up (1,000 feeds: 2.4 GB).
    ahead = asyncio.Semaphore(2 * max(cfg.fetch.concurrency, _worker_count(cfg, len(sources))))
    ready: asyncio.Queue[_Ready] = asyncio.Queue()
    outcomes: list[SourceOutcome | None] = [None] * len(sources)
    parsers = Parsers(pool, matcher)
    finished = asyncio.Event()

    async def fetch_one(i: int, source: Source) -> None:
        async with ahead:
            result, prepared, elapsed = await fetch_and_prepare(
                fetcher, parsers, source, *validators.get(source.name, (None, None)))
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
            async with store.write_async(db):  # its commit lets fetching and parsing go on
                deadline = time.monotonic() + BATCH_SECONDS
                while True:
                    # Each source is still all or nothing: an error storing one ends the poll, and this
                    # transaction is rolled back (its sources are fetched again next poll).
                    if r.result.deferred:
                        outcomes[r.index] = store_deferred(db, r.source, r.result.deferred)
                    else:
                        outcomes[r.index] = store_source(db, cfg, r.source, r.result, r.prepared, dd=dd,
                                                         now=now or utcnow(), duration=r.elapsed)
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
                done = outcomes[r.index]
                assert done is not None  # stored above
                log.info("%s", done.log_line())
        finished.set()

    async def report_progress() -> None:
        assert progress is not None  # only started with one
        started = time.monotonic()
        while True:
            try:
                await asyncio.wait_for(finished.wait(), progress_every)
                return
            except TimeoutError:
                progress(progress_line(sources, [o is not None for o in outcomes], time.monotonic() - started))

    async with Fetcher(cfg.fetch, state_dir=cfg.state_dir) as fetcher:
        pages = FulltextPoll(cfg, db, fetcher, pool, matcher, now)
        try:
            async with asyncio.TaskGroup() as tasks:  # one failing task (a bug, a store error) stops all
                tasks.create_task(store_all())
                if progress is not None:
                    tasks.create_task(report_progress())
                for i, s in enumerate(sources):
                    tasks.create_task(fetch_one(i, s))
        except BaseExceptionGroup as group:
            # Callers (the CLI's one place for errors) expect the error itself, not a group of one.
            raise group.exceptions[0] from None
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def load_processors(cfg: Config) -> tuple[Matcher, Dedup]:
    matcher = Matcher.load(cfg.keywords_path)
    seeds = SeedIndex.load(cfg.seeds_dir, cfg.state_dir / "cache")
    return matcher, Dedup(seeds, cfg.dedup)


def poll(cfg: Config, db: sqlite_utils.Database, *, names: list[str] | None = None, now: datetime | None = None,
         force: bool = False, due_only: bool = False, progress: Callable[[str], None] | None = None,
         progress_every: float = PROGRESS_EVERY_S) -> PollSummary:
    """Poll the selected sources once and store what they carry. See `select_sources` for which.

    `progress`, if given, is called with a line every `progress_every` seconds while sources are
    still outstanding, saying how many and on which hosts."""
    sync_sources(db, cfg)
    picked = select_sources(cfg, db, now or utcnow(), names=names, force=force, due_only=due_only)
    summary = PollSummary()
    if not picked:
        return summary
    matcher, dd = load_processors(cfg)
    pool = make_pool(_worker_count(cfg, len(picked)), matcher, dd)
    try:
        summary.sources = asyncio.run(_run(cfg, db, picked, pool, matcher, dd, now, progress, progress_every))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return summary
