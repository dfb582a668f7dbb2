"""The review page: a Starlette app over the same store and config as the CLI.

Pages: the queue (start page), an item, sources, digests, tuning. Decisions go through
watcher.review.decide, the same code as `watcher review accept|reject|later`, with origin "web" and
who = the config's `reviewer`, else the OS user. Everything else reuses the functions behind the CLI
(report.item_detail, report.source_status, tuning.term_report / trial, digest.build --dry-run); the
few reads of its own are in queries.py (watcher/store/review_page.py). Handlers are async and use one connection on the event loop:
one analyst, short queries, and SQLite's own locking against `watcher run` in another process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import jinja2
import sqlite_utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import digest, display, report, review, store, tuning
from ..backfill import coverage
from ..backfill.ledger import last_backfilled
from ..config import LANGUAGES, Config
from ..errors import ConfigError, StoreReadOnlyError, UsageError, WatcherError
from ..fulltext.explain import text_origin
from ..keywords import check_keywords
from ..match import Matcher
from . import queries, security, views

HERE = Path(__file__).parent
TRIAL_SHOWN = 50  # items listed per change on the tuning page
DIGEST_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # a built digest carries its own inline style
_DIGEST_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.html$")


class ItemId(Convertor[int]):
    """An item id in a path: at most 18 digits, so below SQLite's 64-bit INTEGER. Starlette's `int`
    takes any length, and /items/99999999999999999999 then raised OverflowError inside sqlite3 (a 500);
    now it simply matches no route (404), like any other id the store does not have."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("item_id", ItemId())


def reviewer(cfg: Config) -> str:
    return cfg.reviewer or review.default_who()


def _finalize(value: object) -> object:
    return digest._html_finalize(value)


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         finalize=_finalize, undefined=jinja2.StrictUndefined, trim_blocks=True,
                         lstrip_blocks=True)
ENV.filters["error"] = lambda text: display.shorten(text, display.ERROR_CHARS)
ENV.filters["short"] = lambda ts: (ts or "-").replace("+00:00", "Z")


@dataclass
class State:
    cfg: Config
    db: sqlite_utils.Database
    _matcher: tuple[float, Matcher] | None = None
    _topics: tuple[float, frozenset[str]] | None = None
    stored: dict[str, set[str]] = field(default_factory=dict)

    def _mtime(self) -> float:
        try:
            return self.cfg.keywords_path.stat().st_mtime
        except OSError:
            return -1.0

    def matcher(self) -> Matcher:
        """The keyword list, compiled again only when the file changed (the analyst is tuning it)."""
        m = self._mtime()
        if self._matcher is None or self._matcher[0] != m:
            self._matcher = (m, Matcher.load(self.cfg.keywords_path))
        return self._matcher[1]

    def topics(self) -> frozenset[str]:
        """The keyword list's topics; a broken list still names them (`watcher check` says what is wrong)."""
        m = self._mtime()
        if self._topics is None or self._topics[0] != m:
            kl = check_keywords(self.cfg.keywords_path)[0] if m >= 0 else None
            self._topics = (m, frozenset(kl.topics) if kl is not None else frozenset())
        return self._topics[1]

    def known(self, f: review.QueueFilter) -> dict[str, set[str]]:
        """What a filter may name, as `watcher review list` allows. The store's own values are read only
        when a filter names something the config and keyword list do not (a topic since dropped)."""
        known = {"source": {s.name for s in self.cfg.sources}, "language": set(LANGUAGES),
                 "topic": set(self.topics())}
        asked = {"source": f.source, "language": f.language, "topic": f.topic}
        if any(v is not None and v not in known[k] for k, v in asked.items()):
            for k, values in review.stored_values(self.db).items():
                known[k] |= values
        return known


def _state(request: Request) -> State:
    return request.app.state.watcher


def _page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    st = _state(request)
    html = ENV.get_template(template).render(
        csrf_token=request.scope["state"]["csrf_token"], reviewer=reviewer(st.cfg), path=request.url.path,
        **context)
    return HTMLResponse(html, status_code=status)


# ----------------------------------------------------------------------------------------- queue

