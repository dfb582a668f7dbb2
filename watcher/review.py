"""The review queue: who is in it (`review_status_after`), list it, record accept/reject/later, load
labels back.

An item enters the queue as `new` when it is relevant and not a duplicate: every path that changes
an item's match or dedup decision (poll, rematch, dedup --recheck) asks `review_status_after`. A
decision is a store.ItemChange with a review: the item's review_status changes and its history gets a
row (who, when, note, what it was before), so nothing is lost and `keywords report` can count
accepted and rejected items.

`import_labels` reads a spreadsheet exported with `watcher export` (CSV, or JSON lines) and applies
its `review_status` column. It checks every row first and applies all or nothing, so a typo on row
300 does not leave 299 decisions half-loaded.
"""

from __future__ import annotations

import csv
import getpass
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import store
from .errors import Problem, UsageError

STATUSES = ("new", "accepted", "rejected", "later")
# What a person may type in a spreadsheet cell or on the command line.
_SYNONYMS = {"accept": "accepted", "reject": "rejected", "new": "new", "later": "later",
             "accepted": "accepted", "rejected": "rejected", "yes": "accepted", "no": "rejected"}


def review_status_after(old_status: str | None, relevant: bool, duplicate_of: str | None) -> str | None:
    """The review_status an item should have after (re)matching or dedup.

    An item joins the review queue ('new') when it is relevant and repeats nothing, unless a person
    has already decided on it. An item that no longer qualifies leaves the queue only if nobody has
    looked at it yet ('new' -> None); accepted, rejected and later are human decisions and stay.
    """
    queued = relevant and duplicate_of is None
    if queued and old_status is None:
        return "new"
    if not queued and old_status == "new":
        return None
    return old_status


def normalize_status(text: str) -> str | None:
    return _SYNONYMS.get(text.strip().lower())


def default_who() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


@dataclass(frozen=True)
class QueueFilter:
    topic: str | None = None
    source: str | None = None
    language: str | None = None
    status: str | None = "new"  # None: every queued item, whatever its status


def list_queue(db: sqlite_utils.Database, f: QueueFilter, *, limit: int | None = None) -> list[dict]:
    """Queued items matching the filter, newest first."""
    return [{"id": i.id, "source": i.source, "language": i.language, "published": store.iso(i.published),
             "title": i.title, "link": i.link, "topics": i.topics, "keywords": i.keywords, "score": i.score,
             "review_status": i.review_status}
            for i in store.queue(db, status=f.status, source=f.source, language=f.language, topic=f.topic,
                                 limit=limit)]


def history(db: sqlite_utils.Database, item_id: int) -> list[dict]:
    """Every decision on one item, oldest first (for `watcher show`)."""
    return [asdict(e) for e in store.review_history(db, item_id)]


@dataclass(frozen=True)
class Decision:
    item_id: int
    status: str
    note: str | None = None
    who: str | None = None  # None: the caller's `who`


def _apply(db: sqlite_utils.Database, decisions: list[Decision], *, who: str, now: datetime,
           origin: str, note_counts: bool, dry_run: bool = False) -> int:
    """Record decisions in one transaction; skip those that change nothing. Returns how many changed.

    `note_counts`: a note alone is worth recording (the CLI); for an import it is not, so that loading
    the same spreadsheet twice adds no history.
    """
    changes: list[store.Change] = []
    with store.write(db, dry_run=dry_run):
        for d in decisions:
            item = store.get_item(db, d.item_id)
            if item is None:  # checked by callers; a concurrent delete is a bug worth a crash
                raise UsageError(f"no item {d.item_id}")
            if item.review_status == d.status and not (note_counts and d.note):
                continue
            changes.append(store.ItemChange(d.item_id, review_status=d.status,
                                            review=store.Review(who=d.who or who, at=now, note=d.note, origin=origin),
                                            previous_review_status=item.review_status))
        store.apply(db, changes)
    return len(changes)


def decide(db: sqlite_utils.Database, ids: list[int], status: str, *, who: str, now: datetime,
           note: str | None = None, dry_run: bool = False) -> int:
    """accept / reject / later (or back to new) for these items. Unknown ids: nothing is recorded."""
    if status not in STATUSES:
        raise UsageError(f"unknown review status {status!r}; use one of {', '.join(STATUSES)}")
    ids = list(dict.fromkeys(ids))
    known = store.item_ids(db, ids) if ids else set()
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(f"no item with id {', '.join(map(str, missing))}; nothing was recorded. "
                         f"`watcher review list --status all` shows the queue")
    return _apply(db, [Decision(i, status, note) for i in ids], who=who, now=now, origin="cli", note_counts=True,
                  dry_run=dry_run)


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, row) for each data row of a CSV or JSON-lines file."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets like to add a BOM
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read it ({e}); save it as UTF-8 CSV or JSON lines") from e
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{n}: not a JSON object ({e.msg}); one object per line") from e
            if not isinstance(obj, dict):
                raise UsageError(f"{path}:{n}: not a JSON object; one object per line")
            rows.append((n, obj))
        return rows
    reader = csv.DictReader(text.splitlines())
    # reader.line_num counts physical lines, which is what a spreadsheet user sees.
    return [(reader.line_num, row) for row in reader]


def import_labels(db: sqlite_utils.Database, path: Path, *, who: str, now: datetime,
                  dry_run: bool = False) -> tuple[int, int]:
    """Load `review_status` (and `note`, `who` if present) per `id` from FILE. Returns (rows, changed).

    Blank status cells are skipped (not yet labelled). Any bad row stops the import before anything
    is written, with every problem listed by file and line.
    """
    path = Path(path)
    rows = _read_rows(path)
    if rows and "id" not in rows[0][1]:
        raise UsageError(f"{path}: no `id` column; start from `watcher export` so each row names its item")
    problems: list[Problem] = []
    decisions: list[Decision] = []
    ids = store.item_ids(db)
    for line, row in rows:
        raw = row.get("review_status", row.get("status"))
        raw = "" if raw is None else str(raw)
        if not raw.strip():
            continue
        status = normalize_status(raw)
        try:
            item_id = int(str(row.get("id", "")).strip())
        except ValueError:
            problems.append(Problem(str(path), line, f"id {row.get('id')!r} is not a whole number"))
            continue
        if status is None:
            problems.append(Problem(str(path), line, f"review_status {raw!r} is not one of {', '.join(STATUSES)}"))
        elif item_id not in ids:
            problems.append(Problem(str(path), line, f"no item with id {item_id} in this store"))
        else:
            note = (str(row.get("note") or row.get("review_note") or "").strip()) or None
            who_cell = str(row.get("who") or row.get("reviewer") or "").strip() or None
            decisions.append(Decision(item_id, status, note, who_cell))
    if problems:
        n = len(problems)
        raise UsageError(f"{n} problem{'s' if n != 1 else ''} in {path}; nothing was imported:\n"
                         + "\n".join(str(p) for p in problems))
    changed = _apply(db, decisions, who=who, now=now, origin=f"import:{path.name}", note_counts=False,
                     dry_run=dry_run)
    return len(decisions), changed
