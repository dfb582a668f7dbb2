"""What every setting may be: its type and its range, declared once, as data.

`SETTINGS` below is the table. Every key of sources.yaml (top level, `fetch:`, `dedup:`, `digest:`,
`smtp:`, and each source's keys) and every number of the keyword list has a row: a kind, the lowest
and highest value allowed (for text and lists: the length or count), and why the bounds are where
they are. `watcher check`, and through it every command that loads the configuration, applies it with
`check_value`, so a value that would crash, hang or silently disable the poll is refused up front
with file:line and what is allowed. tests/test_config_bounds.py walks the table: each bound is tried
just inside and just outside, and a setting with no row fails the suite.

Pure: no I/O; `check_value` takes a value as PyYAML read it and returns it converted, or a message.
"""

from __future__ import annotations

import math
import re
import typing
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE, HOUR, DAY = 60, 3600, 86400

# Kinds whose bounds are numbers (value, seconds, length or count); each needs both.
RANGED = ("int", "number", "duration", "text", "path", "header", "host", "envvar", "email", "emails",
          "words", "url")
# Kinds whose value is taken as the text the user wrote (`name: 2024` is the name "2024").
TEXTUAL = ("text", "path", "header", "host", "envvar", "email", "url", "duration", "clock", "timezone",
           "choice")
KINDS = (*RANGED, "bool", "choice", "clock", "timezone")


@dataclass(frozen=True)
class Bound:
    kind: str
    lo: float | None = None  # lowest allowed (text: length, lists: count, durations: seconds)
    hi: float | None = None  # highest allowed
    why: str = ""  # why the bounds are there: what goes wrong outside them
    lo_open: bool = False  # lo itself is not allowed (a share must be above 0)
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A row without a range is a bug in this table, caught when the module is imported.
        assert self.kind in KINDS, self.kind
        assert self.why, "say why the bounds are there"
        if self.kind in RANGED:
            assert self.lo is not None and self.hi is not None and self.lo <= self.hi, self
        if self.kind == "choice":
            assert self.choices, self


LANGUAGES = ("en", "vi", "ar", "zh")

_DURATION = "time between polls: more often than once a minute hammers the publisher and no feed " \
            "changes that fast; rarer than every 30 days is a disabled source (write enabled: false)"
_SHARE = "a share of shingles: 0 or less would call everything a duplicate, above 1 can never be reached"
_RATE = ("requests per second to one host during a backfill: 0 or less never sends one; past 20 a "
         "backfill is a load test on someone else's server and gets us blocked")
_PATH = "a file or folder, relative to sources.yaml; empty would silently mean the default"

