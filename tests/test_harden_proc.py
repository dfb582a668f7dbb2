"""A crash of `watcher poll` or `watcher run` leaves neither a held lock nor a living worker behind.

Real processes throughout: watcher is started as a user starts it, against the local feed server,
while its parser workers exist; then the parent is killed with SIGKILL (no cleanup code runs), and the
next `watcher poll` must get the store (not exit 75), and no worker of the dead parent may live on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from util import SUBPROCESS_PYTHONPATH, rss, run_cli, write_config
from watcher.errors import LockedError
from watcher.lock import instance_lock

FEED = rss([{"guid": "a-1", "title": "Nvidia H20 export licence rules tightened", "link": "http://127.0.0.1/a/1"}])
N_SOURCES = 3


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None once it is gone. A zombie ('Z') is dead: only its
    exit status is left, waiting for whoever adopted it to collect it."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name in parentheses may itself hold spaces
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st and st[1] == pid and st[0] != "Z":
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def _signal_mask(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _wait(what: str, check, limit: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    # Waits for an event; the limit only turns a hang into a clear failure, it times nothing.
    deadline = time.monotonic() + limit
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"watcher exited {proc.returncode} before {what}:\n{log.read_text() if log else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {limit:g}s:\n{log.read_text() if log else ''}")
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("command", ["poll", "run"])
def test_kill_9_mid_poll_leaves_the_store_unlocked_and_no_worker_alive(tmp_path: Path, feed_server,
                                                                        command: str) -> None:
    # Servers that accept and never answer: the poll is mid-fetch, its parser workers started, for as
    # long as the test needs. Long timeouts, so nothing ends by itself before the kill.
    sources = [{"name": f"s{i}", "url": feed_server.add_behaviour(f"/s{i}.xml", "hang")} for i in range(N_SOURCES)]
    cfg = write_config(tmp_path, sources,
                       extra="fetch: {workers: 2, per_host: 3, read_timeout: 120, total_timeout: 300}")
    log = tmp_path / f"{command}.log"
    env = {**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(cfg), command],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        # The pool is started before the first request goes out, so a request means workers exist.
        _wait("requests to the feed server", lambda: all(feed_server.requests(f"/s{i}.xml") for i in range(N_SOURCES)),
              90, proc, log)
        workers = _children(proc.pid)
        assert len(workers) == 2, f"expected the 2 parser workers of fetch.workers: 2, found {workers}"
        for w in workers:
            # SIGTERM does what it says: neither caught (run's graceful-stop handler) nor ignored.
            assert not _signal_mask(w, "SigCgt") & (1 << (signal.SIGTERM - 1)), "a worker catches SIGTERM"
            assert not _signal_mask(w, "SigIgn") & (1 << (signal.SIGTERM - 1)), "a worker ignores SIGTERM"

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

        # The workers follow their parent, whoever adopts them.
        _wait("the workers to die with their parent", lambda: not any(_alive(w) for w in workers), 10)
        # The lock went with them: the kernel dropped it with the last open copy of its descriptor.
        with instance_lock(tmp_path / "state", purpose="test"):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in _children(proc.pid):  # never leave a stray process behind, even when the test fails
            os.kill(w, signal.SIGKILL)

    # And so a user's next poll works, and completes what the killed one started.
    for i in range(N_SOURCES):
        feed_server.add(f"/s{i}.xml", FEED)
    p = run_cli(cfg, "poll", check=False)
    assert p.returncode == 0, p.stderr
    assert f"sources: {N_SOURCES} ok, 0 failed" in p.stdout


CRASH_AFTER_FORK = """
import os, sys, time
from pathlib import Path
from watcher.lock import instance_lock
with instance_lock(Path(sys.argv[1]), purpose="poll"):
    child = os.fork()
    if child == 0:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)  # let the test read the parent's output to its end
        os.dup2(null, 2)
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    os._exit(1)  # a crash: no unlock, no cleanup; only the kernel closes this process's files
"""


def test_a_child_forked_while_the_lock_is_held_does_not_keep_it_after_a_crash(tmp_path: Path) -> None:
    # Any fork, not only the parser pool's: a child that outlives a crashed holder must not hold the lock.
    p = subprocess.run([sys.executable, "-c", CRASH_AFTER_FORK, str(tmp_path)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}, timeout=60)
    child = int(p.stdout.strip())
    try:
        assert _alive(child)
        with instance_lock(tmp_path, purpose="test"):
            pass
    finally:
        os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize("purpose, says, never", [
    ("poll", "wait for that `watcher poll` to finish", "stop the running `watcher run`"),
    ("run", "stop the running `watcher run`", "wait for that `watcher poll`"),
])
def test_the_lock_message_names_what_holds_it(tmp_path: Path, purpose: str, says: str, never: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from watcher.lock import instance_lock\n"
         "with instance_lock(Path(sys.argv[1]), purpose=sys.argv[2]):\n print('locked', flush=True); time.sleep(60)",
         str(tmp_path), purpose], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH})
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError) as e:
            with instance_lock(tmp_path, purpose="poll"):
                pass
        msg = str(e.value)
        assert f"{purpose}, pid {holder.pid}" in msg
        assert says in msg and never not in msg
    finally:
        holder.kill()
        holder.wait()
