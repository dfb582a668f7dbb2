"""Worker processes die with the process that started them.

A `kill -9` of `watcher poll` or `watcher run` runs no cleanup code, so nothing the parent does on
the way out can stop its parser workers. Left alone they would live on under pid 1, blocked on a task
queue nobody will ever write to. So each worker, as it starts (`bind_to_parent`):

- asks the Linux kernel to send it SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG); this is
  immediate and needs no thread;
- also runs a watchdog thread that exits when its parent pid changes (it was adopted), checked every
  WATCHDOG_S: the fallback where prctl does not exist, and for the instant before prctl took effect;
- takes the default action for SIGTERM again (a forked worker inherits `watcher run`'s handler, which
  only sets a flag in the parent's scheduler, so SIGTERM did nothing) and ignores SIGINT (Ctrl-C goes
  to the whole process group; the parent handles it and shuts the pool down in order);
- names itself `watcher-parse` (Linux), so `ps` and `top` say what it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

WATCHDOG_S = 1.0  # how late, at worst, a worker notices its parent died where prctl is missing
WORKER_NAME = b"watcher-parse"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PR_SET_NAME = 15


def _prctl(option: int, arg: int | bytes) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(option, arg, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc we can load, or no prctl in it: the watchdog remains
        return False


def _watchdog(parent_pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_S)
        if os.getppid() != parent_pid:
            os._exit(1)  # no cleanup: the parent, which owned the work, is gone


def bind_to_parent(parent_pid: int) -> None:
    """Run first thing in a worker process; see the module docstring. `parent_pid` is the pid of the
    process that made the pool, taken before the fork (so a parent that died during it is noticed)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prctl(_PR_SET_NAME, WORKER_NAME)
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent_pid:  # the parent died before prctl took effect: no signal will come
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
