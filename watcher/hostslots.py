"""The per-host request limit, shared by every watcher process on one state folder.

`fetch.per_host` bounds the requests in flight to one host. Inside a process an asyncio semaphore
does that (watcher/fetch.py); but a `watcher backfill` runs beside a `watcher run` on the same store,
and together they must still not put more than `per_host` requests on one site. So each request also
holds one of `per_host` slot files, `state/hosts/<sha1(host)[:16]>.<i>`, by `fcntl.flock`:

- acquire: try each slot without blocking; when all are taken, sleep briefly (asyncio, so other
  hosts' requests go on) and try again. flock has no async wait, and a blocking one would stall the
  whole event loop.
- release: unlock. The slot files stay open (one descriptor per slot and host, a bounded number of
  hosts at a time), so a request costs one flock call to take its slot and one to give it back.
- a crash or `kill -9` drops every flock with the process: a slot can never go stale.

A flock belongs to the open file, and one process's descriptors for a slot share it, so a slot this
process holds would look free to it: `_busy` keeps count of those. A forked child (a parser worker)
copies the descriptors and with them the locks, and outliving a killed parent it would keep a slot
for good, so every forked child closes its copies at once, as lock.py does for the instance lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from .errors import StoreError

HOSTS_DIR = "hosts"
RETRY_S = 0.02  # how long a request waits before trying a busy host's slots again
MAX_OPEN_HOSTS = 64  # hosts whose slot files stay open; the least recently used idle one is closed

# Every slot descriptor open in this process, so that a forked child can close its copies.
_open: set[int] = set()


def _close_in_child() -> None:
    for fd in _open:
        try:
            os.close(fd)  # the child's copy only: the parent's slot stays held by the parent
        except OSError:
            pass
    _open.clear()


os.register_at_fork(after_in_child=_close_in_child)


def slot_stem(host: str) -> str:
    """The file name all of a host's slots share: a hash, so any host name makes a safe file name."""
    return hashlib.sha1(host.lower().encode("utf-8", "surrogatepass")).hexdigest()[:16]


class HostSlots:
    """At most `per_host` requests in flight per host across all processes using `state_dir`."""

    def __init__(self, state_dir: Path, per_host: int):
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, not {per_host}")
        self.dir = Path(state_dir) / HOSTS_DIR
        self.per_host = per_host
        self._fds: OrderedDict[str, list[int]] = OrderedDict()  # host -> its slots' descriptors, LRU first
        self._busy: dict[str, set[int]] = {}  # host -> slots this process holds now
        self._prepared = False

    def prepare(self) -> None:
        """Make the slot folder, before any request: a state folder that cannot hold it stops the
        command with one line (StoreError), rather than failing every source one by one."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._prepared = True
        except OSError as e:
            raise StoreError(f"cannot create the per-host slot folder {self.dir} ({e.strerror or e}); remove "
                             f"whatever is in the way, or make the state folder writable") from e

    def _slots(self, host: str) -> list[int]:
        known = self._fds.get(host)
        if known is not None:
            self._fds.move_to_end(host)
            return known
        if not self._prepared:
            self.prepare()
        stem = slot_stem(host)
        fds: list[int] = []
        path = self.dir
        try:
            for i in range(self.per_host):
                path = self.dir / f"{stem}.{i}"
                # O_CLOEXEC: a program we start must not inherit a slot; forked children close theirs.
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                _open.add(fd)
                fds.append(fd)
        except BaseException as e:
            for fd in fds:
                _open.discard(fd)
                os.close(fd)
            if isinstance(e, OSError):  # the fetch layer makes it this host's requests' failure
                raise StoreError(f"cannot open the per-host slot file {path} ({e.strerror or e}); remove "
                                 f"whatever is in the way, or make the state folder writable") from e
            raise
        self._evict()
        self._fds[host] = fds
        return fds

    def _evict(self) -> None:
        """Make room for one more host: close the least recently used hosts' slot files that no
        request of ours holds (a host with a request in flight stays open, however many there are)."""
        for host in list(self._fds):
            if len(self._fds) < MAX_OPEN_HOSTS:
                return
            if not self._busy.get(host):
                self._close_host(host)

    def _close_host(self, host: str) -> None:
        for fd in self._fds.pop(host):
            _open.discard(fd)
            os.close(fd)
        self._busy.pop(host, None)

    def try_acquire(self, host: str) -> int | None:
        """Take a free slot of `host` now: its index, or None when all are held (here or elsewhere)."""
        fds = self._slots(host)
        busy = self._busy.setdefault(host, set())
        for i, fd in enumerate(fds):
            if i in busy:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another process holds it
            busy.add(i)
            return i
        return None

    def release(self, host: str, slot: int) -> None:
        fds = self._fds.get(host)
        busy = self._busy.get(host)
        if fds is None or busy is None or slot not in busy:
            raise RuntimeError(f"slot {slot} of {host} is not held")  # a bug in the caller
        fcntl.flock(fds[slot], fcntl.LOCK_UN)
        busy.discard(slot)

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's slots for the block, waiting (asyncio) until one is free."""
        slot = self.try_acquire(host)
        while slot is None:
            await asyncio.sleep(RETRY_S)
            slot = self.try_acquire(host)
        try:
            yield
        finally:
            self.release(host, slot)

    def close(self) -> None:
        """Close every slot file (releasing any slot still held)."""
        for host in list(self._fds):
            self._close_host(host)
