"""`watcher run`: poll each source on its own schedule and build the daily digest, until stopped.

Decisions are pure functions of the config, the stored state and `now` (tested with an injected
clock); APScheduler only fires them. Nothing about the schedule is pickled: when each source is next
due lives in `sources.next_check` (the pipeline writes it after every poll: interval, backoff or
Retry-After), and when the last digest was built lives in `digests`. So a restart simply reads the
database:

- at start, every source that became due while watcher was down is polled once, in one pipeline
  cycle (sleeping through ten intervals gives one catch-up poll, not ten);
- then a digest whose time passed while watcher was down is built, once, so it includes that catch-up
  (the store's first digest too, once it has polled before a digest time);
- from then on each source is a one-shot APScheduler job, re-planned from the database after each
  poll, so a source is never polled while its previous poll runs and always waits as long as the
  fetch layer decided; the digest is a one-shot job re-planned after each build.

SIGINT/SIGTERM set a flag; the scheduler then stops taking jobs and waits for polls in flight, each of
which stores its source whole or leaves nothing of it behind, and `run` exits 0.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo

import sqlite_utils

from . import store
from .times import utcnow
from .config import Config, DigestSettings
from .errors import WatcherError

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger("watcher.run")

JITTER_SHARE = 0.1  # of a source's interval
JITTER_CAP_S = 300.0  # so an hourly source drifts at most 5 minutes
RETRY_AFTER_BUG_S = 60.0  # floor before re-polling a source whose poll raised


# ---------------------------------------------------------------- pure decisions

def jitter(interval_s: int, rng: random.Random) -> timedelta:
    """A random delay so sources configured alike do not all fire in the same second."""
    return timedelta(seconds=rng.uniform(0.0, min(interval_s * JITTER_SHARE, JITTER_CAP_S)))


def next_poll_at(next_check: datetime | None, hold_until: datetime | None, now: datetime, interval_s: int,
                 rng: random.Random, *, just_polled: bool = False) -> datetime:
    """When the scheduler should next poll a source.

    The stored `next_check` (and `hold_until`, for backoff and Retry-After) is what the fetch layer
    decided; the scheduler adds jitter and never goes earlier. A source already due is polled now:
    however long it has been, that is one poll. Right after a poll, a time that is not in the future
    means the poll outlasted its interval (the pipeline counts the interval from the poll's start) or
    recorded nothing (a bug, already logged): the missed turn is skipped and the source waits one
    interval from now (at least RETRY_AFTER_BUG_S), never polled back to back in a busy loop.
    """
    due = max((t for t in (next_check, hold_until) if t is not None), default=None)
    if due is None or due <= now:
        if just_polled:
            return now + timedelta(seconds=max(float(interval_s), RETRY_AFTER_BUG_S)) + jitter(interval_s, rng)
        return now
    return due + jitter(interval_s, rng)


def _at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    # Local wall time to UTC; a time skipped by a DST change resolves to the instant after the gap.
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    return local.astimezone(timezone.utc)


def last_digest_slot(settings: DigestSettings, now: datetime) -> datetime:
    """The latest scheduled digest time at or before `now` (UTC)."""
    tz = ZoneInfo(settings.timezone)
    today = now.astimezone(tz).date()
    slot = _at(today, settings.time, tz)
    return slot if slot <= now else _at(today - timedelta(days=1), settings.time, tz)


def next_digest_at(settings: DigestSettings, now: datetime) -> datetime:
    """The first scheduled digest time strictly after `now` (UTC)."""
    tz = ZoneInfo(settings.timezone)
    today = now.astimezone(tz).date()
    for days in (0, 1, 2):  # 2: a DST change cannot push it further
        slot = _at(today + timedelta(days=days), settings.time, tz)
        if slot > now:
            return slot
    raise AssertionError("no digest time within two days")  # a bug, not a user error


def slot_date(settings: DigestSettings, slot: datetime) -> date:
    """The local date a digest slot is for."""
    return slot.astimezone(ZoneInfo(settings.timezone)).date()


def missed_digest(settings: DigestSettings, now: datetime, last_built: date | None,
                  first_poll: datetime | None = None) -> date | None:
    """The date of a digest whose time passed without one being built, or None.

    Only the latest slot counts: after three days off, one digest (holding everything since) is
    built, not three. A store that never built a digest missed one once it had polled before that
    slot: its items were waiting for a digest that never came (a `run` stopped before its first
    digest time, or polls by `watcher poll` alone). A store that has never polled missed nothing; its
    first digest comes at the next scheduled time.
    """
    slot = last_digest_slot(settings, now)
    day = slot_date(settings, slot)
    if last_built is None:
        return day if first_poll is not None and first_poll < slot else None
    return day if last_built < day else None


def first_poll(db: sqlite_utils.Database) -> datetime | None:
    """When this store first tried to fetch anything (ok or not): the start of its life."""
    return store.first_fetch_at(db)


# ---------------------------------------------------------------- the runner

@dataclass(frozen=True)
class Plan:
    """What `run` does at start."""

    catch_up: list[str]  # sources due now: polled once, together
    later: dict[str, datetime]  # the others: when each is first polled
    missed_digest: date | None
    next_digest: datetime


def _source_state(db: sqlite_utils.Database) -> dict[str, tuple[datetime | None, datetime | None, str | None]]:
    return {name: (st.next_check, st.hold_until, st.disabled_reason) for name, st in store.source_states(db).items()}


def last_built_by(db: sqlite_utils.Database, day: date) -> date | None:
    """The latest date built up to `day`. A digest dated later (built by hand for a mistyped future
    date, before such dates were refused) says nothing about whether `day` was missed."""
    return store.last_digest_date(db, up_to=day)


def plan_start(cfg: Config, db: sqlite_utils.Database, now: datetime, rng: random.Random) -> Plan:
    state = _source_state(db)
    catch_up, later = [], {}
    for s in cfg.sources:
        next_check, hold_until, disabled = state.get(s.name, (None, None, None))
        if not s.enabled or disabled:
            continue
        when = next_poll_at(next_check, hold_until, now, s.interval, rng)
        if when <= now:
            catch_up.append(s.name)
        else:
            later[s.name] = when
    missed = missed_digest(cfg.digest, now, last_built_by(db, slot_date(cfg.digest, now)), first_poll(db))
    return Plan(catch_up, later, missed, next_digest_at(cfg.digest, now))


class Runner:
    """Owns the APScheduler instance and the jobs; `clock` and `rng` are injectable for tests."""

    def __init__(self, cfg: Config, *, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None):
        self.cfg = cfg
        self.clock = clock
        self.rng = rng or random.Random()
        self.stop = threading.Event()
        self._sched = None

    # Each job opens its own connection: sqlite3 connections are not for sharing across threads,
    # and the store's IMMEDIATE transactions serialise the writers.
    def _db(self) -> sqlite_utils.Database:
        return store.connect(self.cfg.db_path)

    def poll_once(self, names: list[str] | None, *, due_only: bool) -> None:
        from .pipeline import poll

        db = self._db()
        try:
            summary = poll(self.cfg, db, names=names, now=self.clock(), due_only=due_only, progress=log.info)
            if summary.unreachable:
                log.warning("%s", summary.unreachable)
            log.debug("cycle done: %d ok, %d failed, %d new, %d updated", len(summary.ok), len(summary.failed),
                      summary.new, summary.updated)
        finally:
            db.conn.close()

    def build_digest(self, day: date) -> None:
        from .digest import make_digest
        from .mail import MailError

        db = self._db()
        try:
            send = self.cfg.digest.send
            try:
                r = make_digest(self.cfg, db, day, now=self.clock(), send=send)
            except MailError as e:
                # The files are written before mailing; the digest is not lost, only undelivered.
                log.error("digest %s: written, but not mailed: %s", day, e)
                return
            d = r.digest
            log.info("digest %s: %d item%s%s, %s%s", day, d.total, "" if d.total == 1 else "s",
                     " (already built; re-rendered)" if d.rebuilt else "", r.files[0].parent,
                     f", mailed to {', '.join(r.sent_to)}" if send else "")
        finally:
            db.conn.close()

    # --- jobs

    def _read_state(self, name: str) -> tuple[datetime | None, datetime | None, str | None]:
        db = self._db()
        try:
            return _source_state(db).get(name, (None, None, None))
        finally:
            db.conn.close()

    def _poll_job(self, name: str) -> None:
        if self.stop.is_set():
            return
        source = self.cfg.source(name)
        just_polled = False
        try:
            next_check, hold_until, disabled = self._read_state(name)
            if disabled:
                log.warning("%s: not polled any more: %s", name, disabled)
                return
            now = self.clock()
            if next_poll_at(next_check, hold_until, now, source.interval, self.rng) <= now:
                # names=[...] polls it whatever its state; we just checked it is due and not held.
                self.poll_once([name], due_only=False)
                just_polled = True
            # else: the database says later (backoff, Retry-After, or a `watcher poll` between
            # runs moved it): no poll now; the job is re-planned below from what is stored.
        except WatcherError as e:
            # Not a bug: most often the keyword list or a seed was edited mid-run and has a mistake
            # (keyword-list tuning happens while watcher runs). Nothing was fetched, so nothing is lost;
            # each source tries again at its next turn and works again once the file is fixed.
            log.error("%s: not polled: %s; will try again at its next turn", name, e)
            just_polled = True
        except Exception:
            log.exception("%s: poll failed with a bug; trying again later", name)
            just_polled = True
        next_check, hold_until, disabled = self._read_state(name)
        if disabled:
            log.warning("%s: not polled any more: %s", name, disabled)
            return
        now = self.clock()
        when = next_poll_at(next_check, hold_until, now, source.interval, self.rng, just_polled=just_polled)
        # This job is still running while it re-adds itself, so a time already past would fire at
        # once, meet max_instances=1, and be dropped by APScheduler: the source would never be polled
        # again. A second's margin lets this instance finish first.
        self._add_poll(name, max(when, now + timedelta(seconds=1)))

    def _digest_job(self) -> None:
        if self.stop.is_set():
            return
        now = self.clock()
        day = slot_date(self.cfg.digest, last_digest_slot(self.cfg.digest, now))
        try:
            db = self._db()
            try:
                done = store.digest_exists(db, day)
            finally:
                db.conn.close()
            if done:
                log.info("digest %s: already built (by `watcher digest`?); not building it again", day)
            else:
                self.build_digest(day)
        except WatcherError as e:  # the store locked for too long, a file it cannot write: say so plainly
            log.error("digest %s: not built: %s; `watcher digest --date %s` builds it by hand", day, e, day)
        except Exception:
            log.exception("digest %s failed with a bug", day)
        self._add_digest(next_digest_at(self.cfg.digest, self.clock()))

    def _add_poll(self, name: str, when: datetime) -> None:
        if self.stop.is_set() or self._sched is None:
            return
        log.debug("%s: next poll at %s", name, store.iso(when))
        # One one-shot job per source, re-added when it finishes: a source can never run twice at
        # once, and a machine that slept through its time runs it once on waking (no grace limit).
        self._sched.add_job(self._poll_job, "date", run_date=when, args=[name], id=f"poll:{name}",
                            replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=None)

    def _add_digest(self, when: datetime) -> None:
        if self.stop.is_set() or self._sched is None:
            return
        log.info("next digest at %s (%s)", when.astimezone(ZoneInfo(self.cfg.digest.timezone)).isoformat(
            timespec="minutes"), self.cfg.digest.timezone)
        self._sched.add_job(self._digest_job, "date", run_date=when, id="digest", replace_existing=True,
                            max_instances=1, coalesce=True, misfire_grace_time=None)

    @staticmethod
    def _guarded(what: str, then: str, step: Callable[[], None]) -> None:
        try:
            step()
        except WatcherError as e:
            log.error("%s: not done: %s; %s", what, e, then)
        except Exception:
            log.exception("%s failed with a bug; %s", what, then)

    # --- the process

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("%s received: finishing polls in flight, then stopping", signal.Signals(signum).name)
        self.stop.set()

    @property
    def scheduler(self) -> "BaseScheduler | None":
        """The running APScheduler instance (None before `start`): one job per source, `poll:<name>`,
        and `digest`, each a one-shot `date` job."""
        return self._sched

    def start(self) -> None:
        """Catch up, build a missed digest, then start the scheduler thread with every job planned.

        Returns at once (or after the catch-up, if `stop` is set meanwhile); `shutdown` ends it.
        """
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        from .pipeline import sync_sources

        db = self._db()
        try:
            sync_sources(db, self.cfg)
            now = self.clock()
            plan = plan_start(self.cfg, db, now, self.rng)
        finally:
            db.conn.close()
        n = len([s for s in self.cfg.sources if s.enabled])
        log.info("watcher run: %d source%s, %d due now; digest at %s %s", n, "" if n == 1 else "s",
                 len(plan.catch_up), self.cfg.digest.time, self.cfg.digest.timezone)
        # Before any scheduler thread exists: the pipeline may fork parser processes.
        # Guarded like the jobs they stand in for: a failed catch-up or digest is logged and retried on
        # schedule, never the end of `run` (which a service manager would only restart into the same).
        if plan.catch_up and not self.stop.is_set():
            self._guarded("catch-up poll", "each source is tried again at its next turn",
                          lambda: self.poll_once(plan.catch_up, due_only=True))
        missed = plan.missed_digest
        if missed and not self.stop.is_set():
            log.info("digest %s was missed while watcher was not running; building it now", missed)
            self._guarded(f"digest {missed}", f"`watcher digest --date {missed}` builds "
                          f"it by hand", lambda: self.build_digest(missed))
        if self.stop.is_set():
            return

        workers = max(1, min(8, n))
        self._sched = BackgroundScheduler(executors={"default": ThreadPoolExecutor(workers)}, timezone=timezone.utc)
        db = self._db()
        try:
            state = _source_state(db)
        finally:
            db.conn.close()
        now = self.clock()
        for s in self.cfg.sources:
            next_check, hold_until, disabled = state.get(s.name, (None, None, None))
            if s.enabled and not disabled:
                self._add_poll(s.name, next_poll_at(next_check, hold_until, now, s.interval, self.rng,
                                                    just_polled=s.name in plan.catch_up))
        self._add_digest(next_digest_at(self.cfg.digest, now))
        assert self._sched is not None  # made above
        self._sched.start()

    def shutdown(self) -> None:
        """Stop taking jobs and wait for polls in flight: each finishes and commits; jobs not started
        yet never start."""
        self.stop.set()
        if self._sched is not None and self._sched.running:
            self._sched.shutdown(wait=True)
        log.info("stopped")

    def serve(self) -> None:
        """Run until SIGINT/SIGTERM. The caller holds the instance lock."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            self.start()
            while not self.stop.wait(1.0):
                pass
        finally:
            self.shutdown()
