"""What a feed's date means: read it strictly, and decide whether it can be the item's publication date.

Feeds carry placeholder and broken dates: 9999-12-31 ("never expires"), 0001-01-01 and the Unix epoch
(an unset field), 30 February, offsets such as +99:99. Parsers "fix" some of them silently
(feedparser turns 30 February into 2 March and applies a 99-hour offset) and choke on others (a year
9999 date with a negative offset overflows when converted to UTC). A stored 9999 date then crashed
every digest that converted it to the reader's time zone. So:

- read_date() reads the two formats feeds use (RFC 822 and ISO 8601/RFC 3339) itself, strictly: a
  date in one of those shapes with impossible values is refused with a reason, never adjusted. Text in
  neither shape is left to the parser (which knows more exotic formats); its result is still checked
  by plausible().
- implausible() is the range rule, a pure function of the date and `now`: ingest applies it when it
  decides an item's publication date, and the digest applies it again to rows an older version stored.

A date that fails either is treated as missing: the item is dated by its fetch time, and the row's
`date_note` says what the feed said and why it was not used.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

__all__ = ["EARLIEST", "FUTURE_SLACK", "day_problem", "implausible", "read_date", "stored_date"]

# No news item can be older than the web (1991) that feeds are part of, and none of the sources are
# archives: a date before 1990 is a placeholder (0001-01-01, the 1970 epoch of an unset timestamp)
# or a typo, never a real publication date.
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
# Time zones span 26 hours (-12:00 to +14:00), and a publisher's clock or an item scheduled for the
# next morning may run a little ahead. Anything later than two days is a placeholder ("9999") or a
# typo, and would sort above every real item for years.
FUTURE_SLACK = timedelta(days=2)
# Real UTC offsets lie between -12:00 and +14:00.
_MAX_OFFSET_MINUTES = 14 * 60

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# RFC 822 zone names (plus UTC and Z), in hours east of UTC.
_ZONES = {"gmt": 0, "ut": 0, "utc": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
          "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}

# "Mon, 10 Mar 2025 10:00:00 +0700": the weekday (in any language and up to two words, "Thứ Hai") is skipped and
# never checked (feeds get it wrong), seconds and the zone are optional, so is the time itself.
_RFC822 = re.compile(
    r"(?:(?:[^\W\d_]+\s+)?[^\W\d_]+\.?\s*,?\s*)?"
    r"(\d{1,2})[\s-]+([^\W\d_]{3,12})\.?,?[\s-]+(\d{4}|\d{2})"
    r"(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?)?"
    r"\s*(?:([A-Za-z]{1,5})(?=$|[\s+-]))?\s*(?:([+-])(\d{2}):?(\d{2}))?\s*(?:\([^)]*\))?"
)
# "2025-03-10T10:00:00.123+07:00", "2025-03-10 10:00", "2025-03-10".
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt\s](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)


def read_date(text: str | None) -> tuple[datetime | None, str | None]:
    """A feed's date text -> (UTC datetime, None) | (None, why it is impossible) | (None, None) when the
    text is in neither RFC 822 nor ISO 8601 shape (the caller may then trust a parser's reading)."""
    if not text or not text.strip():
        return None, None
    value = text.strip()
    m = _ISO.fullmatch(value)
    if m:
        y, mo, d, hh, mi, ss, _z, sign, oh, om = m.groups()
        iso_offset = _offset(sign, oh, om or "00") if sign else 0  # no zone at all: UTC, the only safe reading
        if iso_offset is None:
            return None, f"date {value!r} has an impossible time zone offset"
        return _build(value, int(y), int(mo), int(d), hh, mi, ss, iso_offset)
    m = _RFC822.fullmatch(value)
    if m:
        d, month, y, hh, mi, ss, zname, sign, oh, om = m.groups()
        mo = _MONTHS.get(month[:3].lower())
        if mo is None:
            return None, None  # a month name in another language: the parser may know it
        year = int(y)
        if len(y) == 2:  # RFC 2822 section 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999
            year += 2000 if year < 50 else 1900
        offset = 0
        if zname is not None:
            hours = _ZONES.get(zname.lower())
            if hours is None:
                # A zone name RFC 822 does not define (CET, ICT, ...): the parser may know it, but the
                # date itself must still be possible.
                return None, _build(value, year, mo, int(d), hh, mi, ss, 0)[1]
            offset = hours * 60
        if sign:
            extra = _offset(sign, oh, om)
            if extra is None or abs(offset + extra) > _MAX_OFFSET_MINUTES:
                return None, f"date {value!r} has an impossible time zone offset"
            offset += extra
        return _build(value, year, mo, int(d), hh, mi, ss, offset)
    return None, None


def _offset(sign: str, hours: str, minutes: str) -> int | None:
    """Minutes east of UTC, or None for an offset no place on Earth has (+99:99, +15:00, +00:75)."""
    h, m = int(hours), int(minutes)
    total = h * 60 + m
    if m >= 60 or total > _MAX_OFFSET_MINUTES:
        return None
    return total if sign == "+" else -total


def _build(value: str, y: int, mo: int, d: int, hh: str | None, mi: str | None, ss: str | None,
           offset_minutes: int) -> tuple[datetime | None, str | None]:
    second = int(ss or 0)
    second = 59 if second == 60 else second  # a leap second: the second before is near enough
    try:
        local = datetime(y, mo, d, int(hh or 0), int(mi or 0), second,
                         tzinfo=timezone(timedelta(minutes=offset_minutes)))
    except ValueError as e:  # 30 February, hour 25, year 0
        return None, f"impossible date {value!r} ({e})"
    try:
        return local.astimezone(timezone.utc), None
    except OverflowError:  # 9999-12-31 at -05:00 is in the year 10000 in UTC
        return None, f"date {value!r} is out of range"


def implausible(published: datetime, now: datetime) -> str | None:
    """Why `published` cannot be an item's publication date as seen at `now`, or None if it can."""
    if published < EARLIEST:
        return f"before {EARLIEST.year}"
    # A difference, not now + slack: that overflows when `now` itself is a stored year-9999 date.
    if published - now > FUTURE_SLACK:
        return f"more than {FUTURE_SLACK.days} days after it was fetched"
    return None


def stored_date(published: str | None, fetched_at: str | None) -> tuple[datetime | None, str | None]:
    """A stored row's publication date judged by the rule above, with its fetch time as `now`:
    (the date, None) when it is usable, else (the fetch time, why not).

    Rows stored before dates were checked can hold 9999-12-31 or 0001-01-01; whatever renders a row
    (digest, show) goes through here, so such a row shows its fetch time instead of stopping the digest.
    """
    fetched = _stored(fetched_at)
    dt = _stored(published)
    if dt is None:
        return fetched, f"the stored date {published!r} is not a date"
    why = implausible(dt, fetched) if fetched is not None else None
    return (fetched, f"the feed's date {published} is {why}") if why else (dt, None)


def _stored(text: str | None) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)



def day_problem(day: date, today: date, *, what: str, future_ok: bool = False) -> str | None:
    """Why a day given on the command line (--since, --until, --date) cannot be meant, or None.

    The same range rule as for a feed's date: no item is dated before EARLIEST, so an earlier day
    (0001-01-01, a two-digit year read as 0026) can only be a typo, and at the edges of datetime's
    range converting the day to UTC would overflow. A day after `today` (UTC; one day of slack for
    zones ahead of UTC) holds nothing yet; `future_ok` lets a caller give its own message for that."""
    if day < EARLIEST.date():
        return (f"{what} {day.isoformat()} is before {EARLIEST.year}: no item is dated earlier (earlier feed "
                f"dates are placeholders); check the date, written YYYY-MM-DD")
    if not future_ok and day > today + timedelta(days=1):
        return (f"{what} {day.isoformat()} is after today ({today.isoformat()}, UTC): nothing is published "
                f"then yet; check the date, written YYYY-MM-DD")
    return None
