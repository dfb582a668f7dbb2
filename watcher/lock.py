"""One watcher at a time: an advisory lock on `state/watcher.lock`.

`watcher run` holds the lock for its whole life; `watcher poll` holds it for one cycle. A second
holder waits up to `wait` seconds, then gets a `LockedError` that says who holds it and what to do.

The lock is `fcntl.flock` on an open file, not the file's existence: the kernel drops it when the
holder's descriptor closes, which includes a crash or `kill -9`, so the lock can never go stale and
nobody ever has to delete it by hand. The file's text (pid, purpose, start time) is only there for the
message; a leftover file from a dead holder is harmless because nobody holds the flock on it.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .errors import LockedError

LOCK_NAME = "watcher.lock"
_POLL_S = 0.1  # how often a waiting process retries; flock has no timeout of its own


def lock_path(state_dir: Path) -> Path:
    return Path(state_dir) / LOCK_NAME


def _holder(path: Path) -> str:
    """'run, pid 123, since 2026-01-01T07:00:00+00:00' from the lock file, or a fallback."""
    try:
        fields = dict(
            line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line
        )
    except OSError:
        fields = {}
    if not fields.get("pid"):
        return "pid unknown"
    return f"{fields.get('purpose', '?')}, pid {fields['pid']}, since {fields.get('since', '?')}"


@contextmanager
def instance_lock(state_dir: Path, *, purpose: str, wait: float = 0.0) -> Iterator[None]:
    """Hold state/watcher.lock for the block; raise LockedError if it is still held after `wait` s."""
    path = lock_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC: a child process (a parser worker, a mailer) must not inherit and so prolong the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait:g}s" if wait > 0 else ""
                    raise LockedError(
                        f"another watcher ({_holder(path)}) holds {path}{waited}. "
                        f"Only one `watcher run` or `watcher poll` works on a store at a time: "
                        f"wait for it to finish, or stop the running `watcher run` (it polls on schedule "
                        f"anyway). The lock is released automatically when that process ends."
                    ) from None
                time.sleep(_POLL_S)
        since = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid={os.getpid()}\npurpose={purpose}\nsince={since}\n".encode(), 0)
        try:
            yield
        finally:
            # Clear the text before letting go so a later reader never names a finished process.
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
