"""What the pages show, shaped from stored rows: pure functions, no I/O.

Feed strings are cleaned and bounded by watcher/display.py (as in the digest and the terminal) and
escaped by the templates' autoescape; links go through display.url, so only http(s) links are live;
summaries only ever reach a page through display.html_excerpt (the nh3 allow-list sanitiser).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .. import digest, display
from ..digest import Segment
from ..errors import UsageError
from ..times import parse_iso_optional

RTL_LANGUAGES = digest.RTL_LANGUAGES
EXCERPT_CHARS = 240


def direction(lang: str | None) -> str:
    """rtl for a language written right to left, else auto (the browser reads the first strong letter)."""
    return "rtl" if lang in RTL_LANGUAGES else "auto"


def spans(hits: list[dict], field: str, text: str) -> list[tuple[int, int]]:
    return [(h["start"], h["end"]) for h in hits
            if isinstance(h, dict) and h.get("field") == field and isinstance(h.get("start"), int)
            and isinstance(h.get("end"), int) and 0 <= h["start"] < h["end"] <= len(text)]


def local_time(iso: str | None, tz: str) -> str:
    dt = parse_iso_optional(iso)
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if dt else ""


@dataclass(frozen=True)
class QueueRow:
    id: int
    status: str
    title: list[Segment]
    link: str | None
    source: str
    language: str
    direction: str
    published: str
    published_is_fetch_time: bool
    topics: list[str]
    score: float
    excerpt: list[Segment]
    possible_duplicate: bool
    cursor: str  # keyset cursor "published|id" of this row, for the next page


def queue_row(row: dict, tz: str) -> QueueRow:
    hits = [h for h in row["hits"] if isinstance(h, dict)]
    title = row["title"] or ""
    return QueueRow(
        id=row["id"],
        status=row["review_status"] or "-",
        title=digest._headline(title, spans(hits, "title", title)),
        link=display.url(row["link"]),
        source=display.clean(row["source"]),
        language=display.shorten(row["language"], 35),
        direction=direction(row["language"]),
        published=local_time(row["published"], tz),
        published_is_fetch_time=bool(row["published_is_fetch_time"]),
        topics=[display.shorten(str(t), 100) for t in row["topics"]],
        score=float(row["score"] or 0),
        excerpt=digest.snippet({"summary": row["summary"], "content": row["content"]}, hits, EXCERPT_CHARS),
        possible_duplicate=bool(row["dup_possible"]),
        cursor=f"{row['published']}|{row['id']}",
    )


def parse_cursor(text: str | None) -> tuple[str, int] | None:
    """`before=published|id`; anything else is no cursor (the first page)."""
    if not text or "|" not in text:
        return None
    published, _, ident = text.rpartition("|")
    try:
        parse_iso_optional(published)
        return published, int(ident)
    except ValueError:
        return None


def parse_day(text: str | None, name: str = "date") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{name} {text!r} is not a date; write it as YYYY-MM-DD") from None


@dataclass(frozen=True)
class Bar:
    day: str
    count: int
    x: int
    height: int


def bars(per_day: dict[str, int], today: date, days: int = 30, height: int = 24, width: int = 4) -> list[Bar]:
    """The last `days` days as SVG bars (oldest left), scaled to the busiest day of this source."""
    top = max(per_day.values(), default=0)
    out = []
    for i in range(days):
        d = (today - timedelta(days=days - 1 - i)).isoformat()
        n = per_day.get(d, 0)
        out.append(Bar(d, n, i * (width + 1), max(1, round(height * n / top)) if n and top else 0))
    return out


@dataclass(frozen=True)
class DiffLine:
    kind: str  # " " same, "-" removed, "+" added, "@" a gap
    text: str


def text_diff(old: str, new: str, context: int = 2, limit: int = 400) -> list[DiffLine]:
    """A line diff of two versions' text (sentences on their own lines, so a one-word edit shows as
    one changed sentence), cleaned for display and bounded."""
    def lines(text: str) -> list[str]:
        out = []
        for para in (text or "").splitlines():
            out += [s.strip() for s in para.replace(". ", ".\n").replace("。", "。\n").splitlines() if s.strip()]
        return out

    result = []
    for line in difflib.unified_diff(lines(old), lines(new), lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        kind = "@" if line.startswith("@@") else line[:1]
        result.append(DiffLine(kind, "…" if kind == "@" else display.shorten(line[1:], display.SUMMARY_CHARS)))
        if len(result) >= limit:
            result.append(DiffLine("@", "… (diff cut; `watcher export` has both texts)"))
            break
    return result


def shared_passages(a: str, b: str, min_words: int = 8, limit: int = 20000) -> tuple[list[Segment], list[Segment]]:
    """Both texts with the passages they share (runs of at least `min_words` words) highlighted, so a
    duplicate can be checked by eye. Texts are bounded first: this is for reading, not deciding."""
    a, b = a[:limit], b[:limit]

    def words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
        import re
        ms = list(re.finditer(r"\w+", text))
        return [m.group().casefold() for m in ms], [(m.start(), m.end()) for m in ms]

    wa, pa = words(a)
    wb, pb = words(b)
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    sa, sb = [], []
    for blk in sm.get_matching_blocks():
        if blk.size >= min_words:
            sa.append((pa[blk.a][0], pa[blk.a + blk.size - 1][1]))
            sb.append((pb[blk.b][0], pb[blk.b + blk.size - 1][1]))
    shown = lambda t, s: digest.shown(digest.segments(t, s), display.SUMMARY_CHARS * 4)  # noqa: E731
    return shown(a, sa), shown(b, sb)


def today(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()
