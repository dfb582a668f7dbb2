"""Scheduling, driven by an injected clock: nothing here sleeps to let time pass.

The first part tests the pure decisions. The second runs the real `Runner` (real APScheduler thread,
real pipeline, feeds from the local feed server, a store in tmp_path) with a clock that stands still
until the test moves it. The clock starts in 2030, so no job planned from it ever comes due in real
time by itself: a test "lets time pass" by setting the clock to a job's planned time and telling
APScheduler to run that job now (`Running.fire`), then waits for the job to finish. A slow poll is
a feed the local server holds until the test releases it, so no assertion races a timer.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from apscheduler.events import (EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED,
                                JobExecutionEvent)

from util import ROOT, rss, write_config
from watcher import config as config_mod
from watcher import store
from watcher.times import parse_iso_optional
from watcher.config import Config, DigestSettings, Source
from watcher.scheduler import (JITTER_CAP_S, JITTER_SHARE, Runner, jitter, last_digest_slot, missed_digest,
                               next_digest_at, next_poll_at, plan_start)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


HCM = DigestSettings(time="07:00", timezone="Asia/Ho_Chi_Minh")  # 07:00 local is 00:00 UTC
NY = DigestSettings(time="07:00", timezone="America/New_York")

# (settings, now UTC, expected next digest UTC)
NEXT_DIGEST = [
    (HCM, "2026-03-01T23:59:00", "2026-03-02T00:00:00"),
    (HCM, "2026-03-02T00:00:00", "2026-03-03T00:00:00"),  # exactly at the time: that one is done
    (HCM, "2026-03-02T00:00:01", "2026-03-03T00:00:00"),
    (NY, "2026-03-07T13:00:00", "2026-03-08T11:00:00"),  # DST starts on the 8th: 07:00 EDT is 11:00Z
    (NY, "2026-03-08T11:30:00", "2026-03-09T11:00:00"),
    (NY, "2026-10-31T12:00:00", "2026-11-01T12:00:00"),  # DST ends on Nov 1st: 07:00 EST is 12:00Z
]


@pytest.mark.parametrize("settings,now,expected", NEXT_DIGEST)
def test_next_digest_is_the_local_time_in_the_configured_zone(settings, now: str, expected: str) -> None:
    assert next_digest_at(settings, utc(now)) == utc(expected)


# (last built local date, now UTC, missed date or None)
MISSED = [
    ("2026-03-01", "2026-03-02T00:30:00", "2026-03-02"),  # off at 07:00 today: build today's now
    ("2026-03-02", "2026-03-02T00:30:00", None),  # built already
    ("2026-03-01", "2026-03-01T23:30:00", None),  # 06:30 local: today's time has not come yet
    ("2026-02-20", "2026-03-05T03:00:00", "2026-03-05"),  # off for days: one digest, not ten
    (None, "2026-03-05T03:00:00", None),  # a new store missed nothing
]


@pytest.mark.parametrize("last,now,expected", MISSED)
def test_a_missed_digest_is_built_once(last: str | None, now: str, expected: str | None) -> None:
    got = missed_digest(HCM, utc(now), date.fromisoformat(last) if last else None)
    assert got == (date.fromisoformat(expected) if expected else None)


def test_last_slot_is_never_in_the_future() -> None:
    now = utc("2026-03-02T12:00:00")
    for settings in (HCM, NY):
        slot = last_digest_slot(settings, now)
        assert slot <= now < next_digest_at(settings, now)
        assert next_digest_at(settings, slot) > slot


NOW = utc("2026-03-02T12:00:00")
HOUR = 3600


def test_never_polled_or_overdue_is_polled_now_once() -> None:
    rng = random.Random(1)
    assert next_poll_at(None, None, NOW, HOUR, rng) == NOW
    # Asleep through ten intervals: due now, one poll; the pipeline then sets next_check an interval on.
    assert next_poll_at(NOW - timedelta(hours=10), None, NOW, HOUR, rng) == NOW


def test_a_future_check_gets_jitter_but_never_comes_early() -> None:
    rng = random.Random(2)
    nxt = NOW + timedelta(minutes=30)
    seen = {next_poll_at(nxt, None, NOW, HOUR, rng) for _ in range(50)}
    assert all(nxt <= t <= nxt + timedelta(seconds=HOUR * 0.1) for t in seen)
    assert len(seen) > 1  # it does vary


def test_jitter_is_capped_for_long_intervals() -> None:
    rng = random.Random(3)
    assert all(jitter(86400, rng) <= timedelta(seconds=JITTER_CAP_S) for _ in range(100))


def test_backoff_or_retry_after_hold_is_respected() -> None:
    rng = random.Random(4)
    hold = NOW + timedelta(hours=2)
    # next_check says due, but the fetch layer holds the source (Retry-After): wait for the hold.
    assert next_poll_at(NOW - timedelta(minutes=1), hold, NOW, HOUR, rng) >= hold


def test_right_after_a_poll_that_recorded_nothing_it_waits_an_interval() -> None:
    rng = random.Random(5)
    assert next_poll_at(NOW - timedelta(minutes=1), None, NOW, HOUR, rng, just_polled=True) >= NOW + timedelta(hours=1)


def test_start_plan_reads_the_database(tmp_path: Path) -> None:
    sources = (
        Source("overdue", "http://127.0.0.1/a", interval=HOUR),
        Source("never", "http://127.0.0.1/b", interval=HOUR),
        Source("later", "http://127.0.0.1/c", interval=HOUR),
        Source("held", "http://127.0.0.1/d", interval=HOUR),
        Source("off", "http://127.0.0.1/e", enabled=False),
        Source("gone", "http://127.0.0.1/f"),
    )
    cfg = Config(path=tmp_path / "s.yaml", sources=sources, seeds_dir=tmp_path, state_dir=tmp_path / "state",
                 keywords_path=tmp_path / "k.yaml", digest=HCM)
    db = store.connect(cfg.db_path)
    rows = [("overdue", NOW - timedelta(days=3), None, None), ("later", NOW + timedelta(minutes=20), None, None),
            ("held", NOW - timedelta(minutes=5), NOW + timedelta(hours=3), None),
            ("gone", None, None, "410 Gone")]
    for name, nxt, hold, disabled in rows:
        db.execute("INSERT INTO sources (name, url, next_check, hold_until, disabled_reason) VALUES (?,?,?,?,?)",
                   [name, "http://127.0.0.1/", store.iso(nxt), store.iso(hold), disabled])
    db.execute("INSERT INTO digests (date, built_at, cutoff, timezone) VALUES ('2026-03-01', ?, ?, ?)",
               [store.iso(NOW - timedelta(days=1)), store.iso(NOW), HCM.timezone])
    plan = plan_start(cfg, db, NOW, random.Random(6))
    assert sorted(plan.catch_up) == ["never", "overdue"]
    assert set(plan.later) == {"later", "held"}
    assert plan.later["held"] >= NOW + timedelta(hours=3)
    assert NOW + timedelta(minutes=20) <= plan.later["later"] <= NOW + timedelta(minutes=26)
    assert plan.missed_digest == date(2026, 3, 2)  # 19:00 local on the 2nd; the 1st was the last built
    assert plan.next_digest == utc("2026-03-03T00:00:00")


# ---------------------------------------------------------------- the Runner and its APScheduler jobs

T0 = datetime(2030, 1, 7, 12, 0, tzinfo=timezone.utc)
QUARTER, HOURLY = 900, 3600
FEED = rss([{"guid": "h20-1", "title": "Nvidia H20 export licence rules tightened by BIS",
             "link": "http://127.0.0.1/news/h20-1", "description": "The Entity List grows."}])


class Clock:
    """The Runner's clock: stands still until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Running:
    """A started Runner whose jobs run only when the test fires them."""

    def __init__(self, cfg: Config, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self.runner = Runner(cfg, clock=clock, rng=random.Random(seed))
        self.events: list[tuple[int, str]] = []
        self._done: dict[str, threading.Event] = {}

    def __enter__(self) -> "Running":
        self.runner.start()  # catch-up and missed digest happen here, synchronously
        assert self.runner.scheduler is not None
        self.runner.scheduler.add_listener(
            self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.shutdown()

    def _on_event(self, event: JobExecutionEvent) -> None:
        self.events.append((event.code, event.job_id))
        done = self._done.get(event.job_id)
        if done is not None and event.code in (EVENT_JOB_EXECUTED, EVENT_JOB_ERROR):
            done.set()

    def planned(self, job_id: str) -> datetime | None:
        """When the job is planned for, by the Runner's clock; None if there is no such job."""
        job = self.runner.scheduler.get_job(job_id)
        return job.next_run_time if job else None

    def fire(self, job_id: str, *, at: datetime | None = None, wait: bool = True) -> threading.Event:
        """Move the clock to the job's planned time (or `at`) and have APScheduler run the job now."""
        planned = self.planned(job_id)
        assert planned is not None, f"no pending job {job_id}; jobs: {self.runner.scheduler.get_jobs()}"
        self.clock.now = at or planned
        done = self._done[job_id] = threading.Event()
        self.runner.scheduler.modify_job(job_id, next_run_time=datetime.now(timezone.utc))
        if wait:
            self.wait(job_id, done)
        return done

    def wait(self, job_id: str, done: threading.Event) -> None:
        # Waits for an event, it does not time anything: the limit only turns a hang into a failure.
        assert done.wait(60), f"job {job_id} did not finish"

    def problems(self) -> list[tuple[int, str]]:
        """Jobs that raised, were skipped as already running, or were missed: all bugs here."""
        return [e for e in self.events if e[0] != EVENT_JOB_EXECUTED]


def _config(tmp_path: Path, sources: list[dict], digest_time: str = "07:00") -> Config:
    path = write_config(tmp_path, sources, extra=f'digest: {{time: "{digest_time}", timezone: UTC}}')
    return config_mod.load(path)


def _fetch_times(cfg: Config, name: str) -> list[datetime]:
    db = store.connect(cfg.db_path)
    try:
        return [parse_iso_optional(r[0]) for r in
                db.execute("SELECT started_at FROM fetches WHERE source = ? ORDER BY id", [name])]
    finally:
        db.conn.close()


def _source_row(cfg: Config, name: str) -> tuple[datetime | None, datetime | None]:
    db = store.connect(cfg.db_path)
    try:
        r = db.execute("SELECT next_check, hold_until FROM sources WHERE name = ?", [name]).fetchone()
        return parse_iso_optional(r[0]), parse_iso_optional(r[1])
    finally:
        db.conn.close()


def _max_jitter(interval: int) -> timedelta:
    return timedelta(seconds=min(interval * JITTER_SHARE, JITTER_CAP_S))


def test_after_start_each_source_is_repolled_at_its_own_interval_with_jitter(tmp_path: Path, feed_server) -> None:
    cfg = _config(tmp_path, [{"name": "quarter", "url": feed_server.add("/q.xml", FEED), "interval": "15m"},
                             {"name": "hourly", "url": feed_server.add("/h.xml", FEED), "interval": "1h"}])
    intervals = {"quarter": QUARTER, "hourly": HOURLY}
    with Running(cfg, Clock(T0), seed=11) as run:
        fired = {"quarter": 0, "hourly": 0}
        # Two simulated hours: always let the earliest planned poll happen next.
        while True:
            planned = {name: run.planned(f"poll:{name}") for name in intervals}
            assert all(planned.values()), f"every source has its next poll planned: {planned}"
            name = min(planned, key=lambda n: planned[n])
            if planned[name] > T0 + timedelta(hours=2):
                break
            run.fire(f"poll:{name}")
            fired[name] += 1
        assert run.problems() == []
        assert run.planned("digest") == datetime(2030, 1, 8, 7, 0, tzinfo=timezone.utc)  # not fired by polls

    for name, interval in intervals.items():
        times = _fetch_times(cfg, name)
        assert times[0] == T0  # the catch-up poll at start
        assert len(times) == 1 + fired[name]  # every fired job polled once, nothing else did
        assert len(feed_server.requests(f"/{name[0]}.xml")) == len(times)
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert gaps and all(timedelta(seconds=interval) <= g <= timedelta(seconds=interval) + _max_jitter(interval)
                            for g in gaps), (name, gaps)
    assert fired["quarter"] >= 6 and fired["hourly"] >= 1  # 2 h: about 7 quarter-hours, 1 hour
    times = _fetch_times(cfg, "quarter")
    assert len({b - a for a, b in zip(times, times[1:])}) > 1, "jitter varies from poll to poll"


def test_a_keyword_list_broken_mid_run_is_one_clear_error_and_polling_resumes_once_fixed(
        tmp_path: Path, feed_server, caplog) -> None:
    # Keyword-list tuning happens while `watcher run` runs; a typo must not read as a crash.
    good = (ROOT / "seeds" / "keywords.yaml").read_text(encoding="utf-8")
    kw = tmp_path / "tuning.yaml"
    kw.write_text(good, encoding="utf-8")
    cfg = dataclasses.replace(
        _config(tmp_path, [{"name": "wire", "url": feed_server.add("/w.xml", FEED), "interval": "15m"}]),
        keywords_path=kw)
    with Running(cfg, Clock(T0)) as run:
        kw.write_text(good + "\ntopics: [an unclosed list\n", encoding="utf-8")
        with caplog.at_level(logging.INFO, logger="watcher"):
            run.fire("poll:wire")
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is None, caplog.text
        assert "wire: not polled:" in errors[0].getMessage() and "tuning.yaml" in errors[0].getMessage()
        assert run.planned("poll:wire") is not None, "the source must stay scheduled"
        kw.write_text(good, encoding="utf-8")
        run.fire("poll:wire")
        assert run.problems() == []
    assert len(_fetch_times(cfg, "wire")) == 2  # the catch-up poll at start, and the one after the fix


def test_a_slow_poll_is_never_overlapped_and_its_missed_turns_are_skipped(tmp_path: Path, feed_server) -> None:
    cfg = _config(tmp_path, [{"name": "slow", "url": feed_server.add("/slow.xml", FEED), "interval": "15m"},
                             {"name": "quick", "url": feed_server.add("/quick.xml", FEED), "interval": "15m"}])
    with Running(cfg, Clock(T0), seed=12) as run:
        assert [len(feed_server.requests(p)) for p in ("/slow.xml", "/quick.xml")] == [1, 1]  # catch-up
        # From now on /slow.xml answers only when the test says so (`stopping` ends the "slow" wait),
        # so "the poll is still running" is a fact here, not a race against a timer.
        feed_server.add_behaviour("/slow.xml", "slow", delay=120)
        slow_done = run.fire("poll:slow", wait=False)
        try:
            _wait_until(lambda: len(feed_server.requests("/slow.xml")) == 2, "the slow poll's request")

            # Twelve intervals pass while it runs. Everything else keeps going meanwhile, and nothing
            # starts a second poll of the slow source: there is no pending job for it to fire.
            run.clock.now += timedelta(hours=3)
            assert run.planned("poll:slow") is None
            run.fire("poll:quick", at=run.clock.now)
            assert len(feed_server.requests("/quick.xml")) == 2
            assert run.planned("poll:slow") is None
            assert not slow_done.is_set() and feed_server.in_flight == 1  # still running
            assert len(feed_server.requests("/slow.xml")) == 2
        finally:
            feed_server.stopping.set()  # the slow answer goes out; the poll finishes
        run.wait("poll:slow", slow_done)
        end = run.clock.now
        # The turns it missed are skipped, not made up in a burst: one interval from the end.
        nxt = run.planned("poll:slow")
        assert end + timedelta(seconds=QUARTER) <= nxt <= end + timedelta(seconds=QUARTER) + _max_jitter(QUARTER)
        assert len(feed_server.requests("/slow.xml")) == 2
        run.fire("poll:slow")
        assert len(feed_server.requests("/slow.xml")) == 3
        assert run.problems() == []
    started = _fetch_times(cfg, "slow")  # the store keeps whole seconds
    assert len(started) == 3 and started[0] == T0
    assert started[2] - started[1] >= timedelta(hours=3, minutes=15, seconds=-1)


def _wait_until(check: Callable[[], bool], what: str) -> None:
    # Waits for an event, it does not time anything: the limit only turns a hang into a clear failure.
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.01)


def test_a_source_given_retry_after_waits_that_long_even_if_woken_early(tmp_path: Path, feed_server) -> None:
    limited = feed_server.add_behaviour("/limited.xml", "rate_limited", retry_after="5400")  # 1.5 h
    cfg = _config(tmp_path, [{"name": "limited", "url": limited, "interval": "15m"}])
    with Running(cfg, Clock(T0), seed=13) as run:
        # The first poll (at start) got 429 with Retry-After: held 1.5 h, not one interval.
        next_check, hold = _source_row(cfg, "limited")
        assert hold == T0 + timedelta(hours=1, minutes=30)
        assert hold <= run.planned("poll:limited") <= hold + _max_jitter(QUARTER)
        # Woken early (its interval is up, the hold is not): no request; it goes back to waiting.
        run.fire("poll:limited", at=T0 + timedelta(minutes=20))
        assert len(feed_server.requests("/limited.xml")) == 1
        assert hold <= run.planned("poll:limited") <= hold + _max_jitter(QUARTER)
        # Once the hold is over it is polled, and a success puts it back on its interval.
        feed_server.add("/limited.xml", FEED)
        run.fire("poll:limited")
        assert len(feed_server.requests("/limited.xml")) == 2
        next_check, hold = _source_row(cfg, "limited")
        assert hold is None and next_check == run.clock.now.replace(microsecond=0) + timedelta(seconds=QUARTER)
        assert next_check <= run.planned("poll:limited") <= next_check + _max_jitter(QUARTER) + timedelta(seconds=1)
        assert run.problems() == []


def test_a_failing_source_backs_off_and_each_poll_waits_for_the_stored_hold(tmp_path: Path, feed_server) -> None:
    broken = feed_server.add_behaviour("/broken.xml", "unavailable", retry_after=None)  # 503, no Retry-After
    cfg = _config(tmp_path, [{"name": "broken", "url": broken, "interval": "15m"}])
    with Running(cfg, Clock(T0), seed=14) as run:
        for _ in range(4):
            next_check, hold = _source_row(cfg, "broken")
            due = max(t for t in (next_check, hold) if t is not None)
            # +1 s: the store keeps whole seconds, the plan does not.
            assert due <= run.planned("poll:broken") <= due + _max_jitter(QUARTER) + timedelta(seconds=1)
            run.fire("poll:broken")
        assert run.problems() == []
    started = _fetch_times(cfg, "broken")
    assert len(started) == 5 and len(feed_server.requests("/broken.xml")) == 5  # start + four fired, no more
    gaps = [b - a for a, b in zip(started, started[1:])]
    # Weights 0.5 per 503: holds of 0.71, 1, 1.41, 2 intervals (never less than the interval itself).
    assert gaps[-1] >= timedelta(seconds=2 * QUARTER - 1) and gaps[-2] >= timedelta(seconds=1.41 * QUARTER - 1)
    assert all(g >= timedelta(seconds=QUARTER - 1) for g in gaps), gaps


def test_sleeping_through_ten_intervals_gives_one_catch_up_poll_then_the_interval(
        tmp_path: Path, feed_server) -> None:
    cfg = _config(tmp_path, [{"name": "a", "url": feed_server.add("/a.xml", FEED), "interval": "1h"},
                             {"name": "b", "url": feed_server.add("/b.xml", FEED), "interval": "1h"},
                             {"name": "daily", "url": feed_server.add("/d.xml", FEED), "interval": "1d"}])
    with Running(cfg, Clock(T0), seed=15):
        pass  # first start: everything is new, so everything is polled once
    woke = T0 + timedelta(hours=10, minutes=30)  # the machine slept through ten hourly turns
    with Running(cfg, Clock(woke), seed=16) as run:
        for name in ("a", "b"):
            assert _fetch_times(cfg, name) == [T0, woke]  # one catch-up poll, not ten
            assert len(feed_server.requests(f"/{name}.xml")) == 2
            after = woke + timedelta(seconds=HOURLY)
            assert after <= run.planned(f"poll:{name}") <= after + _max_jitter(HOURLY)
        # Not yet due: not polled at start, planned for its own time.
        assert _fetch_times(cfg, "daily") == [T0]
        assert T0 + timedelta(days=1) <= run.planned("poll:daily") <= T0 + timedelta(days=1) + _max_jitter(86400)


def test_a_digest_missed_while_off_is_built_at_start_once_and_the_next_on_time(tmp_path: Path, feed_server) -> None:
    from watcher.digest import make_digest

    cfg = _config(tmp_path, [{"name": "wire", "url": feed_server.add("/w.xml", FEED), "interval": "1h"}],
                  digest_time="07:00")
    db = store.connect(cfg.db_path)
    make_digest(cfg, db, date(2030, 1, 4), now=datetime(2030, 1, 4, 7, 0, tzinfo=timezone.utc))
    db.conn.close()
    digests = cfg.state_dir / "digests"

    def built() -> list[str]:
        db = store.connect(cfg.db_path)
        try:
            return [r[0] for r in db.execute("SELECT date FROM digests ORDER BY date")]
        finally:
            db.conn.close()

    # Off from the 4th to the 7th at 12:00: the 7th's 07:00 digest was missed; the 5th and 6th are
    # not built one by one, the 7th holds everything since.
    with Running(cfg, Clock(T0), seed=17) as run:
        assert built() == ["2030-01-04", "2030-01-07"]
        md = digests / "2030-01-07.md"
        assert "<http://127.0.0.1/news/h20-1>" in md.read_text(encoding="utf-8")  # the catch-up poll is in it
        assert run.planned("digest") == datetime(2030, 1, 8, 7, 0, tzinfo=timezone.utc)
    stamp = md.stat().st_mtime_ns

    # A restart the same day builds nothing again; the next digest comes at its time, once.
    with Running(cfg, Clock(T0 + timedelta(hours=1)), seed=18) as run:
        assert built() == ["2030-01-04", "2030-01-07"] and md.stat().st_mtime_ns == stamp
        run.fire("digest")
        assert built() == ["2030-01-04", "2030-01-07", "2030-01-08"]
        assert (digests / "2030-01-08.md").exists()
        assert run.planned("digest") == datetime(2030, 1, 9, 7, 0, tzinfo=timezone.utc)
        assert run.problems() == []
    assert not (digests / "2030-01-05.md").exists() and not (digests / "2030-01-06.md").exists()