def _query(st: State, params) -> queries.QueueQuery:
    """The queue filter from the query string; UsageError or ValueError when a value is wrong."""
    def value(name: str) -> str | None:
        v = (params.get(name) or "").strip()
        return v or None

    f = review.QueueFilter(topic=value("topic"), source=value("source"), language=value("language"),
                           status=review.status_filter(value("status") or "new"))
    if f.topic or f.source or f.language:
        f = review.check_filter(f, st.known(f))
    origin = value("origin")
    if origin is not None and origin not in queries.ORIGINS:
        raise UsageError(f"origin {origin!r}: use {' or '.join(queries.ORIGINS)}")
    return queries.QueueQuery(filter=f, since=views.parse_day(value("since"), "from"),
                              until=views.parse_day(value("until"), "to"),
                              origin=queries.ORIGINS.get(origin or ""), before=views.parse_cursor(value("before")))


async def queue(request: Request) -> HTMLResponse:
    st = _state(request)
    params = request.query_params
    error, rows, count, q = None, [], 0, None
    try:
        q = _query(st, params)
    except (UsageError, ValueError) as e:
        error = str(e).replace("--", "")
    if q is not None:
        rows = [views.queue_row(r, st.cfg.digest.timezone) for r in queries.queue_page(st.db, q)]
        count = queries.queue_count(st.db, q)
    form = {k: params.get(k, "") for k in ("topic", "source", "language", "status", "since", "until", "origin")}
    form["status"] = form["status"] or "new"
    more = None
    if rows and len(rows) == queries.PAGE_SIZE:
        more = urlencode({**{k: v for k, v in form.items() if v}, "before": rows[-1].cursor})
    return _page(request, "queue.html.j2", status=400 if error else 200, rows=rows, error=error, form=form,
                 count=count, cap=queries.COUNT_CAP, more=more, paged=bool(params.get("before")),
                 sources=sorted(s.name for s in st.cfg.sources), topics=sorted(st.topics()),
                 languages=LANGUAGES, statuses=(*review.STATUSES, "all"), origins=tuple(queries.ORIGINS))


async def decide(request: Request) -> HTMLResponse:
    """One decision on one item; answers with the item's row, which the page swaps in place."""
    st = _state(request)
    item_id = request.path_params["item_id"]
    body = parse_qs((await request.body()).decode("utf-8", "replace"))
    status = review.normalize_status((body.get("status") or [""])[0])
    if status is None:
        return HTMLResponse(f"unknown decision; use one of {', '.join(review.STATUSES)}", status_code=400)
    note = (body.get("note") or [""])[0].strip() or None
    try:
        review.decide(st.db, [item_id], status, who=reviewer(st.cfg), now=store.utcnow(), note=note, origin="web")
    except UsageError as e:
        return HTMLResponse(str(e), status_code=404)
    except StoreReadOnlyError as e:
        # `serve` over a backup or a read-only folder shows the store; a decision cannot be kept there.
        return HTMLResponse(f"not saved: {e}", status_code=409)
    row = queries.queue_row(st.db, item_id)
    assert row is not None  # review.decide found the item just now
    return _page(request, "row.html.j2", r=views.queue_row(row, st.cfg.digest.timezone))


# ------------------------------------------------------------------------------------------ item

def _context_segments(text: str, start: int, end: int, width: int = 80) -> list[digest.Segment]:
    lo = display.boundary(text, max(0, start - width))
    hi = display.boundary(text, min(len(text), end + width))
    segs = digest.shown(digest.segments(text, [(start, end)], lo, hi), 2 * width + (end - start))
    return ([digest.Segment("…", False)] if lo > 0 else []) + segs + \
        ([digest.Segment("…", False)] if hi < len(text) else [])


def _whole(item: dict) -> str:
    return "\n".join(t for t in (item.get("title"), item.get("summary"), item.get("content")) if t)


