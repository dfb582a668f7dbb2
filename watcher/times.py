"""Times as the store keeps them: aware UTC datetimes in memory, ISO 8601 UTC text on disk.

Text such as "2026-11-21T05:20:00+00:00" sorts as time does, so `ORDER BY` and `datasette` read it
right. Two parsers, because a column is either NOT NULL (`parse_iso`: a missing or broken value is a
bug, and raises) or optional (`parse_iso_optional`: None stays None).
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import overload

__all__ = ["utcnow", "iso", "parse_iso", "parse_iso_optional"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@overload
def iso(dt: datetime) -> str: ...
@overload
def iso(dt: None) -> None: ...
def iso(dt: datetime | None) -> str | None:
    """UTC ISO text to the second; a naive datetime is taken as UTC already."""
    if dt is None:
        return None
    return _iso(dt)


# A poll stamps every item it stores with the same few times (its `now`): formatting each again was 5%
# of the storing process's time in a cold poll (py-spy of bench/poll.py's storing step).
@functools.lru_cache(maxsize=1024)
def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    """A stored time that must be there. Raises ValueError on an empty or malformed value."""
    if not text:
        raise ValueError("empty time value where a time is required")
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def parse_iso_optional(text: str | None) -> datetime | None:
    """A stored time that may be absent (NULL or empty): None then; a malformed value still raises."""
    if not text:
        return None
    return parse_iso(text)
