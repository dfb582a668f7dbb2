"""The daily digest: which items a date holds, and the Markdown, HTML and Atom that show them.

A digest for a local date (in `digest.timezone`) holds the items that are relevant, not duplicates,
not rejected by a reviewer, fetched before the end of that day, and in no earlier digest. Building a
date for the first time records it once (store.record_digest: its items, each in exactly one digest,
and its frozen header of failed sources), in one transaction. Everything shown is rendered by pure
functions from that record (`from_record`, `render_*`), so building a date again reads the record,
writes nothing, and reproduces the same digest; feed.atom is rendered from the latest records.

Output: state/digests/YYYY-MM-DD.md, .html, and feed.atom with one entry per digest. All feed text is
treated as hostile: see watcher/sanitize.py; both Jinja environments escape every value by default.
What is shown is cleaned and bounded by watcher/display.py (bidi controls, invisible characters,
huge fields); the store keeps the feed's own text.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import jinja2
import markupsafe
import sqlite_utils

from . import display, store
from .config import Config, DigestSettings
from .dates import day_problem, stored_date
from .errors import UsageError
from .sanitize import md_inline, md_text
from .store import DigestRecord, Repost, StoredItem
from .times import iso, utcnow

LANGUAGE_NAMES = {"en": "English", "vi": "Vietnamese", "ar": "Arabic", "zh": "Chinese"}
RTL_LANGUAGES = {"ar"}
ATOM_ENTRIES = 60  # how many digests feed.atom keeps; readers only need the recent ones


# ---------------------------------------------------------------- dates

def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """UTC start and end of a local day. Uses wall-clock midnights, so a DST day is 23 or 25 hours."""
    z = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=z)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=z)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def local_date(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def refuse_future(day: date, now: datetime, tz: str) -> None:
    """A digest takes every waiting item that came in before the end of its day, so building a date
    after today (a typo: 2030 for 2026) would take them all and leave today's digest empty."""
    today = local_date(now, tz)
    if day > today:
        raise UsageError(f"no digest for {day}: that date is after today ({today} in {tz}), and a digest "
                         f"would take every waiting item up to then; check the --date")


def digests_dir(cfg: Config) -> Path:
    return cfg.state_dir / "digests"


# ---------------------------------------------------------------- what a digest shows

@dataclass(frozen=True)
class Segment:
    text: str
    hit: bool


@dataclass
class Entry:
    id: int
    topic: str
    title: list[Segment]
    link: str | None
    source: str
    language: str | None
    language_name: str
    direction: str  # "rtl" | "auto": Arabic headlines read right to left
    published: str  # local time in the digest's zone
    published_is_fetch_time: bool
    terms: list[str]
    snippet: list[Segment]
    summary_html: str  # sanitised
    also_in: list[dict]  # {source, link (safe or None), title}
    possible_duplicate: bool

    @property
    def title_text(self) -> str:
        return "".join(s.text for s in self.title)


def shown(segs: list[Segment], limit: int, *, more: bool = False) -> list[Segment]:
    """Segments as a person sees them: each cleaned (display.clean), at most `limit` characters in
    all, cut at a grapheme and, if one is near, a word boundary, with "…" when cut (or when `more`:
    the segments are already only the start of the text). Cleaning happens per segment because the
    highlight offsets are offsets into the raw text."""
    segs = [Segment(display.clean(s.text, trim=False), s.hit) for s in segs]
    text = "".join(s.text for s in segs)
    if len(text) <= limit and not more:
        return [s for s in segs if s.text]
    keep = display.cut_at(text, limit - len(display.ELLIPSIS))
    out: list[Segment] = []
    for s in segs:
        if keep <= 0:
            break
        out.append(Segment(s.text[:keep], s.hit))
        keep -= len(s.text)
    out.append(Segment(display.ELLIPSIS, False))
    return [s for s in out if s.text]