def _original(st: State, duplicate_of: str | None) -> dict | None:
    """The text a duplicate repeats: another item, or a seed file (by name, inside the seeds folder)."""
    if not duplicate_of:
        return None
    kind, _, ref = duplicate_of.partition(":")
    if kind == "item" and ref.isdigit():
        other = queries.item_text(st.db, int(ref))
        if other:
            return {"label": f"item {other['id']} ({display.clean(other['source'])})", "href": f"/items/{other['id']}",
                    "text": _whole(other), "language": display.shorten(other["language"], 35),
                    "direction": views.direction(other["language"])}
    if kind == "seed":
        seeds = st.cfg.seeds_dir.resolve()
        path = (seeds / ref).resolve()
        if path.parent == seeds and path.is_file():
            return {"label": f"seed {ref}", "href": None, "text": path.read_text(encoding="utf-8", errors="replace"),
                    "language": "", "direction": "auto"}  # a seed's language is not recorded: lang="" (unknown)
    return None


async def item_page(request: Request) -> HTMLResponse:
    st = _state(request)
    item_id = request.path_params["item_id"]
    try:
        item = report.item_detail(st.db, item_id)
    except UsageError as e:
        return _page(request, "error.html.j2", status=404, title="No such item", message=str(e))
    tz = st.cfg.digest.timezone
    try:
        kl = st.matcher().list
        threshold, title_weight = kl.threshold, kl.title_weight
    except WatcherError:
        threshold = title_weight = None  # type: ignore[assignment]  # shown as unknown
    # As `watcher show`: a hit in `content` is in the article page's text when that is where it came from.
    page_text = item.get("content_source") == "page"
    hits = [{"topic": display.clean(h.get("topic")), "term": display.clean(h.get("term")),
             "field": "page" if h.get("field") == "content" and page_text else h.get("field"),
             "points": report.hit_points(h),
             "context": _context_segments(item.get(h.get("field")) or "", h["start"], h["end"])}
            for h in item["hits"] if isinstance(h, dict) and isinstance(h.get("start"), int)]
    original = _original(st, item["duplicate_of"])
    passages = views.shared_passages(_whole(item), original["text"]) if original else None
    olds = queries.versions(st.db, item_id)
    texts = [(v["version"], v["replaced_at"], _whole(v)) for v in olds] + [(item["version"], None, _whole(item))]
    diffs = [{"from": a[0], "to": b[0], "replaced_at": a[1], "lines": views.text_diff(a[2], b[2])}
             for a, b in zip(texts, texts[1:])]
    found = queries.queue_row(st.db, item_id)
    assert found is not None  # the item was read above
    row = views.queue_row(found, tz)
    return _page(request, "item.html.j2", item=item, r=row, hits=hits, threshold=threshold,
                 title_weight=title_weight, original=original, passages=passages, diffs=diffs,
                 link=display.url(item["link"]), direction=views.direction(item["language"]),
                 summary_html=display.html_excerpt(item["summary_html"], display.SUMMARY_CHARS * 4),
                 also_in=[{**a, "source": display.clean(a.get("source")), "link": display.url(a.get("link")),
                           "language": display.shorten(a.get("language"), 35), "direction": views.direction(a.get("language")),
                           "title": display.shorten(a.get("title"), display.TITLE_CHARS)} for a in item["also_in"]],
                 reviews=item["reviews"], published=views.local_time(item["published"], tz), tz=tz,
                 date_remark=report.date_remark(item), text_origin=text_origin(item),
                 backfilled=item.get("origin") == "backfill")


# --------------------------------------------------------------------------------------- sources

async def sources_page(request: Request) -> HTMLResponse:
    st = _state(request)
    now = store.utcnow()
    today = now.date()
    per_day = queries.items_per_day(st.db, today - timedelta(days=29))
    rows = []
    for s in report.source_status(st.cfg, st.db):
        state = report.source_state(s)
        rows.append({"s": s, "state": state, "bars": views.bars(per_day.get(s.name, {}), today),
                     "last30": sum(per_day.get(s.name, {}).values())})
    # Coverage as `watcher coverage` computes it, for the sources a backfill has run for (none: no section).
    backfilled = [s.name for s in st.cfg.sources if s.name in last_backfilled(st.db)]
    cov = coverage.compute(st.db, backfilled, None, None, now) if backfilled else None
    return _page(request, "sources.html.j2", rows=rows, config=st.cfg.path.name, coverage=cov,
                 run_line=coverage.run_line, legend=coverage.LEGEND.format(unit=cov.unit) if cov else "")


# --------------------------------------------------------------------------------------- digests

