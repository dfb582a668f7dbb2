"""Issue 9, item 12: digest dates.

Classes of fault:
- a digest date after today in digest.timezone (a typo, or the UTC date when the zone is behind):
  refused with one line and exit 2, recording nothing, so today's digest still gets the waiting items;
- a past date takes only what came in by the end of that day, and leaves the rest for today;
- the store's first digest missed while watcher was down (never built one, but had polled before a
  digest time) is built once at start, like any later missed digest; a store that never polled
  missed nothing; a stray future-dated digest does not hide a missed one.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from test_digest import add_item, ids_in, make_cfg, utc
from test_scheduler import FEED, HCM, NY, T0, Clock, Running, _config
from util import run_cli, write_config
from watcher import store
from watcher.digest import build, local_date
from watcher.errors import UsageError
from watcher.scheduler import missed_digest, plan_start


def _digest_dates(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT date FROM digests ORDER BY date")]


# (digest timezone, now UTC, date asked for, refused?)
FUTURE = [
    ("Asia/Ho_Chi_Minh", "2026-03-01T18:00:00", "2026-03-02", False),  # local date is ahead of UTC: today
    ("Asia/Ho_Chi_Minh", "2026-03-01T18:00:00", "2026-03-03", True),
    ("America/New_York", "2026-03-02T03:00:00", "2026-03-02", True),  # the UTC date, but tomorrow in New York
    ("America/New_York", "2026-03-02T03:00:00", "2026-03-01", False),
    ("UTC", "2026-03-02T12:00:00", "2030-01-01", True),  # the typo from the issue
    ("UTC", "2026-03-02T12:00:00", "2026-02-28", False),
]


@pytest.mark.parametrize("tz,now,day,refused", FUTURE)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_date_after_today_in_the_digest_zone_is_refused_and_takes_nothing(
        tmp_path: Path, tz: str, now: str, day: str, refused: bool, dry_run: bool) -> None:
    cfg = make_cfg(tmp_path, tz)
    db = store.connect(cfg.db_path)
    add_item(db, id=1, fetched="2026-02-27T12:00:00")
    if not refused:
        d = build(cfg, db, date.fromisoformat(day), now=utc(now), dry_run=dry_run)
        assert [e.id for _, es in d.groups for e in es] == [1]
        return
    with pytest.raises(UsageError, match=rf"no digest for {day}: that date is after today"):
        build(cfg, db, date.fromisoformat(day), now=utc(now), dry_run=dry_run)
    assert _digest_dates(db) == [] and db.execute("SELECT count(*) FROM digest_items").fetchone()[0] == 0
    today = local_date(utc(now), tz)
    build(cfg, db, today, now=utc(now))
    assert ids_in(db, today.isoformat()) == {1}  # today's digest still gets the waiting item


def test_the_cli_refuses_a_future_date_in_one_line_and_todays_digest_still_has_the_items(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, [{"name": "wire", "url": "http://127.0.0.1:9/a.xml"}],
                            extra="digest: {timezone: Asia/Ho_Chi_Minh}")
    db = store.connect(tmp_path / "state" / "watcher.db")
    add_item(db, id=1, fetched=store.iso(store.utcnow() - timedelta(hours=1))[:19])
    tomorrow = local_date(store.utcnow(), "Asia/Ho_Chi_Minh") + timedelta(days=1)
    for args in (["--date", "2030-01-01"], ["--date", tomorrow.isoformat()], ["--date", "2030-01-01", "--dry-run"]):
        p = run_cli(cfg_path, "digest", *args, check=False)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert p.stderr.count("\n") == 1 and "that date is after today" in p.stderr and "Traceback" not in p.stderr
    assert _digest_dates(db) == []
    assert not (tmp_path / "state" / "digests").exists()
    out = run_cli(cfg_path, "digest").stdout
    assert ": 1 item, built" in out


def test_a_past_date_takes_only_what_came_in_by_the_end_of_that_day(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, "UTC")
    db = store.connect(cfg.db_path)
    add_item(db, id=1, fetched="2026-02-27T10:00:00")  # before the day: waiting, so it goes in
    add_item(db, id=2, fetched="2026-02-28T23:59:00")  # on the day
    add_item(db, id=3, fetched="2026-03-01T00:00:00")  # the next day: not this digest's
    add_item(db, id=4, fetched="2026-03-02T09:00:00")  # today
    now = utc("2026-03-02T12:00:00")
    build(cfg, db, date(2026, 2, 28), now=now)
    assert ids_in(db, "2026-02-28") == {1, 2}
    build(cfg, db, date(2026, 3, 2), now=now)
    assert ids_in(db, "2026-03-02") == {3, 4}


# (last built local date, first poll UTC, now UTC, missed date or None); digest at 07:00 in Ho Chi Minh
# (00:00 UTC).
FIRST = [
    (None, None, "2026-03-05T03:00:00", None),  # never polled: nothing was waiting for a digest
    (None, "2026-03-02T10:00:00", "2026-03-05T03:00:00", "2026-03-05"),  # polled, then off for days: one
    (None, "2026-03-04T23:00:00", "2026-03-05T03:00:00", "2026-03-05"),  # polled an hour before the time
    (None, "2026-03-05T00:00:00", "2026-03-05T03:00:00", None),  # first polled at the digest time
    (None, "2026-03-05T01:00:00", "2026-03-05T03:00:00", None),  # first polled after it: next one is on time
    (None, "2026-03-04T12:00:00", "2026-03-04T23:30:00", None),  # today's time has not come yet
    ("2026-03-04", "2026-03-02T10:00:00", "2026-03-05T03:00:00", "2026-03-05"),  # later digests as before
    ("2026-03-05", "2026-03-02T10:00:00", "2026-03-05T03:00:00", None),
]


@pytest.mark.parametrize("last,first,now,expected", FIRST)
def test_the_first_digest_is_caught_up_once_the_store_has_polled(last: str | None, first: str | None, now: str,
                                                                 expected: str | None) -> None:
    got = missed_digest(HCM, utc(now), date.fromisoformat(last) if last else None, utc(first) if first else None)
    assert got == (date.fromisoformat(expected) if expected else None)


def test_first_digest_time_in_new_york_after_downtime() -> None:
    # 07:00 EST on 2026-03-02 is 12:00 UTC; first poll the evening before, back at 15:00 UTC.
    assert missed_digest(NY, utc("2026-03-02T15:00:00"), None, utc("2026-03-02T01:00:00")) == date(2026, 3, 2)


def test_a_stray_future_digest_does_not_hide_a_missed_one(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, "UTC")
    db = store.connect(cfg.db_path)
    now = utc("2026-03-05T12:00:00")
    db.execute("INSERT INTO sources (name, url) VALUES ('wire', 'http://127.0.0.1/')")
    db.execute("INSERT INTO fetches (source, started_at, url, outcome) VALUES ('wire', ?, 'http://127.0.0.1/', 'ok')",
               [store.iso(now - timedelta(days=3))])
    # What `watcher digest --date 2030-01-01` left behind before future dates were refused.
    db.execute("INSERT INTO digests (date, built_at, cutoff, timezone) VALUES ('2030-01-01', ?, ?, 'UTC')",
               [store.iso(now - timedelta(days=2)), store.iso(now - timedelta(days=2))])
    assert plan_start(cfg, db, now, random.Random(1)).missed_digest == date(2026, 3, 5)


def test_run_builds_the_first_digest_missed_while_off_once(tmp_path: Path, feed_server) -> None:
    cfg = _config(tmp_path, [{"name": "wire", "url": feed_server.add("/w.xml", FEED), "interval": "1h"}],
                  digest_time="07:00")
    # A first `run` polled on the 5th in the afternoon and was stopped before its first digest time.
    first = Running(cfg, Clock(T0 - timedelta(days=2)), seed=3)
    with first:
        pass
    db = store.connect(cfg.db_path)
    try:
        assert _digest_dates(db) == []
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 1
    finally:
        db.conn.close()

    # Back on the 7th at 12:00: the 07:00 digest (the store's first) was missed; built now, once.
    with Running(cfg, Clock(T0), seed=4) as run:
        db = store.connect(cfg.db_path)
        try:
            assert _digest_dates(db) == ["2030-01-07"]
            assert ids_in(db, "2030-01-07") == {1}
        finally:
            db.conn.close()
        assert run.planned("digest") == T0.replace(hour=7) + timedelta(days=1)
        assert run.problems() == []
    md = cfg.state_dir / "digests" / "2030-01-07.md"
    stamp = md.stat().st_mtime_ns
    with Running(cfg, Clock(T0 + timedelta(hours=1)), seed=5):
        pass  # a restart the same day builds nothing again
    assert md.stat().st_mtime_ns == stamp


def test_run_on_a_store_that_never_polled_builds_no_digest_at_start(tmp_path: Path, feed_server) -> None:
    cfg = _config(tmp_path, [{"name": "wire", "url": feed_server.add("/w.xml", FEED), "interval": "1h"}],
                  digest_time="07:00")
    with Running(cfg, Clock(T0), seed=6) as run:
        db = store.connect(cfg.db_path)
        try:
            assert _digest_dates(db) == []  # the catch-up poll ran, but no digest time has passed since
            assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 1
        finally:
            db.conn.close()
        assert run.planned("digest") == T0.replace(hour=7) + timedelta(days=1)