SETTINGS: dict[str, Bound] = {
    # -- sources.yaml, top level -------------------------------------------------------------------
    "interval": Bound("duration", MINUTE, 30 * DAY, _DURATION),
    "seeds": Bound("path", 1, 4096, _PATH + "; 4096 is the longest path Linux opens"),
    "state": Bound("path", 1, 4096, _PATH + "; 4096 is the longest path Linux opens"),
    "keywords": Bound("path", 1, 4096, _PATH + "; 4096 is the longest path Linux opens"),
    "reviewer": Bound("text", 1, 100, "who `watcher serve` records review decisions as (leave it out for the "
                      "OS user): one line, not empty, short enough for the review history"),
    # -- fetch: ------------------------------------------------------------------------------------
    "fetch.concurrency": Bound("int", 1, 1000, "0 never starts a request, so the poll hangs; past 1000 "
                               "open connections the process runs out of file descriptors (ulimit 1024)"),
    "fetch.per_host": Bound("int", 1, 64, "below 1 a host's sources never start (negative crashes the "
                            "poll); more than 64 at once to one server looks like an attack and gets us blocked"),
    "fetch.connect_timeout": Bound("number", 1, 120, "under a second a TLS handshake with a distant server "
                                   "cannot finish, so every source fails; past 2 minutes a dead host holds the poll"),
    "fetch.read_timeout": Bound("number", 1, 600, "under a second a busy server's first byte misses it and "
                                "every source fails; past 10 minutes a silent server holds the poll"),
    "fetch.total_timeout": Bound("number", 1, 3600, "the whole request, body included: under a second every "
                                 "source fails; past an hour one trickling server holds the poll for good"),
    "fetch.max_bytes": Bound("int", 10_000, 100_000_000, "under 10 kB an ordinary feed of a few items is "
                             "refused as too large; past 100 MB a compression bomb can exhaust memory"),
    "fetch.max_redirects": Bound("int", 0, 20, "0 follows none (allowed: moved feeds then fail); browsers "
                                 "give up after 20, and a longer chain is a loop"),
    "fetch.user_agent": Bound("header", 1, 500, "sent as an HTTP header, so ASCII without line breaks (other "
                              "characters crash the HTTP client); empty or very long gets us refused"),
    "fetch.backoff_cap": Bound("duration", 10 * MINUTE, 30 * DAY, "the longest a failing source waits: under "
                               "10 minutes a dead server is retried all day; past 30 days it is forgotten"),
    "fetch.poll_deadline": Bound("duration", 1, DAY, "a whole poll's deadline; a few seconds only suits a "
                                 "test (a healthy poll of many feeds needs minutes); past a day a stuck poll "
                                 "blocks the next"),
    "fetch.workers": Bound("int", 0, 64, "parser processes, 0 meaning one per core; negative is meaningless "
                           "and past 64 forked copies exhaust memory for no speed"),
    # -- dedup: ------------------------------------------------------------------------------------
    "dedup.window_days": Bound("int", 1, 365, "0 or less finds no reposts at all; past a year every "
                               "decision searches a growing index for stories nobody reposts"),
    "dedup.containment": Bound("number", 0, 1, _SHARE, lo_open=True),
    "dedup.resemblance": Bound("number", 0, 1, _SHARE, lo_open=True),
    "dedup.min_shared": Bound("int", 1, 500, "0 would let texts with nothing in common be compared; past "
                              "500 (a long article's worth of shingles) nothing is ever a duplicate"),
    "dedup.crosslingual": Bound("bool", why="on or off"),
    "dedup.crosslingual_score": Bound("number", 0, 1, "a similarity score, shown and exported: a share "
                                      "above 0 and at most 1 like every other dedup score", lo_open=True),
    "dedup.crosslingual_min_anchors": Bound("int", 1, 50, "0 anchors would flag every pair of items; past 50 "
                                            "no article carries that many (write crosslingual: false instead)"),
    "dedup.crosslingual_min_coverage": Bound("number", 0, 1, "a share of the item's anchors: 0 or less flags "
                                             "everything, above 1 can never be reached", lo_open=True),
    # -- digest: -----------------------------------------------------------------------------------
    "digest.time": Bound("clock", why="a local time of day, 00:00 to 23:59"),
    "digest.timezone": Bound("timezone", why="an IANA name, so daylight saving is followed"),
    "digest.title": Bound("text", 1, 200, "the mail's subject and the page's heading: one line (a line break "
                          "breaks the mail header), not empty, short enough to read"),
    "digest.send": Bound("bool", why="on or off"),
    "digest.snippet_chars": Bound("int", 0, 2000, "0 shows headlines only; past 2000 characters the excerpt "
                                  "buries the headlines"),
    # -- smtp: -------------------------------------------------------------------------------------
    "smtp.host": Bound("host", 1, 253, "a host name or address; 253 characters is the longest DNS name"),
    "smtp.port": Bound("int", 1, 65535, "a TCP port"),
    "smtp.starttls": Bound("bool", why="on or off"),
    "smtp.user": Bound("text", 0, 256, "empty means no login; one line, or the SMTP login breaks"),
    "smtp.password_env": Bound("envvar", 1, 100, "the name of an environment variable, as a shell writes it"),
    "smtp.sender": Bound("email", 3, 254, "one plain address (254 characters is SMTP's longest)"),
    "smtp.to": Bound("emails", 0, 100, "plain addresses; SMTP servers need only accept 100 recipients a "
                     "message (RFC 5321), so a longer list loses recipients"),
    # -- backfill: (watcher backfill; see watcher/backfill/) --------------------------------------
    "backfill.rate": Bound("number", 0.001, 20, _RATE),
    "backfill.wayback_url": Bound("url", 1, 2048, "the Wayback Machine (CDX API and snapshots) to ask; "
                                  "tests point it at a local server"),
    "backfill.wayback_rate": Bound("number", 0.001, 20, "requests per second to the Wayback Machine, a "
                                   "shared public service: the default is one every 5 s; " + _RATE),
    "backfill.max_retry_wait": Bound("duration", 1, DAY, "the longest a backfill sleeps on a server's "
                                     "Retry-After before it stops (resumable); under 1 s it never waits, "
                                     "past a day it looks hung"),
    # -- each entry under sources: -----------------------------------------------------------------
    "source.name": Bound("text", 1, 100, "names the source in tables, messages and --source: one line, "
                         "not empty, short enough for a table"),
    "source.url": Bound("url", 1, 2048, "the feed's address; past 2048 characters many servers refuse it"),
    "source.language": Bound("choice", why="the languages the keyword list and the dedup know",
                             choices=LANGUAGES),
    "source.interval": Bound("duration", MINUTE, 30 * DAY, _DURATION),
    "source.enabled": Bound("bool", why="on or off"),
    "source.tags": Bound("words", 1, 50, "labels, each one short, on one line; one that names a topic of the "
                         "keyword list marks the source as on the story (fulltext: auto)"),
    "source.fulltext": Bound("choice", why="when to fetch the article page of an entry: auto (short text "
                             "that could matter), always, or never", choices=("auto", "always", "never")),
    "source.backfill_rate": Bound("number", 0.001, 20, _RATE),
    # -- the keyword list (seeds/keywords.yaml) ----------------------------------------------------
    "keywords.threshold": Bound("number", 0, 100, "a score is a sum of weights: 0 or less makes every item "
                                "relevant; past 100 (an extra zero) no item ever is", lo_open=True),
    "keywords.title_weight": Bound("number", 0, 10, "a multiplier for terms in the title: 0 or less hides "
                                   "titles; past 10 one title word outweighs any threshold", lo_open=True),
    "keywords.weight": Bound("number", 0, 100, "what a term adds to the score: 0 or less never counts "
                             "(use unless: to exclude); past 100 is an extra zero", lo_open=True),
    "keywords.near": Bound("int", 1, 200, "words between a term and its context: under 1 is nothing; past "
                           "200 it is the whole item (leave near: out for that)"),
}