async def digests_page(request: Request) -> HTMLResponse:
    st = _state(request)
    folder = digest.digests_dir(st.cfg)
    days = sorted((m.group(1) for p in (folder.glob("*.html") if folder.is_dir() else [])
                   if (m := _DIGEST_NAME.match(p.name))), reverse=True)
    now = store.utcnow()
    today = digest.local_date(now, st.cfg.digest.timezone)
    preview = None
    if today.isoformat() not in days:
        # What today's digest would hold if built now; records nothing.
        preview = digest.render_html(digest.build(st.cfg, st.db, today, now=now, dry_run=True), fragment=True)
    return _page(request, "digests.html.j2", days=days, today=today.isoformat(), preview=preview)


async def digest_file(request: Request) -> Response:
    st = _state(request)
    m = _DIGEST_NAME.match(request.path_params["name"])
    path = digest.digests_dir(st.cfg) / request.path_params["name"]
    if m is None or not path.is_file():
        return _page(request, "error.html.j2", status=404, title="No such digest",
                     message="no digest by that name; the Digests page lists them")
    return HTMLResponse(path.read_text(encoding="utf-8"), headers={"content-security-policy": DIGEST_CSP})


# ---------------------------------------------------------------------------------------- tuning

def _trial_rows(pairs, focus: set[str] | None) -> list[dict]:
    out = []
    for r, res in pairs[:TRIAL_SHOWN]:
        hit = next((h for h in res.hits if focus is None or h.term in focus), None)
        text = {"title": r.title, "summary": r.summary, "content": r.content}[hit.field] if hit else ""
        out.append({"id": r.id, "published": r.published[:10], "score": res.score, "field": hit.field if hit else "",
                    "title": display.shorten(r.title, display.TITLE_CHARS) or "(no title)",
                    "direction": views.direction(r.language), "language": display.shorten(r.language, 35),
                    "context": _context_segments(text, hit.start, hit.end) if hit else []})
    return out


async def tuning_page(request: Request) -> HTMLResponse:
    st = _state(request)
    p = request.query_params
    term, lang, weight_text = (p.get("term") or "").strip(), p.get("lang") or "any", (p.get("weight") or "").strip()
    error = trial = None
    try:
        m = st.matcher()
    except WatcherError as e:
        return _page(request, "error.html.j2", status=500, title="The keyword list is broken", message=str(e))
    rows = list(tuning.stored_rows(st.db))
    used, never = tuning.term_report(m, rows)
    if term:
        try:
            if lang not in ("any", *LANGUAGES):
                raise UsageError(f"language {lang!r}: use one of any, {', '.join(LANGUAGES)}")
            weight = float(weight_text) if weight_text else None
            t = tuning.trial(m, Matcher.from_list(tuning.with_term(m.list, term, lang, weight)), rows)
            trial = {"added": _trial_rows(t.added, {term}), "dropped": _trial_rows(t.dropped, None),
                     "n_added": len(t.added), "n_dropped": len(t.dropped), "kept": t.kept}
        except (ConfigError, UsageError) as e:
            error = str(e)
        except ValueError:
            error = f"weight {weight_text!r} is not a number"
    return _page(request, "tuning.html.j2", used=used, never=never, term=term, lang=lang, weight=weight_text,
                 languages=("any", *LANGUAGES), trial=trial, error=error, shown=TRIAL_SHOWN,
                 list_path=str(st.cfg.keywords_path), threshold=m.list.threshold)


# ------------------------------------------------------------------------------------------- app

def create_app(cfg: Config, *, host: str = "127.0.0.1", port: int = 8700,
               db: sqlite_utils.Database | None = None, tokens: security.Tokens | None = None):
    """The ASGI app: the routes inside the security guard (Host, Origin, CSRF, CSP)."""
    app = Starlette(routes=[
        Route("/", queue),
        Route("/items/{item_id:item_id}", item_page),
        Route("/items/{item_id:item_id}/decide", decide, methods=["POST"]),
        Route("/sources", sources_page),
        Route("/digests", digests_page),
        Route("/digests/{name}", digest_file),
        Route("/tuning", tuning_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ])
    app.state.watcher = State(cfg=cfg, db=db if db is not None else store.connect(cfg.db_path))
    return security.Guard(app, allowed=security.allowed_hosts(host, port), tokens=tokens or security.Tokens.new())
