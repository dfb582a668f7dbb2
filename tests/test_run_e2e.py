"""`watcher run` as a user starts it: a subprocess against the local feed server, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from util import SUBPROCESS_PYTHONPATH, rss, run_cli, write_config
from watcher import store
from watcher.times import parse_iso_optional
from watcher.lock import instance_lock

FEED = rss([
    {"guid": "bis-1", "title": "US tightens Nvidia H20 export controls, adds Chinese firms to BIS Entity List",
     "link": "http://127.0.0.1/news/bis-1",
     "description": "The Commerce Department's BIS added companies to the Entity List and said Nvidia H20 "
                    "chips now need an export licence for China."},
    {"guid": "cake-1", "title": "Best chocolate cake recipes for the weekend", "link": "http://127.0.0.1/news/cake",
     "description": "Flour, sugar, cocoa."},
])


def _wait_for(what: str, check, proc: subprocess.Popen, log: Path, limit: float = 90.0) -> None:
    # Waits for an event, it does not time anything: the limit only turns a hang into a clear failure.
    deadline = time.monotonic() + limit
    while not check():
        if proc.poll() is not None:
            raise AssertionError(f"watcher run exited {proc.returncode} before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {limit}s:\n{log.read_text()}")
        time.sleep(0.1)


def test_run_polls_builds_the_missed_digest_refuses_a_second_instance_and_stops_cleanly(
        tmp_path: Path, feed_server) -> None:
    url = feed_server.add("/wire.xml", FEED)
    # Digest at 00:00 UTC; the store's last digest is yesterday's, so today's was missed while
    # watcher was not running and is built at start, after the catch-up poll.
    cfg = write_config(tmp_path, [{"name": "wire", "url": url, "interval": "1h"}],
                       extra='digest: {time: "00:00", timezone: UTC}')
    today = datetime.now(timezone.utc).date()
    run_cli(cfg, "digest", "--date", (today - timedelta(days=1)).isoformat())
    digests = tmp_path / "state" / "digests"

    log = tmp_path / "run.log"
    env = {**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(cfg), "run"],
                                stdout=err, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        _wait_for("digest", lambda: (digests / f"{today}.md").exists(), proc, log)
        _wait_for("scheduler start", lambda: "next digest at" in log.read_text(), proc, log)

        # One instance at a time: a second run and a manual poll are refused with a clear message.
        for args in (["run"], ["poll"]):
            p = run_cli(cfg, *args, check=False)
            assert p.returncode == 75, p.stderr
            assert f"pid {proc.pid}" in p.stderr and "watcher.lock" in p.stderr and "run" in p.stderr

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    text = log.read_text()
    assert "wire: ok new=2 updated=0" in text  # one line per poll: source, status, new, updated, duration
    assert f"digest {today}: 1 item" in text
    assert "SIGTERM received" in text and "stopped" in text
    assert "Traceback" not in text

    db = store.connect(tmp_path / "state" / "watcher.db")
    assert db.execute("SELECT count(*) FROM fetches WHERE source = 'wire' AND outcome = 'ok'").fetchone()[0] == 1
    nxt = parse_iso_optional(db.execute("SELECT next_check FROM sources WHERE name = 'wire'").fetchone()[0])
    assert nxt > datetime.now(timezone.utc) + timedelta(minutes=50)  # stored for the next start
    assert [r[0] for r in db.execute("SELECT date FROM digests ORDER BY date")] == \
        [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    md = (digests / f"{today}.md").read_text(encoding="utf-8")
    assert "<http://127.0.0.1/news/bis-1>" in md and "US tightens" in md and "chocolate" not in md
    assert (digests / f"{today}.html").exists() and (digests / "feed.atom").exists()
    assert len(feed_server.requests("/wire.xml")) == 1
    with instance_lock(tmp_path / "state", purpose="test"):  # released on exit
        pass
