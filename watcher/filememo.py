"""Values built from one file, kept for the life of the process while the file's bytes stay the same.

A long-lived process (`watcher run` polls every few minutes, `serve`) loads the same keyword list again
and again; checking and compiling it costs milliseconds, reading it to compare costs microseconds. The
key is the path as given and the file's whole bytes, so any edit is seen at the next load, and a value
built while the file changed under it is not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


def _key(path: Path) -> tuple[str, bytes] | None:
    try:
        return str(path), path.read_bytes()
    except OSError:
        return None  # the builder says what is wrong with the file


class FileMemo(Generic[T]):
    """The last `keep` values built, by file. Only for values nobody changes after they are built."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._kept: dict[tuple[str, bytes], T] = {}

    def get(self, path: Path, build: Callable[[], T]) -> T:
        """The value kept for this file as it is now, or build() (whose errors propagate, unkept)."""
        key = _key(path)
        if key is not None and key in self._kept:
            return self._kept[key]
        value = build()
        if key is not None and _key(path) == key:  # not edited while it was being read
            while len(self._kept) >= self.keep:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = value
        return value
