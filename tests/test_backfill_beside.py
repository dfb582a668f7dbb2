"""A backfill beside `watcher run`: its own lock (one backfill at a time), the store shared safely, and
the per-host limit shared by every watcher process on one state folder (watcher/hostslots.py)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from backfill_sites import wordpress_site
from sitesrv import Handler, Site
from util import SUBPROCESS_PYTHONPATH, rss, run_cli, write_config
from watcher import hostslots, lock
from watcher.errors import LockedError
from watcher.hostslots import HostSlots
from watcher.lock import backfill_lock, backfill_lock_path, instance_lock

ENV = {**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}
FAST = 20  # backfill requests/s to a test site: the default 1/s would make the tests slow


class Counted:
    """Requests a site is answering at once. A request counts from its arrival until its answer is
    ready, a span that lies inside the client's own (it holds its slot until the answer has arrived),
    so the peak here can never exceed what the clients had in flight: no false alarms."""

    def __init__(self, site: Site, delay: float, gate: threading.Event | None = None, crowd: int | None = None):
        self.now = self.peak = self.total = 0
        self.delay = delay
        # Optional: every answer first waits for `gate` (bounded), and the arrival that makes `crowd`
        # requests at once opens it, so a gate that nothing else opens still ends at a breach.
        self.gate = gate
        self.crowd = crowd
        self._lock = threading.Lock()
        plain = site.route

        def route(path: str, handler: Handler) -> str:
            return plain(path, self.wrap(handler))
        site.route = route  # type: ignore[method-assign]  # Site.static routes through it too

    def wrap(self, handler: Handler) -> Handler:
        def counted(q: dict[str, str]):  # noqa: ANN202 - a sitesrv Answer
            with self._lock:
                self.now += 1
                self.total += 1
                self.peak = max(self.peak, self.now)
                if self.gate is not None and self.crowd is not None and self.now >= self.crowd:
                    self.gate.set()
            try:
                if self.gate is not None:
                    self.gate.wait(15)  # bounded: a gate that never opens fails the asserts, it does not hang
                time.sleep(self.delay)
                return handler(q)
            finally:
                with self._lock:
                    self.now -= 1
        return counted


@pytest.fixture
def site():
    s = Site().start()
    yield s
    s.stop()


def _holder(state: Path, code: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path\n" + code
                          + "\n print('locked', flush=True); time.sleep(60)", str(state)],
                         stdout=subprocess.PIPE, text=True, env=ENV)
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


# --- the lock: one backfill at a time, beside anything else ----------------------------------------

HOLDERS = {
    "run": "from watcher.lock import instance_lock\nwith instance_lock(Path(sys.argv[1]), purpose='run'):",
    "poll": "from watcher.lock import instance_lock\nwith instance_lock(Path(sys.argv[1]), purpose='poll'):",
    "fulltext": "from watcher.lock import instance_lock\nwith instance_lock(Path(sys.argv[1]), purpose='fulltext'):",
    "backfill": "from watcher.lock import backfill_lock\nwith backfill_lock(Path(sys.argv[1])):",
}


@pytest.mark.parametrize("held_by, refused", [("run", False), ("poll", False), ("fulltext", False), ("backfill", True)])
def test_a_backfill_is_refused_only_by_another_backfill(tmp_path: Path, site: Site, held_by: str, refused: bool) -> None:
    posts = wordpress_site(site, throttle_page=None)
    cfg = write_config(tmp_path, [{"name": "wp", "url": site.url("/feed/"), "backfill_rate": FAST}])
    holder = _holder(tmp_path / "state", HOLDERS[held_by])
    try:
        p = run_cli(cfg, "backfill", "--method", "wordpress", "--since", "2026-10-01", "--until", "2026-10-31",
                    check=False)
    finally:
        holder.kill()
        holder.wait()
    if refused:
        assert p.returncode == 75, p.stdout + p.stderr
        line = p.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert f"another `watcher backfill` (backfill, pid {holder.pid}" in line
        assert str(backfill_lock_path(tmp_path / "state")) in line and "--wait SECONDS" in line
        assert "resumes" in line
        assert not (tmp_path / "state" / "watcher.db").exists() or _guids(tmp_path) == []
    else:
        assert p.returncode == 0, p.stdout + p.stderr
        assert sorted(_guids(tmp_path)) == sorted(x["guid"]["rendered"] for x in posts)


def test_the_backfill_lock_and_the_instance_lock_are_independent(tmp_path: Path) -> None:
    with backfill_lock(tmp_path):
        with instance_lock(tmp_path, purpose="poll"):  # a poll beside a backfill
            pass
        with pytest.raises(LockedError, match="another `watcher backfill`"):
            with backfill_lock(tmp_path):
                pass
    with backfill_lock(tmp_path):  # released on exit
        assert f"pid={os.getpid()}" in backfill_lock_path(tmp_path).read_text()
    assert backfill_lock_path(tmp_path).read_text() == ""


def test_waiting_for_a_backfill_gets_the_lock_when_it_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = _holder(tmp_path, HOLDERS["backfill"])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        # The holder ends during the waiter's first pause between tries: a condition, not a timer that
        # must outlast the waiter's first try.
        waits.append(seconds)
        if len(waits) == 1:
            holder.kill()
            holder.wait()
        time.sleep(seconds)

    monkeypatch.setattr(lock, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    try:
        with backfill_lock(tmp_path, wait=30):
            assert "purpose=backfill" in backfill_lock_path(tmp_path).read_text()
    finally:
        holder.kill()
        holder.wait()
    assert waits  # it did wait: its first try found the lock held


def _guids(tmp_path: Path, source: str = "wp") -> list[str]:
    db = sqlite3.connect(f"file:{tmp_path / 'state' / 'watcher.db'}?mode=ro", uri=True)
    try:
        return [g for (g,) in db.execute("SELECT guid FROM items WHERE source = ?", [source])]
    finally:
        db.close()


# --- host slots in one process: the bookkeeping --------------------------------------------------

def test_slots_are_shared_between_holders_and_given_back(tmp_path: Path) -> None:
    # Two HostSlots are two sets of open files, so their flocks exclude each other as two processes' do.
    a, b = HostSlots(tmp_path, 2), HostSlots(tmp_path, 2)
    try:
        s1, s2 = a.try_acquire("example.org"), a.try_acquire("example.org")
        assert {s1, s2} == {0, 1}
        assert a.try_acquire("example.org") is None  # its own slots are not free to it either
        assert b.try_acquire("example.org") is None
        assert b.try_acquire("other.example") is not None  # another host has slots of its own
        a.release("example.org", 1)
        assert b.try_acquire("example.org") == 1
        with pytest.raises(RuntimeError):
            a.release("example.org", 1)  # not held: a bug in the caller, not a silent no-op
    finally:
        a.close()
        b.close()
    assert HostSlots(tmp_path, 2).try_acquire("example.org") is not None  # close() gave everything back


def test_idle_hosts_are_closed_but_a_held_slot_never_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostslots, "MAX_OPEN_HOSTS", 2)
    slots, other = HostSlots(tmp_path, 1), HostSlots(tmp_path, 1)
    try:
        held = slots.try_acquire("busy.example")
        assert held == 0
        for i in range(5):  # many hosts, one after the other
            s = slots.try_acquire(f"h{i}.example")
            assert s == 0
            slots.release(f"h{i}.example", s)
        assert len(slots._fds) <= 2 and "busy.example" in slots._fds
        assert other.try_acquire("busy.example") is None  # still held by `slots`
    finally:
        slots.close()
        other.close()


CRASH_AFTER_FORK = """
import os, sys, time
from pathlib import Path
from watcher.hostslots import HostSlots
slots = HostSlots(Path(sys.argv[1]), 1)
assert slots.try_acquire("127.0.0.1") == 0
child = os.fork()
if child == 0:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
os._exit(1)  # a crash: no release; only the kernel closes this process's files
"""


def test_a_child_forked_while_a_slot_is_held_does_not_keep_it_after_a_crash(tmp_path: Path) -> None:
    # The parser workers are forked mid-poll: one that outlives a killed parent must not hold a slot.
    p = subprocess.run([sys.executable, "-c", CRASH_AFTER_FORK, str(tmp_path)], capture_output=True, text=True,
                       env=ENV, timeout=60)
    child = int(p.stdout.strip())
    try:
        os.kill(child, 0)  # alive
        slots = HostSlots(tmp_path, 1)
        assert slots.try_acquire("127.0.0.1") == 0
        slots.close()
    finally:
        os.kill(child, signal.SIGKILL)


# --- the per-host limit across processes ---------------------------------------------------------

FETCHER = """
import asyncio, sys
from pathlib import Path
from watcher.config import FetchSettings
from watcher.fetch import Fetcher

