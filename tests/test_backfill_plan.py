"""Pure decisions of the backfill (watcher/backfill/plan.py), the robots.txt parser it relies on,
and the store migration that adds items.origin and the ledger to an existing store."""

from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.robotparser import RobotFileParser

import pytest
from protego import Protego

from watcher import store
from watcher.backfill.plan import DateRange, child_sitemap_skip, grid, merge, page_stop

RNG = DateRange(date(2026, 10, 1), date(2026, 10, 31))


class E:
    def __init__(self, day: int | None):
        self.published = datetime(2026, 10 if day and day > 0 else 9, abs(day) if day else 1, tzinfo=timezone.utc) \
            if day is not None else None
        self.updated = None


@pytest.mark.parametrize("days,next_url,seen,stops", [
    ([], "http://a/2", [], "an empty page"),
    ([5, -20], "http://a/2", [], "before --since"),  # a page reaching back past --since is the last
    ([20, 10], None, [], "no older page"),
    ([20, 10], "http://a/1", ["http://a/1"], "a loop"),
    ([20, 10], "http://a/2", ["http://a/1"], None),
    ([None], "http://a/2", [], None),  # undated entries say nothing about where the archive is
])
def test_when_feed_paging_stops(days, next_url, seen, stops):
    got = page_stop([E(d) for d in days], RNG, next_url, seen)
    assert (got is None) if stops is None else (stops in got)


@pytest.mark.parametrize("url,lastmod,skipped", [
    ("http://a/sitemap-2026-09.xml", None, "outside the range"),
    ("http://a/sitemap-2026-10.xml", None, None),
    ("http://a/2026/11/02/sitemap.xml", None, "outside the range"),
    ("http://a/sitemap-posts.xml", datetime(2026, 9, 1, tzinfo=timezone.utc), "before --since"),
    ("http://a/sitemap-posts.xml", datetime(2026, 11, 20, tzinfo=timezone.utc), None),  # changed since: read
    ("http://a/sitemap-posts.xml", None, None),
])
def test_which_child_sitemaps_are_read(url, lastmod, skipped):
    got = child_sitemap_skip(url, lastmod, RNG)
    assert (got is None) if skipped is None else (skipped in got)


def test_the_grid_marks_gaps_and_empty_covered_days():
    covered = {"s": merge([DateRange(date(2026, 10, 1), date(2026, 10, 2)), DateRange(date(2026, 10, 3), date(2026, 10, 3))])}
    assert covered["s"] == [DateRange(date(2026, 10, 1), date(2026, 10, 3))]
    unit, rows = grid(DateRange(date(2026, 10, 1), date(2026, 10, 4)), ["s"], covered,
                      {("s", date(2026, 10, 1)): 3, ("s", date(2026, 10, 4)): 2})
    assert unit == "day" and [c[0].text() for _, c in rows] == ["3", "0!", "0!", "2~"]


def test_protego_gets_the_wildcard_rule_the_stdlib_gets_wrong():
    rules = "User-agent: *\nDisallow: /*php$\n"
    stdlib = RobotFileParser()
    stdlib.parse(rules.splitlines())
    assert stdlib.can_fetch("watcher", "http://a/x.php")  # wrong: why the backfill uses protego
    assert not Protego.parse(rules).can_fetch("http://a/x.php", "watcher")
    assert Protego.parse(rules).can_fetch("http://a/x.php?y=1", "watcher")


def test_an_existing_store_gains_origin_and_the_ledger(tmp_path):
    path = tmp_path / "watcher.db"
    db = store.connect(path)
    with store.write(db):
        db.execute("INSERT INTO sources (name, url) VALUES ('s', 'http://a/')")
        # A store as it was before this migration: no origin column, no ledger, m032 not applied.
        db.execute("DROP TABLE backfill_runs")
        db.execute("ALTER TABLE items DROP COLUMN origin")
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm032_backfill'")
        db.execute("INSERT INTO items (source, guid, guid_kind, published, fetched_at, last_seen, content_hash)"
                   " VALUES ('s', 'g', 'guid', '2026-10-01', '2026-10-01', '2026-10-01', 'h')")
    db.conn.close()
    db = store.connect(path)
    assert db.execute("SELECT origin FROM items").fetchall() == [("poll",)]
    assert db.execute("SELECT count(*) FROM backfill_runs").fetchone() == (0,)
