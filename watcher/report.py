"""What `status`, `show` and `review list` print: data gathered from the store, and the pure
formatting of feed text for a terminal (cleaned and bounded by watcher/display.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlite_utils

from . import display, store
from .config import Config
from .errors import UsageError
from .review import history as review_history
from .times import iso


@dataclass
class SourceStatus:
    name: str
    enabled: bool
    last_success: str | None
    last_attempt: str | None
    last_error: str | None
    last_error_kind: str | None
    failures: int
    next_check: str | None
    hold_until: str | None
    items: int
    permanent_redirect: str | None
    disabled_reason: str | None
    deferred: str | None = None  # why the last poll did not get to it; not a failure
    backfilled: str | None = None  # the latest backfill: "2026-11-21T05:20:00Z complete 2026-10-01..2026-10-31"


def source_status(cfg: Config, db: sqlite_utils.Database) -> list[SourceStatus]:
    from .backfill.ledger import last_backfilled

    counts = store.counts_by_source(db)
    backfills = last_backfilled(db)
    states = store.source_states(db)
    out = []
    for s in cfg.sources:
        st = states.get(s.name)
        out.append(SourceStatus(
            name=s.name, enabled=s.enabled and not (st and st.disabled_reason),
            last_success=iso(st.last_success) if st and st.last_success else None,
            last_attempt=iso(st.last_attempt) if st and st.last_attempt else None,
            last_error=st.last_error if st else None, last_error_kind=st.last_error_kind if st else None,
            failures=st.consecutive_failures if st else 0,
            next_check=iso(st.next_check) if st and st.next_check else None,
            hold_until=iso(st.hold_until) if st and st.hold_until else None, items=counts.get(s.name, 0),
            permanent_redirect=st.permanent_redirect if st else None,
            disabled_reason=st.disabled_reason if st else None, deferred=st.deferred if st else None,
            backfilled=_backfilled(backfills.get(s.name)),
        ))
    return out


def _backfilled(run: tuple[str, str, str, str] | None) -> str | None:
    if run is None:
        return None
    at, status, since, until = run
    return f"{at.replace('+00:00', 'Z')} {status} {since}..{until}"


def item_detail(db: sqlite_utils.Database, item_id: int) -> dict:
    """One item with everything needed to say why it was kept and whether it repeats something."""
    item = store.get_item(db, item_id)
    if item is None:
        raise UsageError(f"no item with id {item_id}; `watcher export` or `watcher review list` shows ids")
    out = asdict(item)
    for k in ("published", "fetched_at", "last_seen", "updated_at"):
        out[k] = iso(out[k]) if out[k] is not None else None
    out["relevant"], out["published_is_fetch_time"] = int(item.relevant), int(item.published_is_fetch_time)
    out["dup_possible"] = int(item.dup_possible)
    out["versions"] = [asdict(v) for v in store.versions(db, item_id)]
    out["also_in"] = [asdict(r) for r in store.reposts(db, item_id)]
    out["reviews"] = review_history(db, item_id)
    return out


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """The matched text with some context, the match marked [like this], cleaned for display and cut
    between grapheme clusters (a Vietnamese letter keeps its marks). A wildcard term can match a
    huge unbroken token, so the match itself is bounded too."""
    a = display.boundary(text, max(0, start - width))
    b = display.boundary(text, min(len(text), end + width))
    pre = ("…" if a > 0 else "") + display.clean(text[a:start], trim=False)
    hit = display.shorten(text[start:end], 2 * width)
    post = display.clean(text[end:b], trim=False) + ("…" if b < len(text) else "")
    return " ".join(f"{pre}[{hit}]{post}".split())


def hit_points(hit: dict) -> str:
    """What one hit added to the score, and how, so the figures `show` prints add up to the score.

    A term counts once per topic, however often it occurs, times title_weight when it occurs in the
    title (see watcher/match.py); the matcher records that as `points` on the term's first hit.
    Items scored before it did carry only the rule's weight.
    """
    weight = float(hit.get("weight") or 0)
    if "points" not in hit:
        return f"weight {weight:g}"
    points = float(hit["points"])
    if points == 0:
        return "+0: counted once, above"
    if weight and abs(points - weight) > 1e-9:
        return f"+{points:g} = weight {weight:g} × title_weight {points / weight:g}"
    return f"+{points:g}"


def queue_lines(rows: list[dict], width: int | None) -> list[str]:
    """The `review list` table, one line per item. Columns are as wide as their content: source
    names and topics are never cut, because a person types them back (`--source`, `--topic`). The
    title takes what is left of `width` (the terminal's columns; None when piped: titles are then
    only capped), or goes on a line of its own when the names leave too little room."""
    cols = []
    for r in rows:
        cols.append((str(r["id"]), r["review_status"] or "-", (r["published"] or "")[:16],
                     display.clean(r["source"]), display.shorten(r["language"], 35) or "-",
                     ",".join(display.clean(t) for t in r["topics"]) or "-",
                     display.shorten(r["title"], display.TITLE_CHARS) or "(no title)"))
    if not cols:
        return []
    widths = [max(display.cells(c[i]) for c in cols) for i in range(6)]
    lines = []
    for c in cols:
        head = "  ".join([c[0].rjust(widths[0])] + [display.pad(v, w) for v, w in zip(c[1:6], widths[1:6])])
        title = c[6]
        if width is None:
            lines.append(f"{head}  {title}")
            continue
        room = width - display.cells(head) - 2
        if room >= 24:
            lines.append(f"{head}  {display.fit(title, room)}")
        else:
            lines.append(head.rstrip())
            lines.append("    " + (display.fit(title, width - 4) if width - 4 >= 24 else title))
    return lines
