"""Scheduling decisions, driven by an injected clock: nothing here sleeps."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from watcher import store
from watcher.config import Config, DigestSettings, Source
from watcher.scheduler import (JITTER_CAP_S, jitter, last_digest_slot, missed_digest, next_digest_at,
                               next_poll_at, plan_start)


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
