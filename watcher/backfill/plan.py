"""Pure decisions of a backfill: the date range, which entries belong to it, when a method stops,
and the coverage grid. No I/O: everything takes its inputs (and `now`) as arguments.

A range is whole UTC days, both ends included: `--since 2026-11-01 --until 2026-11-03` is three days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

METHODS = ("feed", "wordpress", "sitemap", "wayback")  # the order `auto` tries them in


@dataclass(frozen=True)
class DateRange:
    since: date
    until: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The first instant after the range."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def holds(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when < self.end

    def contains(self, other: "DateRange") -> bool:
        return self.since <= other.since and other.until <= self.until

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]

    def __str__(self) -> str:
        return f"{self.since.isoformat()}..{self.until.isoformat()}"


def make_range(since: date, until: date | None, now: datetime) -> DateRange:
    """--since/--until as a range; --until defaults to today (UTC). Raises ValueError with the fix."""
    last = until or now.astimezone(timezone.utc).date()
    if last < since:
        raise ValueError(f"--until {last.isoformat()} is before --since {since.isoformat()}; swap them")
    return DateRange(since, last)


@dataclass
class Page:
    """What one fetched page gave: the entries in the range, and where the method goes next.

    `cursor` is the method's whole state after this page (JSON-able): saved with the page's items in
    one transaction, so a run stopped anywhere resumes after the last stored page. `done` says the
    method has nothing more to fetch, and `stop_reason` why."""

    url: str
    entries: list = field(default_factory=list)  # EntryData in the range (or undated)
    cursor: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    stop_reason: str | None = None
    found: int = 0  # entries on the page, in the range or not
    oldest: datetime | None = None  # the oldest date on the page
    note: str | None = None  # something worth telling (a malformed sitemap skipped, a disallowed page)
    feed: Any = None  # the FeedData the entries came from (language), when there is one


def in_range(entries: list, rng: DateRange) -> list:
    """Entries published in the range. An entry without any date is kept: nothing says it is outside,
    and dropping it would lose it (it is stored with `published_is_fetch_time`)."""
    return [e for e in entries if (e.published or e.updated) is None or rng.holds(e.published or e.updated)]


def oldest(entries: list) -> datetime | None:
    dates = [e.published or e.updated for e in entries if (e.published or e.updated) is not None]
    return min(dates) if dates else None


def page_stop(entries: list, rng: DateRange, next_url: str | None, seen: list[str]) -> str | None:
    """Why feed paging stops after this page, or None to go on to `next_url`."""
    if not entries:
        return "an empty page"
    first = oldest(entries)
    if first is not None and first < rng.start:
        return f"reached {first.date().isoformat()}, before --since"
    if next_url is None:
        return "no older page (the feed links none)"
    if next_url in seen:
        return f"a loop: {next_url} was fetched before"
    return None


_DATED_NAME = re.compile(r"(?<!\d)(20\d\d|19\d\d)[-_/]?(0[1-9]|1[0-2])(?:[-_/]?(0[1-9]|[12]\d|3[01]))?(?!\d)")


def dated_name(url: str) -> tuple[date, date] | None:
    """The days a dated sitemap name covers: sitemap-2026-11.xml -> Nov 2026, /2026/11/05/ -> that day."""
    m = _DATED_NAME.search(url)
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if m.group(3):
        try:
            d = date(year, month, int(m.group(3)))
        except ValueError:
            return None
        return d, d
    first = date(year, month, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def child_sitemap_skip(url: str, lastmod: datetime | None, rng: DateRange) -> str | None:
    """Why a child sitemap of an index cannot hold pages of the range, or None to read it.

    Its lastmod is when it last changed: older than --since, nothing in it is newer. A dated name
    (sitemap-2026-10.xml) outside the range is skipped too."""
    if lastmod is not None and lastmod < rng.start:
        return f"last modified {lastmod.date().isoformat()}, before --since"
    span = dated_name(url)
    if span and (span[1] < rng.since or span[0] > rng.until):
        return f"its name dates it {span[0].isoformat()}..{span[1].isoformat()}, outside the range"
    return None


# --- the coverage grid --------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    count: int
    covered: bool  # inside a range a complete backfill covered

    def text(self) -> str:
        if not self.covered:
            return f"{self.count}~" if self.count else "~"
        return f"{self.count}" if self.count else "0!"


def buckets(rng: DateRange) -> tuple[str, list[tuple[date, date]]]:
    """Days, or weeks (Monday first) when the range is longer than 62 days."""
    if (rng.until - rng.since).days < 62:
        return "day", [(d, d) for d in rng.days()]
    out = []
    start = rng.since - timedelta(days=rng.since.weekday())
    while start <= rng.until:
        out.append((max(start, rng.since), min(start + timedelta(days=6), rng.until)))
        start += timedelta(days=7)
    return "week", out


def grid(rng: DateRange, sources: list[str], covered: dict[str, list[DateRange]],
         counts: dict[tuple[str, date], int]) -> tuple[str, list[tuple[str, list[Cell]]]]:
    """Rows of (bucket label, a cell per source). A bucket is covered when every day of it is."""
    unit, spans = buckets(rng)
    rows = []
    for first, last in spans:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        cells = []
        for s in sources:
            n = sum(counts.get((s, d), 0) for d in days)
            cov = all(any(r.since <= d <= r.until for r in covered.get(s, [])) for d in days)
            cells.append(Cell(n, cov))
        label = first.isoformat() if unit == "day" else f"{first.isoformat()} wk"
        rows.append((label, cells))
    return unit, rows


def merge(ranges: list[DateRange]) -> list[DateRange]:
    """Covered ranges joined where they touch or overlap: what `coverage` lists per source."""
    out: list[DateRange] = []
    for r in sorted(ranges, key=lambda r: r.since):
        if out and r.since <= out[-1].until + timedelta(days=1):
            if r.until > out[-1].until:
                out[-1] = DateRange(out[-1].since, r.until)
        else:
            out.append(r)
    return out