_UNIT = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY}
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_CLOCK_RE = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
_HOST_RE = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")
_ENVVAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL_RE = re.compile(r"^[^@\s<>,;\"()]+@[^@\s<>,;\"()]+$")
# Characters that would change how a line reads or breaks: controls, and the bidi overrides/isolates.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def seconds(text: str) -> int | None:
    """'15m' -> 900, '0s' -> 0; None when it is not a whole number and one unit."""
    m = _DURATION_RE.match(str(text))
    return int(m.group(1)) * _UNIT[m.group(2)] if m else None


def duration_text(secs: float) -> str:
    """900 -> '15m': the largest unit that divides it, for messages."""
    for unit in "dhm":
        if secs and secs % _UNIT[unit] == 0:
            return f"{int(secs // _UNIT[unit])}{unit}"
    return f"{int(secs)}s"


def allowed(b: Bound) -> str:
    """What a value of this setting may be, in words, for messages and the README."""
    # Unranged kinds (bool, choice, ...) have no lo/hi, and their words below do not use them.
    lo = b.lo if b.lo is not None else 0.0
    hi = b.hi if b.hi is not None else 0.0
    if b.kind == "int":
        return f"a whole number from {int(lo)} to {int(hi)}"
    if b.kind == "number":
        return f"a number {'above' if b.lo_open else 'from'} {lo:g} {'and at most' if b.lo_open else 'to'} {hi:g}"
    if b.kind == "duration":
        return (f"a duration from {duration_text(lo)} to {duration_text(hi)}, written as a whole number and "
                f"a unit like 15m, 2h or 1d")
    if b.kind == "bool":
        return "true or false"
    if b.kind == "choice":
        return f"one of {', '.join(b.choices)}"
    if b.kind == "clock":
        return "a 24-hour local time from 00:00 to 23:59, like \"07:00\""
    if b.kind == "timezone":
        return "a time zone name like UTC or Asia/Ho_Chi_Minh"
    if b.kind == "url":
        return (f"an absolute http:// or https:// address with a host, no spaces, a port (if any) from 1 to "
                f"65535, at most {int(hi)} characters")
    if b.kind == "host":
        return f"a host name or IP address like smtp.example.org (at most {int(hi)} characters)"
    if b.kind == "envvar":
        return "an environment variable name like WATCHER_SMTP_PASSWORD (letters, digits, _)"
    if b.kind == "email":
        return "one plain address like analysts@example.org (no display name)"
    if b.kind == "emails":
        return f"a list of plain addresses like [analysts@example.org], at most {int(hi)}"
    if b.kind == "words":
        return f"a list of words like [tech, vietnam], each 1 to {int(hi)} characters on one line"
    if b.kind == "header":
        return f"one line of printable ASCII, {int(lo)} to {int(hi)} characters"
    lo_text = "not empty" if lo == 1 else ("may be empty" if lo == 0 else f"at least {int(lo)} characters")
    return f"one line of text, {lo_text}, at most {int(hi)} characters"


