"""`watcher backfill` and `watcher coverage` as a user runs them, against local sites (tests/backfill_sites.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backfill_sites import SITEMAPS, archive_site, robots_site, sitemap_site, wayback_site, wordpress_site
from sitesrv import Site
from click.testing import CliRunner
from util import SUBPROCESS_PYTHONPATH, write_config
from watcher.cli import cli

def run_cli(config: Path, *args: str, check: bool = True):
    """In-process, as `watcher --config CONFIG ARGS` (a subprocess each time costs seconds on a busy
    machine); the tests that kill a backfill run it as a real process instead."""
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    if check and result.exit_code != 0:
        raise AssertionError(f"watcher {' '.join(args)} exited {result.exit_code}\n{result.output}")
    return result


FAST = 20  # requests/s to a test site (backfill_rate): the default 1/s would make the suite slow


@pytest.fixture
def site():
    s = Site().start()
    yield s
    s.stop()


def _config(tmp_path: Path, site: Site, sources: list[dict]) -> Path:
    return write_config(tmp_path, [{"backfill_rate": FAST, **s} for s in sources],
                        extra=f"backfill: {{wayback_url: {json.dumps(site.url(''))}, wayback_rate: {FAST}}}")


def _db(tmp_path: Path) -> sqlite3.Connection:
    # Read-only: a plain connect() would create an empty file while the backfill is still creating the
    # store, and a 0-byte file is (rightly) refused as a store cut short.
    return sqlite3.connect(f"file:{tmp_path / 'state' / 'watcher.db'}?mode=ro", uri=True)


def _items(tmp_path: Path, source: str) -> list[tuple]:
    with _db(tmp_path) as db:
        return db.execute("SELECT guid, origin, published FROM items WHERE source = ? ORDER BY guid", [source]).fetchall()


def _runs(tmp_path: Path) -> list[tuple]:
    with _db(tmp_path) as db:
        return db.execute("SELECT source, method, status, since, until, cursor FROM backfill_runs ORDER BY id").fetchall()


def test_wordpress_rest_api_three_pages_through_a_429(tmp_path, site):
    posts = wordpress_site(site)
    cfg = _config(tmp_path, site, [{"name": "wp", "url": site.url("/feed/")}])
    p = run_cli(cfg, "backfill", "--source", "wp", "--method", "wordpress", "--since", "2026-10-01",
                "--until", "2026-10-31")
    assert "waiting 1 s" in p.stdout  # the 429's Retry-After was honoured, not treated as the end
    assert "complete by wordpress" in p.stdout and "3 pages" in p.stdout
    got = _items(tmp_path, "wp")
    assert sorted(g for g, _, _ in got) == sorted(x["guid"]["rendered"] for x in posts)
    assert {o for _, o, _ in got} == {"backfill"}
    # Published dates are the posts' own, not today.
    assert min(pub for _, _, pub in got).startswith("2026-10-01") and max(pub for _, _, pub in got).startswith("2026-10-25")
    api = [q for _, path, q in site.log if path == "/wp-json/wp/v2/posts"]
    assert len(api) == 4  # pages 1, 2 (429), 2, 3


def test_wordpress_feed_paging_then_the_api_finds_the_same_posts(tmp_path, site):
    """auto picks feed paging for a WordPress feed (?paged=N); the REST API then adds nothing: same guids."""
    posts = wordpress_site(site, throttle_page=None)
    cfg = _config(tmp_path, site, [{"name": "wp", "url": site.url("/feed/")}])
    p = run_cli(cfg, "backfill", "--since", "2026-10-01", "--until", "2026-10-31")
    assert "using feed" in p.stdout
    assert [q for _, path, q in site.log if path == "/feed/"] == ["", "paged=2", "paged=3", "paged=4"]
    assert len(_items(tmp_path, "wp")) == len(posts)
    # A range the ledger does not cover yet (it starts earlier), so the API is asked.
    p = run_cli(cfg, "backfill", "--method", "wordpress", "--since", "2026-09-20", "--until", "2026-10-31")
    assert "complete by wordpress" in p.stdout and "25 items in range, 0 new" in p.stdout
    assert len(_items(tmp_path, "wp")) == len(posts)


def test_an_rfc5005_archive_chain_that_loops_stops_at_the_loop(tmp_path, site):
    ids = archive_site(site, n=4)
    cfg = _config(tmp_path, site, [{"name": "arch", "url": site.url("/archive/feed.xml")}])
    p = run_cli(cfg, "backfill", "--since", "2026-09-01", "--until", "2026-09-30")
    assert "a loop" in p.stdout and "complete by feed" in p.stdout
    assert sorted(g for g, _, _ in _items(tmp_path, "arch")) == sorted(ids)
    fetched = [path for path in site.paths() if path.startswith("/archive/")]
    assert sorted(fetched) == sorted(["/archive/feed.xml", "/archive/1.xml", "/archive/2.xml", "/archive/3.xml"])


def test_auto_says_why_it_skipped_each_method(tmp_path, site):
    archive_site(site, n=1, loop=False)  # one document, no archive links, dated 2026-09-27..30
    cfg = _config(tmp_path, site, [{"name": "lone", "url": site.url("/archive/feed.xml")}])
    p = run_cli(cfg, "backfill", "--since", "2026-01-01", "--until", "2026-09-30", check=False)
    out = p.stdout
    assert "skipped feed: the feed links no archive" in out and "reaches back only to 2026-09-27" in out
    assert "skipped wordpress: no WordPress REST API" in out
    assert "skipped sitemap: robots.txt lists no Sitemap:" in out
    assert "skipped wayback" in out
    assert "lone: failed" in out
    assert _runs(tmp_path)[0][2] == "failed"


@pytest.mark.skipif(not SITEMAPS.exists(), reason="needs ../shared/realdata/sitemaps (the real sitemaps)")
def test_a_sitemap_index_of_real_sitemaps_fills_the_range_with_article_pages(tmp_path, site):
    articles = sitemap_site(site)
    cfg = _config(tmp_path, site, [{"name": "maps", "url": site.url("/no-feed.xml")}])
    p = run_cli(cfg, "backfill", "--method", "sitemap", "--since", "2020-05-01", "--until", "2020-05-31")
    out = p.stdout
    assert "complete by sitemap" in out
    assert "listed again (a loop)" in out and "missing.xml answered HTTP 404" in out and "malformed XML" in out
    with _db(tmp_path) as db:
        rows = db.execute("SELECT link, title, published, content FROM items ORDER BY link").fetchall()
    assert sorted(r[0] for r in rows) == sorted(articles)
    by_link = {r[0]: r for r in rows}
    paris = by_link[site.url("/interactive/2020/05/11/magazine/quarantine-paris.html")]
    assert paris[1] == "I Didn’t Feel Parisian Until I Escaped Paris"  # news:title
    assert paris[2] == "2020-05-11T09:00:02+00:00"  # news:publication_date
    assert "Paragraph 3 goes on" in paris[3] and "Copyright" not in paris[3]  # main text, no boilerplate
    # The plain and gzipped sitemaps list pages of 2004-2005: none of them is fetched.
    assert not [p for p in site.paths() if "catalog" in p or p == "/"]


def test_robots_wildcards_and_crawl_delay_are_obeyed(tmp_path, site):
    # 0.15 s: three times the interval of backfill_rate 20/s (0.05 s), so a gap shows which one ruled.
    allowed, disallowed = robots_site(site, crawl_delay=0.15)
    cfg = _config(tmp_path, site, [{"name": "r", "url": site.url("/feed.xml")}])
    run_cli(cfg, "backfill", "--method", "sitemap", "--since", "2026-10-01", "--until", "2026-10-31")
    paths = site.paths()
    assert not [p for p in paths if p in ("/news/print.php", "/private/d.html")]
    assert {"/news/a.html", "/news/b.html", "/news/c.html"} <= set(paths)
    times = [t for t, _, _ in site.log]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) >= 4 and min(gaps) >= 0.15 * 0.95, gaps  # Crawl-delay wins over backfill_rate 20/s


def test_wayback_cdx_pages_with_a_resume_key(tmp_path, site):
    feed_url = site.url("/old/feed.xml")
    guids = wayback_site(site, feed_url)
    cfg = _config(tmp_path, site, [{"name": "old", "url": feed_url}])
    p = run_cli(cfg, "backfill", "--method", "wayback", "--since", "2026-08-01", "--until", "2026-09-30")
    assert "complete by wayback" in p.stdout
    assert sorted(g for g, _, _ in _items(tmp_path, "old")) == guids
    cdx = [q for _, path, q in site.log if path == "/cdx/search/cdx"]
    assert len(cdx) == 2 and "resumeKey=key-2" in cdx[1]


def test_the_same_range_twice_adds_nothing_and_fetches_nothing(tmp_path, site):
    archive_site(site, n=3)
    cfg = _config(tmp_path, site, [{"name": "arch", "url": site.url("/archive/feed.xml")}])
    run_cli(cfg, "backfill", "--since", "2026-09-01", "--until", "2026-09-30")
    before, requests = _items(tmp_path, "arch"), len(site.log)
    p = run_cli(cfg, "backfill", "--since", "2026-09-10", "--until", "2026-09-30")  # inside the covered range
    assert "covered" in p.stdout and "nothing to add" in p.stdout
    assert _items(tmp_path, "arch") == before and len(site.log) == requests


def test_killed_midway_a_rerun_resumes_and_every_item_arrives_once(tmp_path, site):
    ids = archive_site(site, n=8, loop=False)
    # The fourth document answers only once the backfill has been killed: it is killed with three pages
    # stored and the fourth under way, every time, without racing its rate.
    gate = threading.Event()
    fourth = site.routes["/archive/3.xml"]
    site.route("/archive/3.xml", lambda q: (gate.wait(30), fourth(q))[1])
    cfg = _config(tmp_path, site, [{"name": "arch", "url": site.url("/archive/feed.xml")}])
    env = {**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}
    args = [sys.executable, "-m", "watcher", "--config", str(cfg), "backfill", "--since", "2026-08-01",
            "--until", "2026-09-30"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and (stored < 3 or "/archive/3.xml" not in site.paths()):
            time.sleep(0.02)
            try:
                with _db(tmp_path) as db:
                    stored = db.execute("SELECT coalesce(max(pages), 0) FROM backfill_runs").fetchone()[0]
            except sqlite3.OperationalError:  # the store is being created
                pass
        proc.send_signal(signal.SIGKILL)
        out = proc.communicate()[0].decode(errors="replace")
    finally:
        gate.set()
    assert 3 <= stored < 8, f"the backfill finished before it could be killed, or never started: {out[-2000:]}"
    assert _runs(tmp_path)[0][2] == "running"
    fetched_before = [p for p in site.paths() if p.startswith("/archive/")]
    p = run_cli(cfg, "backfill", "--since", "2026-08-01", "--until", "2026-09-30")
    assert "resuming run #1" in p.stdout and "complete by feed" in p.stdout
    got = [g for g, _, _ in _items(tmp_path, "arch")]
    assert sorted(got) == sorted(ids)  # nothing lost, nothing twice (guids are unique per source anyway:
    assert len(got) == len(set(got))  # the count is what proves no entry was stored under two guids)
    fetched_after = [p for p in site.paths() if p.startswith("/archive/")][len(fetched_before):]
    refetched = set(fetched_before) & set(fetched_after)
    assert len(refetched) <= 1, refetched  # at most the page it was on
    runs = _runs(tmp_path)
    assert len(runs) == 1 and runs[0][2] == "complete" and runs[0][5] is None
    cov = run_cli(cfg, "coverage").stdout
    assert "arch: covered 2026-08-01..2026-09-30" in cov


def test_interrupted_by_sigterm_the_run_is_partial_and_resumable(tmp_path, site):
    archive_site(site, n=6, loop=False)
    # The third document answers only once the signal is sent: the backfill is interrupted with two
    # pages stored and the third under way, every time, without racing its rate.
    gate = threading.Event()
    third = site.routes["/archive/2.xml"]
    site.route("/archive/2.xml", lambda q: (gate.wait(30), third(q))[1])
    cfg = _config(tmp_path, site, [{"name": "arch", "url": site.url("/archive/feed.xml")}])
    env = {**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}
    proc = subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(cfg), "backfill", "--since",
                             "2026-08-01", "--until", "2026-09-30"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "/archive/2.xml" not in site.paths():
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)  # the request in flight is cancelled, not waited for
    finally:
        gate.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "partial" in out
    assert _runs(tmp_path)[0][2] == "partial"
    p = run_cli(cfg, "backfill", "--since", "2026-08-01", "--until", "2026-09-30")
    assert "resuming run #1" in p.stdout and "complete by feed" in p.stdout


def test_max_requests_stops_partway_and_the_rerun_continues(tmp_path, site):
    ids = archive_site(site, n=5, loop=False)
    cfg = _config(tmp_path, site, [{"name": "arch", "url": site.url("/archive/feed.xml")}])
    p = run_cli(cfg, "backfill", "--since", "2026-08-01", "--until", "2026-09-30", "--max-requests", "3")
    assert "reached --max-requests 3" in p.stdout and "partial" in p.stdout
    assert len(site.log) == 3  # robots.txt and two pages
    run_cli(cfg, "backfill", "--since", "2026-08-01", "--until", "2026-09-30")
    assert sorted(g for g, _, _ in _items(tmp_path, "arch")) == sorted(ids)


def test_dry_run_says_what_it_would_fetch_and_stores_nothing(tmp_path, site):
    wordpress_site(site, throttle_page=None)
    cfg = _config(tmp_path, site, [{"name": "wp", "url": site.url("/feed/")}])
    p = run_cli(cfg, "backfill", "--dry-run", "--method", "wordpress", "--since", "2026-10-01", "--until", "2026-10-31")
    assert "25 posts in the range: 3 requests" in p.stdout and "nothing stored" in p.stdout
    assert _items(tmp_path, "wp") == [] and _runs(tmp_path) == []


def test_backfilled_items_wait_in_the_review_queue_not_the_digest(tmp_path, site):
    wordpress_site(site, throttle_page=None)
    cfg = _config(tmp_path, site, [{"name": "wp", "url": site.url("/feed/")}])
    run_cli(cfg, "backfill", "--since", "2026-10-01", "--until", "2026-10-31")
    queue = run_cli(cfg, "review", "list").stdout
    assert "Nvidia H20 chips" in queue
    digest = run_cli(cfg, "digest", "--dry-run").stdout
    assert "Nvidia H20 chips" not in digest
    exported = [json.loads(line) for line in run_cli(cfg, "export").stdout.splitlines()]
    assert {e["origin"] for e in exported} == {"backfill"}
    status = run_cli(cfg, "status").stdout
    assert "wp last backfilled" in status and "complete 2026-10-01..2026-10-31" in status


def test_coverage_marks_never_covered_days_and_empty_covered_days(tmp_path, site):
    archive_site(site, n=2, per=2, loop=False)  # entries on 09-30, 09-29, 09-28, 09-27
    cfg = _config(tmp_path, site, [{"name": "arch", "url": site.url("/archive/feed.xml")}])
    run_cli(cfg, "backfill", "--since", "2026-09-25", "--until", "2026-09-30")
    out = run_cli(cfg, "coverage", "--since", "2026-09-23", "--until", "2026-10-01").stdout
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith("2026-")}
    assert rows["2026-09-23"] == "~" and rows["2026-10-01"] == "~"  # never covered
    assert rows["2026-09-25"] == "0!" and rows["2026-09-26"] == "0!"  # covered, nothing published
    assert rows["2026-09-28"] == "1"
    weeks = run_cli(cfg, "coverage", "--since", "2026-06-01", "--until", "2026-09-30").stdout
    assert "coverage by week" in weeks
