"""Errors that reach the user.

    WatcherError                 anything the CLI turns into one line and an exit status
    ├── ConfigError              sources.yaml or the keyword list is wrong: carries every Problem
    ├── StoreError               the store cannot be opened, read or written: busy, disk full, disk failing
    │   ├── StoreDamagedError    the file is damaged, cut short, empty, or not a store: says how to recover
    │   └── StoreReadOnlyError   a command that writes met a store it may not write (file, folder, mount)
    ├── LockedError              another `watcher run` or `poll` holds state/watcher.lock (or another
    │                            backfill state/backfill.lock)
    └── UsageError               a command was asked for something that does not exist (an item id)

Per-source failures (timeouts, 404s, broken XML) are *not* exceptions: they travel as
`model.Failure` values, so one bad source never stops the others. Anything else is a bug and crashes
with a traceback, which is what we want to see.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the problem is with the file as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class WatcherError(Exception):
    exit_code = 1


class ConfigError(WatcherError):
    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []

    @classmethod
    def from_problems(cls, problems: list[Problem]) -> "ConfigError":
        n = len(problems)
        body = "\n".join(str(p) for p in problems)
        return cls(f"{n} problem{'s' if n != 1 else ''} in the configuration:\n{body}", problems)


class StoreError(WatcherError):
    pass


class StoreDamagedError(StoreError):
    pass


class StoreReadOnlyError(StoreError):
    pass


class LockedError(WatcherError):
    exit_code = 75  # EX_TEMPFAIL: try again later


class UsageError(WatcherError):
    exit_code = 2
