"""The review queue: list items waiting for a person, record accept/reject/later, load labels back.

An item enters the queue as `new` when it is relevant and not a duplicate (the pipeline sets that).
A decision updates `items.review_status` and appends a row to `reviews` (who, when, note, what it was
before), so the history is never lost and `keywords report` can count accepted and rejected items.

`import_labels` reads a spreadsheet exported with `watcher export` (CSV, or JSON lines) and applies
its `review_status` column. It checks every row first and applies all or nothing, so a typo on row
300 does not leave 299 decisions half-loaded.
"""

from __future__ import annotations

import csv
import getpass
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import store
from .choices import require_known
from .errors import Problem, UsageError

STATUSES = ("new", "accepted", "rejected", "later")
# What a person may type in a spreadsheet cell or on the command line.
_SYNONYMS = {"accept": "accepted", "reject": "rejected", "new": "new", "later": "later",
             "accepted": "accepted", "rejected": "rejected", "yes": "accepted", "no": "rejected"}


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


def status_filter(text: str) -> str | None:
    """--status: a queue status (or what a person types for one: `reject`), or `all` (None)."""
    if text.strip().lower() == "all":
        return None
    status = normalize_status(text)
    if status is None:
        require_known("review status", text, (*STATUSES, "all"), option="--status")
    return status


def stored_values(db: sqlite_utils.Database) -> dict[str, set[str]]:
    """The sources, topics and languages items in the store carry: values a filter can match even
    when the current config or keyword list no longer names them."""
    return {
        "source": {r[0] for r in db.execute("SELECT DISTINCT source FROM items")},
        "topic": {r[0] for r in db.execute(
            "SELECT DISTINCT json_each.value FROM items, json_each(items.topics) WHERE items.topics != '[]'")},
        "language": {r[0] for r in db.execute("SELECT DISTINCT language FROM items WHERE language IS NOT NULL")},
    }


def check_filter(f: QueueFilter, known: dict[str, set[str]]) -> QueueFilter:
    """The filter itself, or UsageError naming the first value that matches nothing that exists.

    `known` maps "source", "topic", "language" to every value that exists (config, keyword list and
    store together): a valid value may still match no queued item, which is an empty list, not an error.
    """
    for kind, value, listed_by in (("source", f.source, "`watcher status`"),
                                   ("topic", f.topic, "the keyword list"),
                                   ("language", f.language, "")):
        if value is not None:
            require_known(kind, value, known.get(kind, set()), option=f"--{kind}", all_listed_by=listed_by)
    return f


def list_queue(db: sqlite_utils.Database, f: QueueFilter, *, limit: int | None = None) -> list[dict]:
    """Queued items matching the filter, newest first."""
    where, args = ["review_status IS NOT NULL"], []
    if f.status:
        where.append("review_status = ?")
        args.append(f.status)
    if f.source:
        where.append("source = ?")
        args.append(f.source)
    if f.language:
        where.append("language = ?")
        args.append(f.language)
    if f.topic:
        where.append("EXISTS (SELECT 1 FROM json_each(items.topics) WHERE json_each.value = ?)")
        args.append(f.topic)
    sql = (f"SELECT id, source, language, published, title, link, topics, keywords, score, review_status "
           f"FROM items WHERE {' AND '.join(where)} ORDER BY published DESC, id DESC")
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = [dict(zip([d[0] for d in cur.description], r)) for cur in [db.execute(sql, args)] for r in cur]
    for r in rows:
        r["topics"] = json.loads(r["topics"] or "[]")
        r["keywords"] = json.loads(r["keywords"] or "[]")
    return rows


def history(db: sqlite_utils.Database, item_id: int) -> list[dict]:
    """Every decision on one item, oldest first (for `watcher show`)."""
    cur = db.execute("SELECT status, previous, who, at, note, origin FROM reviews WHERE item_id = ? ORDER BY id",
                     [item_id])
    return [dict(zip([d[0] for d in cur.description], r)) for r in cur]


@dataclass(frozen=True)
class Decision:
    item_id: int
    status: str
    note: str | None = None
    who: str | None = None  # None: the caller's `who`


def _apply(db: sqlite_utils.Database, decisions: list[Decision], *, who: str, now: datetime,
           origin: str, note_counts: bool) -> int:
    """Record decisions in one transaction; skip those that change nothing. Returns how many changed.

    `note_counts`: a note alone is worth recording (the CLI); for an import it is not, so that loading
    the same spreadsheet twice adds no history.
    """
    changed = 0
    with store.write(db):
        for d in decisions:
            row = db.execute("SELECT review_status FROM items WHERE id = ?", [d.item_id]).fetchone()
            if row is None:  # checked by callers; a concurrent delete is a bug worth a crash
                raise UsageError(f"no item {d.item_id}")
            if row[0] == d.status and not (note_counts and d.note):
                continue
            db.execute("UPDATE items SET review_status = ? WHERE id = ?", [d.status, d.item_id])
            db.execute("INSERT INTO reviews (item_id, status, previous, who, at, note, origin) VALUES (?,?,?,?,?,?,?)",
                       [d.item_id, d.status, row[0], d.who or who, store.iso(now), d.note, origin])
            changed += 1
    return changed


def decide(db: sqlite_utils.Database, ids: list[int], status: str, *, who: str, now: datetime,
           note: str | None = None) -> int:
    """accept / reject / later (or back to new) for these items. Unknown ids: nothing is recorded."""
    if status not in STATUSES:
        raise UsageError(f"unknown review status {status!r}; use one of {', '.join(STATUSES)}")
    ids = list(dict.fromkeys(ids))
    known = {r[0] for r in db.execute(
        f"SELECT id FROM items WHERE id IN ({','.join('?' * len(ids))})", ids)} if ids else set()
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(f"no item with id {', '.join(map(str, missing))}; nothing was recorded. "
                         f"`watcher review list --status all` shows the queue")
    return _apply(db, [Decision(i, status, note) for i in ids], who=who, now=now, origin="cli", note_counts=True)


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


def import_labels(db: sqlite_utils.Database, path: Path, *, who: str, now: datetime) -> tuple[int, int]:
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
    ids = {r[0] for r in db.execute("SELECT id FROM items")}
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
    changed = _apply(db, decisions, who=who, now=now, origin=f"import:{path.name}", note_counts=False)
    return len(decisions), changed
