"""What `watcher coverage` prints: a grid of days (or weeks) by source with item counts, and the
ledger's runs. Pure formatting over what the ledger (watcher/store/backfill.py) reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlite_utils

from . import ledger
from .plan import Cell, DateRange, grid, merge

LEGEND = ("a number is the items published that {unit}; ~ marks a {unit} no complete backfill covered; "
          "0! a covered {unit} with no items (suspicious for a daily source)")


def default_range(runs: list[ledger.Run], now: datetime) -> DateRange:
    if runs:
        return DateRange(min(r.rng.since for r in runs), max(r.rng.until for r in runs))
    today = now.date()
    return DateRange(today - timedelta(days=29), today)


@dataclass(frozen=True)
class Coverage:
    """What `watcher coverage` and the review page's Sources page both show."""

    rng: DateRange
    sources: list[str]
    unit: str  # day | week
    rows: list[tuple[str, list[Cell]]]  # (bucket label, a cell per source)
    covered: dict[str, list[DateRange]]  # per source, the ranges complete runs covered, merged
    open_runs: list[ledger.Run]  # runs that did not complete (partial, running, failed), by source


def compute(db: sqlite_utils.Database, sources: list[str], since: date | None, until: date | None,
            now: datetime) -> Coverage:
    runs = ledger.runs(db, sources)
    rng = default_range(runs, now)
    rng = DateRange(since or rng.since, until or rng.until)
    if rng.until < rng.since:
        rng = DateRange(rng.since, rng.since)
    covered = {s: merge([r.rng for r in runs if r.source == s and r.status == "complete"]) for s in sources}
    unit, rows = grid(rng, sources, covered, ledger.day_counts(db, sources, rng))
    return Coverage(rng, sources, unit, rows, covered, [r for r in runs if r.status != "complete"])


def run_line(r: ledger.Run) -> str:
    """One run that did not complete, and what to do about it."""
    at = f", reached {r.reached[:10]}" if r.reached else ""
    return (f"run #{r.id} {r.rng} by {r.method or r.requested}: {r.status}{at}" + (f" ({r.error})" if r.error else "")
            + ("; run the same backfill again to continue" if r.status in ("partial", "running") else ""))


def render(db: sqlite_utils.Database, sources: list[str], since: date | None, until: date | None,
           now: datetime) -> str:
    c = compute(db, sources, since, until, now)
    unit = c.unit
    label_w = max(len("2026-01-01 wk"), len(unit))
    widths = [max(len(s), 4) for s in sources]
    lines = [f"coverage by {unit}, {c.rng}; " + LEGEND.format(unit=unit), ""]
    lines.append("  ".join([unit.ljust(label_w), *(s.ljust(w) for s, w in zip(sources, widths))]).rstrip())
    for label, cells in c.rows:
        lines.append("  ".join([label.ljust(label_w), *(cell.text().ljust(w) for cell, w in zip(cells, widths))]).rstrip())
    lines.append("")
    for s in sources:
        done = c.covered[s]
        lines.append(f"{s}: covered " + (", ".join(str(r) for r in done) if done else "never"))
        lines += [f"  {run_line(r)}" for r in c.open_runs if r.source == s]
    return "\n".join(lines)
