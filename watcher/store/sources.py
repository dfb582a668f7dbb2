"""The sources table: kept in step with sources.yaml, and read as typed state."""

from __future__ import annotations

from typing import Sequence

import sqlite_utils

from ..config import Source
from ..times import parse_iso_optional
from .db import write
from .records import SourceState

__all__ = ["sync_sources", "source_states", "source_state"]

_COLUMNS = ("name", "url", "enabled", "etag", "last_modified", "last_attempt", "last_success", "next_check",
            "hold_until", "consecutive_failures", "failure_weight", "last_error", "last_error_kind",
            "permanent_redirect", "disabled_reason", "feed_title", "deferred")


def sync_sources(db: sqlite_utils.Database, sources: Sequence[Source]) -> None:
    """Make the sources table agree with the config. A changed URL starts that source afresh."""
    with write(db):
        for s in sources:
            row = db.execute("SELECT url FROM sources WHERE name = ?", [s.name]).fetchone()
            if row is None:
                db.execute("INSERT INTO sources (name, url, enabled) VALUES (?, ?, ?)", [s.name, s.url, int(s.enabled)])
            elif row[0] != s.url:
                # New address: old validators, backoff, redirect and 410 belong to the old one.
                db.execute(
                    "UPDATE sources SET url = ?, enabled = ?, etag = NULL, last_modified = NULL, hold_until = NULL,"
                    " next_check = NULL, consecutive_failures = 0, failure_weight = 0, permanent_redirect = NULL,"
                    " disabled_reason = NULL, deferred = NULL WHERE name = ?",
                    [s.url, int(s.enabled), s.name],
                )
            else:
                db.execute("UPDATE sources SET enabled = ? WHERE name = ?", [int(s.enabled), s.name])


def source_states(db: sqlite_utils.Database) -> dict[str, SourceState]:
    """Every stored source's state, by name."""
    return {row[0]: _state(row) for row in db.execute(f"SELECT {', '.join(_COLUMNS)} FROM sources")}


def source_state(db: sqlite_utils.Database, name: str) -> SourceState | None:
    row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM sources WHERE name = ?", [name]).fetchone()
    return None if row is None else _state(row)


def _state(row: tuple) -> SourceState:
    r = dict(zip(_COLUMNS, row))
    return SourceState(
        name=r["name"], url=r["url"], enabled=bool(r["enabled"]), etag=r["etag"],
        last_modified=r["last_modified"], last_attempt=parse_iso_optional(r["last_attempt"]),
        last_success=parse_iso_optional(r["last_success"]), next_check=parse_iso_optional(r["next_check"]),
        hold_until=parse_iso_optional(r["hold_until"]), consecutive_failures=r["consecutive_failures"],
        failure_weight=r["failure_weight"], last_error=r["last_error"], last_error_kind=r["last_error_kind"],
        permanent_redirect=r["permanent_redirect"], disabled_reason=r["disabled_reason"],
        feed_title=r["feed_title"], deferred=r["deferred"])