@dataclass
class Digest:
    day: date
    title: str
    timezone: str
    built_at: datetime
    cutoff: datetime
    groups: list[tuple[str, list[Entry]]]
    failures: list[dict]
    rebuilt: bool = False  # this date existed already; re-rendered from digest_items
    recorded: bool = True  # False for --dry-run
    by_topic: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(es) for _, es in self.groups)

    @property
    def subject(self) -> str:
        n = self.total
        return f"{self.title} {self.day.isoformat()}: " + (f"{n} new item{'s' if n != 1 else ''}" if n else "nothing new")


def segments(text: str, spans: list[tuple[int, int]], lo: int = 0, hi: int | None = None) -> list[Segment]:
    """text[lo:hi] cut into plain and highlighted runs. Spans outside the text are ignored (an item
    corrected in place may carry offsets from its older text)."""
    hi = len(text) if hi is None else min(hi, len(text))
    marks = sorted((max(s, lo), min(e, hi)) for s, e in spans if 0 <= s < e <= len(text) and e > lo and s < hi)
    out: list[Segment] = []
    pos = lo
    for s, e in marks:
        if e <= pos:
            continue
        s = max(s, pos)
        if s > pos:
            out.append(Segment(text[pos:s], False))
        out.append(Segment(text[s:e], True))
        pos = e
    if pos < hi:
        out.append(Segment(text[pos:hi], False))
    return out


