"""One watcher at a time: an advisory lock on `state/watcher.lock`; one backfill at a time: another
on `state/backfill.lock`.

`watcher run` holds the instance lock for its whole life; `watcher poll` holds it for one cycle. A
second holder waits up to `wait` seconds, then gets a `LockedError` that says who holds it and what to
do. `watcher backfill` holds only the backfill lock, so it runs beside a `watcher run`: the store takes
writes from both (WAL, BEGIN IMMEDIATE, a busy timeout: watcher/store/db.py), and the per-host limit
is shared through slot files (watcher/hostslots.py). Two backfills at once would fetch and page the
same archives twice, so they exclude each other.

The lock is `fcntl.flock` on an open file, not the file's existence: the kernel drops it when the
holder's descriptor closes, which includes a crash or `kill -9`, so the lock can never go stale and
nobody ever has to delete it by hand. The file's text (pid, purpose, start time) is only there for the
message; a leftover file from a dead holder is harmless because nobody holds the flock on it.

A flock belongs to the open file, and `fork()` copies the descriptor: a forked child (the parser
workers) would share the lock and, outliving a killed parent, hold it for good. O_CLOEXEC does not help,
since a fork without exec keeps every descriptor. So every forked child closes its copy at once
(`os.register_at_fork`); closing a copy never releases the parent's lock, only the last copy does.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from .errors import LockedError, StoreError, StoreReadOnlyError

LOCK_NAME = "watcher.lock"
BACKFILL_LOCK_NAME = "backfill.lock"
_POLL_S = 0.1  # how often a waiting process retries; flock has no timeout of its own


# Descriptors of the locks this process holds, so that a forked child can close its copies.
_held: set[int] = set()


def _close_in_child() -> None:
    for fd in _held:
        try:
            os.close(fd)  # only this copy: the parent's lock stays, and now dies with the parent
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


def lock_path(state_dir: Path) -> Path:
    return Path(state_dir) / LOCK_NAME


def backfill_lock_path(state_dir: Path) -> Path:
    return Path(state_dir) / BACKFILL_LOCK_NAME


def _holder(path: Path) -> dict[str, str]:
    """The lock file's fields (pid, purpose, since); empty when it cannot be read."""
    try:
        return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    except OSError:
        return {}


def _who(fields: dict[str, str]) -> str:
    purpose = fields.get("purpose", "")
    return (f"{purpose or '?'}, pid {fields['pid']}, since {fields.get('since', '?')}" if fields.get("pid")
            else "pid unknown")


def _after(waited: float) -> str:
    return f" after waiting {waited:g}s" if waited > 0 else ""


def locked_message(path: Path, fields: dict[str, str], waited: float) -> str:
    """Who holds the lock and what to do about that holder: a poll ends by itself, a run does not."""
    purpose = fields.get("purpose", "")
    who = _who(fields)
    after = _after(waited)
    if purpose == "run":
        advice = ("stop the running `watcher run` (it polls on schedule anyway, so a manual poll is rarely "
                  "needed)")
    elif purpose == "poll":
        advice = "wait for that `watcher poll` to finish, or pass --wait SECONDS to wait for it"
    else:
        advice = f"wait for that process ({purpose or 'unknown command'}) to finish"
    return (f"another watcher ({who}) holds {path}{after}. Only one `watcher run` or `watcher poll` works on "
            f"a store at a time: {advice}. The lock is released automatically when that process ends.")


def lock_file_error(path: Path, e: OSError) -> StoreError:
    """The lock file cannot be opened (a read-only folder or mount, another user's file, a full disk):
    one line naming it, as for the store itself, rather than a traceback."""
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreReadOnlyError(
            f"cannot open the lock file {path} for writing ({e.strerror}): this command writes to the store; "
            f"run it as a user who may write {path.parent}. Commands that only read (status, show, export, "
            f"review list, digest --dry-run, coverage) work on a read-only store.")
    return StoreError(f"cannot open the lock file {path} ({e.strerror}); check that {path.parent} is a folder "
                      f"this user may write, on a disk with free space")


def backfill_locked_message(path: Path, fields: dict[str, str], waited: float) -> str:
    """Who runs the other backfill, and what to do: it ends by itself, and resumes where it stopped."""
    return (f"another `watcher backfill` ({_who(fields)}) holds {path}{_after(waited)}. Only one backfill works on "
            f"a store at a time (it may run beside `watcher run`): wait for it to finish, or pass --wait SECONDS "
            f"to wait for it; stopping it (Ctrl-C) loses nothing, and running its command again resumes it. "
            f"The lock is released automatically when that process ends.")


@contextmanager
def instance_lock(state_dir: Path, *, purpose: str, wait: float = 0.0) -> Iterator[None]:
    """Hold state/watcher.lock for the block; raise LockedError if it is still held after `wait` s."""
    with _exclusive(lock_path(state_dir), purpose, wait, locked_message):
        yield


@contextmanager
def backfill_lock(state_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold state/backfill.lock for the block: one backfill at a time, beside any poll or run."""
    with _exclusive(backfill_lock_path(state_dir), "backfill", wait, backfill_locked_message):
        yield


@contextmanager
def _exclusive(path: Path, purpose: str, wait: float,
               message: Callable[[Path, dict[str, str], float], str]) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC: a program we start (a mailer) must not inherit and so prolong the lock; forked
        # children close their copy in _close_in_child.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise lock_file_error(path, e) from None
    _held.add(fd)  # before the flock: a fork from another thread in between must not keep it either
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(message(path, _holder(path), max(0.0, wait))) from None
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
        _held.discard(fd)
        os.close(fd)
