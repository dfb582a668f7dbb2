"""`watcher backfill`, straight through, one source after another:

    ledger: range already complete? -> nothing to do
            a run of this range stopped partway? -> resume it from its cursor
    else    pick the method (auto: the first of feed, wordpress, sitemap, wayback whose probe finds the
            range; each skip is said and recorded), start a run in the ledger
    loop    fetch the page the cursor points at (polite.py) -> parse -> prepare (match, fingerprint) ->
            store the entries (ingest.store_entries, origin=backfill) + the cursor past the page, in one
            transaction (ledger.store_page) -> print progress
    end     complete | partial (interrupted, --max-requests, a Retry-After too long) | failed (error)

One source's failure is a value in its report and never stops the others. Ctrl-C or SIGTERM cancels
the request in flight (a page is stored whole or not at all) and marks the run partial.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from .. import store
from ..config import Config, Source
from ..ingest import Dedup
from ..match import Matcher
from ..times import parse_iso_optional
from ..fetch import Fetcher
from ..model import FeedData
from ..prepare import prepare_entry
from . import ledger
from .context import Ctx, Method, PageError
from .feed import FeedPaging
from .plan import METHODS, DateRange
from .polite import Polite, Stop, host_of
from .sitemap import Sitemaps
from .wayback import Wayback
from .wordpress import WordPressApi

CLASSES: dict[str, type] = {"feed": FeedPaging, "wordpress": WordPressApi, "sitemap": Sitemaps, "wayback": Wayback}
_NO_FEED = FeedData(title=None, link=None, language=None, entries=[], parser="backfill")


@dataclass
class SourceReport:
    name: str
    status: str  # complete | partial | failed | covered | planned
    method: str | None = None
    run_id: int | None = None
    pages: int = 0
    found: int = 0
    new: int = 0
    relevant: int = 0
    reached: datetime | None = None
    message: str | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        how = f" by {self.method}" if self.method else ""
        run = f" (run #{self.run_id})" if self.run_id else ""
        text = f"{self.name}: {self.status}{how}{run}"
        if self.status not in ("covered", "planned"):
            text += f": {self.pages} pages, {self.found} items in range, {self.new} new, {self.relevant} relevant"
            if self.reached:
                text += f", reached {self.reached.date().isoformat()}"
        if self.message:
            text += f"; {self.message}"
        return text


def _rate_for(cfg: Config, sources: list[Source]) -> Callable[[str], float]:
    wayback = host_of(cfg.backfill.wayback_url)
    own: dict[str, float] = {}
    for s in sources:
        if s.backfill_rate is not None:
            own[host_of(s.url)] = min(own.get(host_of(s.url), s.backfill_rate), s.backfill_rate)

    def rate(host: str) -> float:
        if host == wayback:
            return cfg.backfill.wayback_rate
        return own.get(host, cfg.backfill.rate)
    return rate


class Backfill:
    def __init__(self, cfg: Config, db: sqlite_utils.Database, rng: DateRange, requested: str, *,
                 say: Callable[[str], None], dry_run: bool = False, now: Callable[[], datetime] = store.utcnow):
        self.cfg, self.db, self.rng, self.requested = cfg, db, rng, requested
        self.say, self.dry_run, self.now = say, dry_run, now
        self.stopping = False
        self.current: asyncio.Task | None = None
        self.matcher: Matcher | None = None
        self.dd: Dedup | None = None

    def interrupt(self) -> None:
        self.stopping = True
        if self.current is not None:
            self.current.cancel()

    async def run(self, sources: list[Source], max_requests: int | None) -> list[SourceReport]:
        from ..pipeline import load_processors

        if not self.dry_run:
            self.matcher, self.dd = load_processors(self.cfg)
        reports = []
        async with Fetcher(self.cfg.fetch) as fetcher:
            polite = Polite(fetcher, rate_for=_rate_for(self.cfg, sources), max_requests=max_requests,
                            max_retry_wait=_seconds(self.cfg.backfill.max_retry_wait), say=self.say)
            for source in sources:
                if self.stopping:
                    reports.append(SourceReport(source.name, "partial", message="interrupted before it started"))
                    continue
                reports.append(await self.one(source, Ctx(self.cfg, source, self.rng, polite, self.say)))
        return reports

    async def _guarded(self, coro):  # noqa: ANN001, ANN202 - any awaitable a signal may cancel
        self.current = asyncio.ensure_future(coro)
        try:
            return await self.current
        finally:
            self.current = None

    async def one(self, source: Source, ctx: Ctx) -> SourceReport:
        covered = ledger.covering(self.db, source.name, self.rng)
        if covered is not None:
            return SourceReport(source.name, "covered", method=covered.method, run_id=covered.id,
                                message=f"{covered.rng} was completed {covered.finished_at}; nothing to add")
        resumable = ledger.unfinished(self.db, source.name, self.rng)
        if resumable and resumable.method is not None and self.requested in ("auto", resumable.method):
            method: Method = CLASSES[resumable.method](ctx)
            if self.dry_run:
                return SourceReport(source.name, "planned", method=method.name, run_id=resumable.id,
                                    message=f"would resume run #{resumable.id} after page {resumable.pages} "
                                            f"({resumable.status}: {resumable.error or 'stopped'})")
            self.say(f"{source.name}: resuming run #{resumable.id} ({method.name}) after page {resumable.pages}")
            ledger.resume(self.db, resumable.id)
            return await self.pages(ctx, method, resumable.id, resumable.cursor or method.first_cursor(),
                                    resumable.pages, polite_start=ctx.polite.requests)
        start_requests = ctx.polite.requests
        notes: list[str] = []
        chosen: Method | None = None
        try:
            for name in (METHODS if self.requested == "auto" else (self.requested,)):
                candidate: Method = CLASSES[name](ctx)
                reason = await self._guarded(candidate.probe())
                if reason is None:
                    chosen = candidate
                    break
                notes.append(f"{name}: {reason}")
                self.say(f"{source.name}: {'skipped ' if self.requested == 'auto' else ''}{name}: {reason}")
        except asyncio.CancelledError:
            return SourceReport(source.name, "partial", message="interrupted while choosing a method")
        except Stop as e:
            return SourceReport(source.name, "partial", message=str(e), notes=notes)
        if chosen is None:
            why = "no method can backfill it" if self.requested == "auto" else f"method {self.requested} cannot"
            if not self.dry_run:
                ledger.ensure_source(self.db, source)
                run_id = ledger.start(self.db, source.name, self.rng, self.requested, self.now())
                ledger.choose(self.db, run_id, self.requested, notes, {})
                ledger.finish(self.db, run_id, "failed", self.now(), error=f"{why}: {'; '.join(notes)}",
                              requests=ctx.polite.requests - start_requests)
            return SourceReport(source.name, "failed", message=f"{why} ({'; '.join(notes)})", notes=notes)
        chosen_line = f"{source.name}: using {chosen.name}" + (
            f" (the first of {', '.join(METHODS)} that finds the range)" if self.requested == "auto" else "")
        if self.dry_run:
            return SourceReport(source.name, "planned", method=chosen.name, notes=notes,
                                message=f"would {chosen.estimate()}")
        self.say(chosen_line)
        ledger.ensure_source(self.db, source)
        run_id = ledger.start(self.db, source.name, self.rng, self.requested, self.now())
        cursor = chosen.first_cursor()
        ledger.choose(self.db, run_id, chosen.name, notes, cursor)
        report = await self.pages(ctx, chosen, run_id, cursor, 0, polite_start=start_requests)
        report.notes = notes
        return report

    async def pages(self, ctx: Ctx, method: Method, run_id: int, cursor: dict, done_pages: int, *,
                    polite_start: int) -> SourceReport:
        source = ctx.source
        before = ledger.get(self.db, run_id)
        base_requests = before.requests

        def requests() -> int:
            return base_requests + ctx.polite.requests - polite_start

        def report(status: str, message: str | None) -> SourceReport:
            r = ledger.get(self.db, run_id)
            return SourceReport(source.name, status, method=method.name, run_id=run_id, pages=r.pages,
                                found=r.found, new=r.new, relevant=r.relevant,
                                reached=parse_iso_optional(r.reached), message=message)
        n = done_pages
        while True:
            if self.stopping:
                ledger.finish(self.db, run_id, "partial", self.now(), error="interrupted", requests=requests())
                return report("partial", "interrupted; run the same command again to continue")
            try:
                page = await self._guarded(method.step(cursor))
            except asyncio.CancelledError:
                ledger.finish(self.db, run_id, "partial", self.now(), error="interrupted", requests=requests())
                return report("partial", "interrupted; run the same command again to continue")
            except Stop as e:
                ledger.finish(self.db, run_id, "partial", self.now(), error=str(e), requests=requests())
                return report("partial", f"{e}; run the same command again to continue")
            except PageError as e:
                ledger.finish(self.db, run_id, "failed", self.now(), error=str(e), requests=requests())
                return report("failed", f"{e}; run the same command again to retry from that page")
            feed = page.feed or _NO_FEED
            assert self.matcher is not None and self.dd is not None  # loaded in run() unless a dry run
            prepared = [prepare_entry(self.matcher, feed, e, source.language) for e in page.entries]
            kinds = ledger.store_page(self.db, run_id, source, prepared, cursor=page.cursor, requests=requests(),
                                      found=len(page.entries), reached=page.oldest if page.entries else None,
                                      dd=self.dd, now=self.now())
            n += 1
            cursor = page.cursor
            r = ledger.get(self.db, run_id)
            relevant = sum(1 for k, p in zip(kinds, prepared) if k == "new" and p.match.relevant)
            reached = f", reached {r.reached[:10]}" if r.reached else ""
            self.say(f"{source.name}: [{method.name}] page {n}: {len(page.entries)} in range, {kinds.count('new')} new, "
                     f"{relevant} relevant (total {r.found} found, {r.new} new, {r.relevant} relevant{reached})"
                     + (f"; {page.note}" if page.note else ""))
            if page.done:
                ledger.finish(self.db, run_id, "complete", self.now(), requests=requests())
                return report("complete", f"stopped at {page.stop_reason}" if page.stop_reason else None)


def _seconds(text: str) -> float:
    from ..config import parse_interval

    return float(parse_interval(text))


def backfill(cfg: Config, db: sqlite_utils.Database, sources: list[Source], rng: DateRange, *, method: str,
             max_requests: int | None, dry_run: bool, say: Callable[[str], None]) -> tuple[list[SourceReport], bool]:
    """Backfill each source over the range. Returns the reports and whether a signal interrupted it."""
    job = Backfill(cfg, db, rng, method, say=say, dry_run=dry_run)

    async def main() -> list[SourceReport]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, job.interrupt)
        try:
            return await job.run(sources, max_requests)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    reports = asyncio.run(main())
    return reports, job.stopping