def _one_line(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" or c in _BIDI for c in text)


def _range(b: Bound) -> tuple[float, float]:
    assert b.lo is not None and b.hi is not None, b  # every ranged row has both (__post_init__)
    return b.lo, b.hi


def _length_ok(b: Bound, n: int) -> bool:
    lo, hi = _range(b)
    return lo <= n <= hi


def _url_problem(text: str) -> str | None:
    """Why this is not a feed address httpx can fetch, or None. Never raises."""
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in text):
        return "contains a space or a control character (write a space as %20)"
    try:
        parts = urlsplit(text)
    except ValueError as e:  # an unclosed [ of an IPv6 address
        return f"cannot be read as an address: {e}"
    if parts.scheme not in ("http", "https"):
        return f"starts with {parts.scheme}:, not http: or https:" if parts.scheme else "has no http:// in front"
    if not parts.hostname:
        return "has no host"
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        port = -1
    if port is not None and not 1 <= port <= 65535:
        return "has a port that is not a number from 1 to 65535"
    import httpx  # here, not at the top: commands that only read the store need not load it

    try:
        u = httpx.URL(text)
        u.host, u.port  # noqa: B018 - decoding them is where a malformed IDNA name ("xn--") fails
    except (httpx.InvalidURL, ValueError) as e:  # idna's IDNAError is a ValueError
        return f"cannot be read as an address: {e}"
    return None


def check_value(key: str, value: typing.Any, label: str | None = None) -> tuple[typing.Any, str | None]:
    """Check one setting's value against its row of SETTINGS.

    `value` is what PyYAML read (for TEXTUAL kinds, the text as written). Returns (the value converted:
    seconds for a duration, float for a number, tuple for a list; None) or (None, a message naming
    `label`, what is allowed, and what was given).
    """
    b = SETTINGS[key]
    label = label or key
    got = _convert(b, value)
    if got is _BAD:
        if isinstance(value, str) and b.kind == "url":
            # Say which part is wrong: "must be an address" alone does not find the stray space.
            why = _url_problem(value.strip()) if value.strip() else "is empty"
            if why:
                return None, f"{label} {_shown(value)} {why}; write an absolute http:// or https:// address"
        return None, f"{label} must be {allowed(b)}; got {_shown(value)}"
    return got, None


def _shown(value: typing.Any, cap: int = 80) -> str:
    """The value as given, cut short: a 1 MB name must not make a 1 MB message."""
    if value is None or value == "":
        return "nothing"
    text = repr(value)
    return text if len(text) <= cap else f"{text[:cap]}… ({len(text):,} characters)"


_BAD = object()


def _convert(b: Bound, v: typing.Any) -> typing.Any:  # noqa: C901 - one branch per kind reads best
    k = b.kind
    if k == "bool":
        return v if isinstance(v, bool) else _BAD
    if k in ("int", "number"):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (k == "int" and not isinstance(v, int)):
            return _BAD
        # isfinite only for floats: a 400-digit YAML integer overflows float() but compares fine.
        lo, hi = _range(b)
        if (isinstance(v, float) and not math.isfinite(v)) or v > hi or v < lo or (b.lo_open and v == lo):
            return _BAD
        return v if k == "int" else float(v)
    if k in ("emails", "words"):
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            return _BAD
        items = [x.strip() for x in v]
        if k == "emails":
            ok = _length_ok(b, len(items)) and all(_EMAIL_RE.match(x) and len(x) <= 254 for x in items)
        else:
            ok = all(_length_ok(b, len(x)) and _one_line(x) for x in items)
        return tuple(items) if ok else _BAD
    if not isinstance(v, str):
        return _BAD
    text = v.strip()
    if k == "duration":
        secs = seconds(text)
        lo, hi = _range(b)
        return secs if secs is not None and lo <= secs <= hi else _BAD
    if k == "choice":
        return text if text in b.choices else _BAD
    if k == "clock":
        return text if _CLOCK_RE.match(text) else _BAD
    if k == "timezone":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # a path, empty, a folder ("America"), too long
            return _BAD
        return text
    if k == "url":
        return text if _length_ok(b, len(text)) and _url_problem(text) is None else _BAD
    if not _length_ok(b, len(text)) or not _one_line(text):
        return _BAD
    if k == "header" and not all(" " <= c <= "~" for c in text):
        return _BAD
    if k == "host" and not _HOST_RE.match(text):
        return _BAD
    if k == "envvar" and not _ENVVAR_RE.match(text):
        return _BAD
    if k == "email" and not _EMAIL_RE.match(text):
        return _BAD
    return text