state, base, n, shared = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "shared"

async def main():
    async with Fetcher(FetchSettings(per_host=2), state_dir=state if shared else None) as f:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # all start together
        results = await asyncio.gather(*(f.fetch(f"{base}/f{i}.xml") for i in range(n)))
    print(sum(r.ok for r in results), flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("shared", [True, False])
def test_two_processes_together_keep_to_per_host(tmp_path: Path, site: Site, shared: bool) -> None:
    """The control case (no state folder: each process only counts its own) shows the test can see
    a breach: two processes then have up to twice per_host requests on the host."""
    # Each answer takes 0.1 s: the two processes are let go together (stdin), so their requests overlap
    # by far more than their start-up skew; the control case shows a breach is seen at this scale.
    counted = Counted(site, delay=0.1)
    for i in range(6):
        site.static(f"/f{i}.xml", rss([{"guid": f"g{i}", "title": f"item {i}"}]), "application/rss+xml")
    procs = [subprocess.Popen([sys.executable, "-c", FETCHER, str(tmp_path / "state"), site.url(""), "6",
                               "shared" if shared else "own"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=ENV) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert outs == ["6", "6"]  # every request answered: waiting for a slot is not a failure
    assert counted.total == 12
    if shared:
        assert counted.peak == 2  # the limit, used in full and never passed
    else:
        assert counted.peak > 2


# --- the whole: `watcher run` as a service, and a backfill beside it -------------------------------

N_FEEDS = 8


def test_a_backfill_beside_watcher_run_stores_everything_once_within_the_shared_limit(
        tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # The two surely overlap, with no timing to it: every answer waits until the backfill (in this
    # process) has been refused a slot because run holds both, or else until a third request is on the
    # host at once (a breach, which the peak then shows).
    contended = threading.Event()
    counted = Counted(site, delay=0.05, gate=contended, crowd=3)
    plain_try = HostSlots.try_acquire

    def try_acquire(self: HostSlots, host: str) -> int | None:
        got = plain_try(self, host)
        if got is None:
            contended.set()
        return got
    monkeypatch.setattr(HostSlots, "try_acquire", try_acquire)
    # Three REST pages, one 429 midway (Retry-After: 0, so the retry is at once: how long a backfill
    # waits out a 429 is test_backfill.py's matter, not this one's).
    posts = wordpress_site(site, retry_after="0")

    def feed(i: int) -> Handler:
        body = rss([{"guid": f"feed{i}-{k}", "title": f"Harbour notes {i}.{k}", "link": f"http://127.0.0.1/n/{i}/{k}"}
                    for k in range(3)])
        return lambda q: (200, {"Content-Type": "application/rss+xml"}, body)

    for i in range(N_FEEDS):
        site.route(f"/n{i}.xml", feed(i))
    sources = [{"name": f"n{i}", "url": site.url(f"/n{i}.xml"), "interval": "1h"} for i in range(N_FEEDS)]
    cfg = write_config(tmp_path, [*sources, {"name": "wp", "url": site.url("/feed/"), "interval": "1h",
                                             "backfill_rate": FAST}])
    log = tmp_path / "run.log"
    with log.open("w") as out:
        run = subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(cfg), "run"], stdout=out,
                               stderr=subprocess.STDOUT, env=ENV, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while counted.now < 2:  # run's first poll is under way, with both of its slots on the host held
            assert run.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        # The backfill runs in this process (another process than `watcher run`, as a user's would be).
        bf = run_cli(cfg, "backfill", "--source", "wp", "--method", "wordpress", "--since", "2026-10-01",
                     "--until", "2026-10-31", check=False)
        assert bf.returncode == 0, bf.stdout + bf.stderr
        assert "complete by wordpress" in bf.stdout
        deadline = time.monotonic() + 60
        while log.read_text().count(": ok new=") < N_FEEDS + 1:  # every source of run's poll, wp too
            assert run.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert "Traceback" not in log.read_text()
    assert contended.is_set()  # the backfill met run's requests on the host
    assert counted.peak <= 2  # fetch.per_host, across both processes
    for i in range(N_FEEDS):
        assert sorted(_guids(tmp_path, f"n{i}")) == [f"feed{i}-{k}" for k in range(3)]
    # The backfill's posts and run's poll of the same site's feed: each post once (the feed's first
    # page lists posts the backfill also found; guids are the same, so dedup keeps one).
    wp = _guids(tmp_path, "wp")
    assert len(wp) == len(set(wp)) and set(wp) == {x["guid"]["rendered"] for x in posts}


# --- a state folder where the slot files cannot be made: one clear line, nothing fetched without a slot

def test_a_slot_folder_that_cannot_be_made_stops_the_poll_with_one_line(tmp_path: Path, site: Site) -> None:
    url = site.static("/a.xml", rss([{"guid": "a1", "title": "Harbour notes"}]), "application/rss+xml")
    cfg = write_config(tmp_path, [{"name": "a", "url": url}])
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "hosts").write_text("not a folder")
    p = run_cli(cfg, "poll", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    line = p.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"per-host slot folder {tmp_path / 'state' / 'hosts'}" in line and "writable" in line
    assert "/a.xml" not in site.paths()


@pytest.mark.parametrize("spoil", ["folder", "symlink loop"])
def test_a_slot_file_that_cannot_be_opened_fails_that_hosts_sources_only(tmp_path: Path, site: Site, spoil: str) -> None:
    url = site.static("/a.xml", rss([{"guid": "a1", "title": "Harbour notes"}]), "application/rss+xml")
    cfg = write_config(tmp_path, [{"name": "a", "url": url}])
    slot = tmp_path / "state" / "hosts" / f"{hostslots.slot_stem('127.0.0.1')}.1"
    slot.parent.mkdir(parents=True)
    if spoil == "folder":
        slot.mkdir()
    else:
        slot.symlink_to(slot)
    p = run_cli(cfg, "poll", check=False)
    assert "Traceback" not in p.stdout + p.stderr
    assert "sources: 0 ok, 1 failed" in p.stdout
    out = p.stdout + p.stderr
    assert f"per-host slot file {slot}" in out and "hit a bug" not in out
    assert "/a.xml" not in site.paths()  # nothing was fetched without its slot
    slot.unlink() if spoil != "folder" else slot.rmdir()
    p = run_cli(cfg, "poll", "--force")  # fixed: the next poll gets it
    assert "sources: 1 ok, 0 failed" in p.stdout