def snippet(fields: dict[str, str], hits: list[dict], width: int) -> list[Segment]:
    """About `width` characters of summary or content around the first keyword, keywords highlighted.

    The title is shown (highlighted) as the headline, so the snippet comes from the body text; with
    no hit there, it is the start of the summary.
    """
    width = min(width, display.SUMMARY_CHARS)
    for name in ("summary", "content"):
        text = fields.get(name) or ""
        spans = [(h["start"], h["end"]) for h in hits
                 if h.get("field") == name and isinstance(h.get("start"), int) and isinstance(h.get("end"), int)
                 and 0 <= h["start"] < h["end"] <= len(text)]
        if spans:
            first = min(s for s, _ in spans)
            lo = max(0, first - width // 3)
            # Start at a word boundary when there is one nearby, so the snippet does not open mid-word.
            space = text.rfind(" ", max(0, lo - 15), first)
            if lo > 0 and space != -1:
                lo = space + 1
            # Offsets are code points; never start or end between a letter and its marks.
            lo = display.boundary(text, lo)
            hi = display.boundary(text, min(len(text), lo + width))
            segs = segments(text, spans, lo, hi)
            break
    else:
        text = fields.get("summary") or fields.get("content") or ""
        lo, hi = 0, display.boundary(text, min(len(text), width))
        segs = segments(text, [], lo, hi)
    segs = shown(segs, width)
    if not segs:
        return []
    if lo > 0:
        segs.insert(0, Segment("…", False))
    if hi < len(text):
        segs.append(Segment("…", False))
    return segs


def primary_topic(topics: list[str], hits: list[dict]) -> str:
    """The topic an item is listed under: the one its keywords weigh most in, ties by topic order."""
    if not topics:
        return "other"
    weight = {t: 0.0 for t in topics}
    for h in hits:
        if h.get("topic") in weight:
            weight[h["topic"]] += float(h.get("weight") or 0)
    return max(topics, key=lambda t: (weight[t], -topics.index(t)))


def _also_in(reposts: list[Repost]) -> list[dict]:
    """Reposts of an item that had come in by the digest's cutoff (the record keeps them so: a
    rendering on a later day shows the same list)."""
    return [{"id": r.id, "source": display.clean(r.source), "link": display.url(r.link),
             "title": display.shorten(r.title, display.TITLE_CHARS)} for r in reposts]


def _headline(title: str | None, spans: list[tuple[int, int]]) -> list[Segment]:
    if not title:
        return [Segment("(no title)", False)]
    # Segment only the part that can be shown: a 1 MB title is not cleaned whole for 300 characters.
    hi = display.raw_extent(title, display.TITLE_CHARS)
    if hi < len(title):
        hi = display.boundary(title, hi) or hi
    return shown(segments(title, spans, 0, hi), display.TITLE_CHARS, more=hi < len(title)) \
        or [Segment("(no title)", False)]


def _entry(item: StoredItem, topic: str, settings: DigestSettings, reposts: list[Repost]) -> Entry:
    hits = item.hits
    title_spans = [(h["start"], h["end"]) for h in hits
                   if h.get("field") == "title" and isinstance(h.get("start"), int) and isinstance(h.get("end"), int)]
    published, fetch_time = _published(item)
    lang = item.language
    return Entry(
        id=item.id,
        topic=topic,
        title=_headline(item.title, title_spans),
        link=display.url(item.link),
        source=display.clean(item.source),
        language=display.shorten(lang, 35) or None,
        language_name=LANGUAGE_NAMES.get(lang or "", display.shorten(lang, 35) or "unknown language"),
        direction="rtl" if lang in RTL_LANGUAGES else "auto",
        published=_local_text(published, settings.timezone),
        published_is_fetch_time=fetch_time,
        terms=list(dict.fromkeys(display.shorten(str(t), display.TITLE_CHARS) for t in item.keywords)),
        snippet=snippet({"summary": item.summary, "content": item.content}, hits, settings.snippet_chars),
        summary_html=display.html_excerpt(item.summary_html, display.SUMMARY_CHARS),
        also_in=_also_in(reposts),
        possible_duplicate=item.dup_possible,
    )


def _published(item: StoredItem) -> tuple[datetime, bool]:
    """When the item was published (UTC), and whether that is its fetch time. A row stored before dates
    were checked may hold 9999-12-31 or 0001-01-01: it is shown, and sorted, by its fetch time."""
    dt, note = stored_date(iso(item.published), iso(item.fetched_at))
    if dt is None:  # neither column holds a date: only a hand-edited store gets here
        return datetime.min.replace(tzinfo=timezone.utc), True
    return dt, item.published_is_fetch_time or note is not None


def _local_text(dt: datetime, tz: str) -> str:
    try:
        return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")
    except (OverflowError, ValueError):  # the edges of datetime's range, in a zone ahead of/behind UTC
        return dt.strftime("%Y-%m-%d %H:%M UTC")


def _group(entries: list[tuple[Entry, str]]) -> list[tuple[str, list[Entry]]]:
    groups: dict[str, list[tuple[Entry, str]]] = {}
    for e, published_utc in entries:
        groups.setdefault(e.topic, []).append((e, published_utc))
    out = []
    for topic, es in groups.items():
        es.sort(key=lambda p: (p[1], p[0].id), reverse=True)  # newest first
        out.append((topic, [e for e, _ in es]))
    out.sort(key=lambda g: (-len(g[1]), g[0]))
    return out


def from_record(record: DigestRecord, settings: DigestSettings, *, rebuilt: bool, recorded: bool = True) -> Digest:
    """The digest a record shows: pure, so the day it is built and every later rendering agree."""
    entries = [(_entry(item, topic, settings, record.reposts.get(item.id, [])), iso(_published(item)[0]))
               for item, topic in record.members]
    d = Digest(day=date.fromisoformat(record.day), title=settings.title, timezone=settings.timezone,
               built_at=record.built_at, cutoff=record.cutoff, groups=_group(entries), failures=record.failures,
               rebuilt=rebuilt, recorded=recorded)
    for topic, es in d.groups:
        d.by_topic[topic] = len(es)
        for e in es:
            key = e.language_name
            d.by_language[key] = d.by_language.get(key, 0) + 1
    return d


def _new_record(db: sqlite_utils.Database, settings: DigestSettings, day: date, now: datetime) -> DigestRecord:
    """What a date's digest takes if it is built now: the frame and the members, not yet recorded."""
    start, end = day_bounds(day, settings.timezone)
    since = store.previous_built_at(db, day) or start - timedelta(days=1)
    failures = [asdict(f) for f in store.fetch_failures(db, since, min(now, end))]
    members = [(item, primary_topic(item.topics, item.hits)) for item in store.digest_candidates(db, end)]
    return DigestRecord(day=day.isoformat(), built_at=now, cutoff=end, timezone=settings.timezone,
                        failures=failures, members=members,
                        reposts={item.id: store.reposts(db, item.id, fetched_before=end) for item, _ in members})


def build(cfg: Config, db: sqlite_utils.Database, day: date, *, now: datetime, dry_run: bool = False) -> Digest:
    """The digest for a local date: recorded on first build, rendered from the record afterwards.

    Rendering a recorded date reads the record and writes nothing. Recording takes one IMMEDIATE
    transaction, so two builders of one date cannot both record it: the second renders the first's."""
    settings = cfg.digest
    # Before day_bounds: at datetime's edges (0001-01-01 in a zone ahead of UTC) it overflows.
    problem = day_problem(day, local_date(now, settings.timezone), what="the digest date", future_ok=True)
    if problem:
        raise UsageError(problem)
    record = store.digest_record(db, day)
    if record is not None:
        return from_record(record, settings, rebuilt=True)
    refuse_future(day, now, settings.timezone)  # a date already built (before this rule) still renders
    if dry_run:
        return from_record(_new_record(db, settings, day, now), settings, rebuilt=False, recorded=False)
    with store.write(db):
        record = store.digest_record(db, day)  # another builder may have come first
        if record is not None:
            return from_record(record, settings, rebuilt=True)
        new = _new_record(db, settings, day, now)
        store.record_digest(db, day, built_at=new.built_at, cutoff=new.cutoff, timezone=new.timezone,
                            failures=new.failures, members=[(item.id, topic) for item, topic in new.members])
    return from_record(new, settings, rebuilt=False)


# ---------------------------------------------------------------- rendering

class MdRaw(str):
    """Markdown the template itself produced (highlight markers); everything else is escaped."""


def _md_finalize(value: object) -> str:
    if isinstance(value, MdRaw):
        return value
    if value is None:
        return ""
    return md_text(display.clean(str(value)))


def _html_finalize(value: object) -> object:
    # Every value a template prints is cleaned for display (display.clean) before autoescape; markup
    # the templates made themselves (macros, sanitised summaries) is already clean.
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return display.clean(value, trim=False)  # pieces of a line (highlighted runs) keep their spaces
    return "" if value is None else value


def _loader() -> jinja2.BaseLoader:
    return jinja2.PackageLoader("watcher", "templates")


_HTML = jinja2.Environment(loader=_loader(), autoescape=True, finalize=_html_finalize,
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
# Markdown has no autoescape of its own; `finalize` escapes every {{ value }} the same way instead.
_MD = jinja2.Environment(loader=_loader(), autoescape=False, finalize=_md_finalize,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_MD.globals["raw"] = MdRaw
for _env in (_HTML, _MD):
    # A fetch error may quote what a server said, at any length.
    _env.filters["error"] = lambda text: display.shorten(text, display.ERROR_CHARS)


def _md_link(url: str | None) -> MdRaw:
    # safe_url() percent-encodes <, >, spaces and quotes; angle brackets then delimit it safely.
    return MdRaw(f"<{url}>") if url else MdRaw("")


_MD.filters["link"] = _md_link
def _md_segments(segs: list[Segment]) -> MdRaw:
    out = []
    for s in segs:
        text = md_inline(display.clean(s.text, trim=False))
        if s.hit and text.strip():
            # CommonMark only emphasises **x** when no space sits just inside the markers.
            lead, core, trail = text[: len(text) - len(text.lstrip())], text.strip(), text[len(text.rstrip()):]
            text = f"{lead}**{core}**{trail}"
        out.append(text)
    return MdRaw("".join(out).strip())


_MD.filters["segments"] = _md_segments


def render_markdown(d: Digest) -> str:
    return _MD.get_template("digest.md.j2").render(d=d)


def render_html(d: Digest, *, fragment: bool = False) -> str:
    return _HTML.get_template("digest.html.j2").render(d=d, fragment=fragment)


# ---------------------------------------------------------------- files

def _write_atomic(path: Path, text: str) -> None:
    """Readers (a feed reader, a mail job) never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_files(cfg: Config, db: sqlite_utils.Database, d: Digest) -> list[Path]:
    out = digests_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    md, html = out / f"{d.day.isoformat()}.md", out / f"{d.day.isoformat()}.html"
    _write_atomic(md, render_markdown(d))
    _write_atomic(html, render_html(d))
    atom = out / "feed.atom"
    _write_atomic(atom, render_atom(cfg, store.recent_digests(db, ATOM_ENTRIES), now=utcnow()))
    return [md, html, atom]


def _feed_uuid(cfg: Config, what: str) -> str:
    # Stable per store and digest, so a feed reader sees a rebuilt digest as the same entry.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"watcher:{cfg.state_dir}:{what}").urn


def render_atom(cfg: Config, records: list[DigestRecord], *, now: datetime) -> str:
    """feed.atom from the latest digest records (newest first), each entry's content the digest's HTML
    (escaped as Atom requires). Pure: `now` is the feed's date only when there is no digest yet."""
    A = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", A)
    feed = ET.Element(f"{{{A}}}feed")
    ET.SubElement(feed, f"{{{A}}}title").text = cfg.digest.title
    ET.SubElement(feed, f"{{{A}}}id").text = _feed_uuid(cfg, "feed")
    ET.SubElement(feed, f"{{{A}}}updated").text = iso(records[0].built_at) if records else iso(now)
    author = ET.SubElement(feed, f"{{{A}}}author")
    ET.SubElement(author, f"{{{A}}}name").text = "watcher"
    ET.SubElement(feed, f"{{{A}}}link", rel="self", href=(digests_dir(cfg) / "feed.atom").as_uri())
    for record in records:
        day_text, built_at = record.day, iso(record.built_at)
        d = from_record(record, cfg.digest, rebuilt=True)
        entry = ET.SubElement(feed, f"{{{A}}}entry")
        ET.SubElement(entry, f"{{{A}}}title").text = d.subject
        ET.SubElement(entry, f"{{{A}}}id").text = _feed_uuid(cfg, f"digest:{day_text}")
        ET.SubElement(entry, f"{{{A}}}updated").text = built_at
        ET.SubElement(entry, f"{{{A}}}link", rel="alternate", type="text/html",
                      href=(digests_dir(cfg) / f"{day_text}.html").as_uri())
        content = ET.SubElement(entry, f"{{{A}}}content", type="html")
        content.text = render_html(d, fragment=True)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


# ---------------------------------------------------------------- the command and the scheduler

@dataclass
class DigestResult:
    digest: Digest
    files: list[Path]
    markdown: str
    html: str
    sent_to: list[str]


def make_digest(cfg: Config, db: sqlite_utils.Database, day: date, *, now: datetime, send: bool = False,
                dry_run: bool = False) -> DigestResult:
    """Build (or rebuild) a date, write its files, and mail it if asked. `watcher digest` and the
    scheduler both call this. dry_run: nothing is recorded, written or sent."""
    d = build(cfg, db, day, now=now, dry_run=dry_run)
    md, html = render_markdown(d), render_html(d)
    if dry_run:
        return DigestResult(d, [], md, html, [])
    files = write_files(cfg, db, d)
    sent_to: list[str] = []
    if send:
        from .mail import send_digest

        sent_to = send_digest(cfg.smtp, subject=d.subject, text=md, html=html)
        store.mark_sent(db, day, now)
    return DigestResult(d, files, md, html, sent_to)
