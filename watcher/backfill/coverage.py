"""What `watcher coverage` prints: a grid of days (or weeks) by source with item counts, and the
ledger's runs. Pure formatting over what the ledger (watcher/store/backfill.py) reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlite_utils

from . import ledger
from .plan import DateRange, grid, merge

LEGEND = ("a number is the items published that {unit}; ~ marks a {unit} no complete backfill covered; "
          "0! a covered {unit} with no items (suspicious for a daily source)")


def default_range(runs: list[ledger.Run], now: datetime) -> DateRange:
    if runs:
        return DateRange(min(r.rng.since for r in runs), max(r.rng.until for r in runs))
    today = now.date()
    return DateRange(today - timedelta(days=29), today)


def render(db: sqlite_utils.Database, sources: list[str], since: date | None, until: date | None,
           now: datetime) -> str:
    runs = ledger.runs(db, sources)
    rng = default_range(runs, now)
    rng = DateRange(since or rng.since, until or rng.until)
    if rng.until < rng.since:
        rng = DateRange(rng.since, rng.since)
    covered = {s: merge([r.rng for r in runs if r.source == s and r.status == "complete"]) for s in sources}
    unit, rows = grid(rng, sources, covered, ledger.day_counts(db, sources, rng))
    label_w = max(len("2026-01-01 wk"), len(unit))
    widths = [max(len(s), 4) for s in sources]
    lines = [f"coverage by {unit}, {rng}; " + LEGEND.format(unit=unit), ""]
    lines.append("  ".join([unit.ljust(label_w), *(s.ljust(w) for s, w in zip(sources, widths))]).rstrip())
    for label, cells in rows:
        lines.append("  ".join([label.ljust(label_w), *(c.text().ljust(w) for c, w in zip(cells, widths))]).rstrip())
    lines.append("")
    for s in sources:
        done = covered[s]
        lines.append(f"{s}: covered " + (", ".join(str(r) for r in done) if done else "never"))
        for r in runs:
            if r.source == s and r.status != "complete":
                at = f", reached {r.reached[:10]}" if r.reached else ""
                lines.append(f"  run #{r.id} {r.rng} by {r.method or r.requested}: {r.status}{at}"
                             + (f" ({r.error})" if r.error else "")
                             + ("; run the same backfill again to continue" if r.status in ("partial", "running") else ""))
    return "\n".join(lines)
