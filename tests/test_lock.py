"""state/watcher.lock: one watcher at a time, a clear message, and never stale after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from watcher.errors import LockedError
from watcher.lock import instance_lock, lock_path

HOLDER = """
import sys, time
from pathlib import Path
from watcher.lock import instance_lock
with instance_lock(Path(sys.argv[1]), purpose="run"):
    print("locked", flush=True)
    time.sleep(60)
"""


def _start_holder(state: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(state)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_holder_is_refused_with_who_and_what_to_do(tmp_path: Path) -> None:
    p = _start_holder(tmp_path)
    try:
        with pytest.raises(LockedError) as e:
            with instance_lock(tmp_path, purpose="poll"):
                pytest.fail("got a lock another process holds")
        msg = str(e.value)
        assert f"pid {p.pid}" in msg and "run" in msg and str(lock_path(tmp_path)) in msg
        assert "stop the running `watcher run`" in msg  # says what to do about that holder
        assert e.value.exit_code == 75
    finally:
        p.kill()
        p.wait()


def test_lock_never_goes_stale_after_kill_9(tmp_path: Path) -> None:
    p = _start_holder(tmp_path)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert lock_path(tmp_path).exists()  # the file stays; the lock does not
    with instance_lock(tmp_path, purpose="poll"):
        assert f"pid={os.getpid()}" in lock_path(tmp_path).read_text()


def test_waiter_gets_the_lock_once_the_holder_lets_go(tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with instance_lock(tmp_path, purpose="run"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    # flock locks belong to open files, so a second open in this process conflicts like another process.
    with pytest.raises(LockedError):
        with instance_lock(tmp_path, purpose="poll", wait=0):
            pass
    threading.Timer(0.3, release.set).start()
    with instance_lock(tmp_path, purpose="poll", wait=30):
        assert "purpose=poll" in lock_path(tmp_path).read_text()
    t.join()


def test_released_lock_can_be_taken_again_and_file_is_cleared(tmp_path: Path) -> None:
    with instance_lock(tmp_path, purpose="run"):
        pass
    assert lock_path(tmp_path).read_text() == ""
    with instance_lock(tmp_path, purpose="run"):
        pass
