"""The review queue: who is in it (`review_status_after`), list it, record accept/reject/later, load
labels back.

An item enters the queue as `new` when it is relevant and not a duplicate: every path that changes
an item's match or dedup decision (poll, rematch, dedup --recheck) asks `review_status_after`. A
decision is a store.ItemChange with a review: the item's review_status changes and its history gets a
row (who, when, note, what it was before), so nothing is lost and `keywords report` can count
accepted and rejected items. Decisions and imports take `dry_run` (done, then rolled back).

`import_labels` reads a spreadsheet exported with `watcher export` (CSV, or JSON lines) and applies
its `review_status` column. It checks every row first and applies nothing if one is bad, so a typo on
row 300 does not leave 299 decisions half-loaded. The export's `review_version` column (how many
decisions the item had then) tells which rows the analyst changed, and which would overwrite a
decision made after the export: those are conflicts, skipped and reported, never applied.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import store
from .choices import require_known
from .errors import Problem, UsageError

STATUSES = ("new", "accepted", "rejected", "later")
VERSION_COLUMN = "review_version"  # in `watcher export`: how many decisions the item had then
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
    return store.stored_values(db)


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
           note: str | None = None, origin: str = "cli", dry_run: bool = False) -> int:
    """accept / reject / later (or back to new) for these items. Unknown ids: nothing is recorded.
    `origin` says where the decision was made: cli, or web (the review page)."""
    if status not in STATUSES:
        raise UsageError(f"unknown review status {status!r}; use one of {', '.join(STATUSES)}")
    ids = list(dict.fromkeys(ids))
    known = store.item_ids(db, ids) if ids else set()
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(f"no item with id {', '.join(map(str, missing))}; nothing was recorded. "
                         f"`watcher review list --status all` shows the queue")
    return _apply(db, [Decision(i, status, note) for i in ids], who=who, now=now, origin=origin, note_counts=True,
                  dry_run=dry_run)


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """The column names, and (line number, row) for each data row of a CSV or JSON-lines file.

    A CSV row's line is the physical line it starts on: a summary with paragraphs spans several.
    """
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
        return list(dict.fromkeys(k for _, r in rows for k in r)), rows
    # `watcher export` writes every field whole (a 1 MB title too), and the csv module refuses fields over
    # 128 KiB by default, so the file export wrote could not be imported. No field can be longer than
    # the file, so that bound admits every real file and still stops nothing but a malformed one.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, end = [], 0
    try:
        header = [h.strip() for h in next(reader, [])]
        end = reader.line_num
        for record in reader:
            start, end = end + 1, reader.line_num
            if any(cell.strip() for cell in record):
                rows.append((start, dict(zip(header, record))))
    except csv.Error as e:
        raise UsageError(f"{path}:{end + 1}: not readable as CSV ({e}); export it again, or fix that row "
                         f"(nothing was imported)") from e
    return header, rows


@dataclass(frozen=True)
class Label:
    """One labelled row of a file: what the analyst says about an item."""

    line: int
    item_id: int
    status: str
    version: int | None  # decisions the item had when the file was exported; None: the file does not say
    note: str | None = None
    who: str | None = None


@dataclass(frozen=True)
class ItemReviews:
    """An item's review status now, and its decisions, oldest first."""

    status: str | None
    decisions: tuple[store.ReviewEvent, ...] = ()


@dataclass(frozen=True)
class Conflict:
    """A labelled row that would overwrite a decision the file may not have known about: skipped."""

    line: int
    item_id: int
    wanted: str
    current: str | None
    last: store.ReviewEvent | None
    why: str

    def describe(self, path: Path) -> str:
        if self.last is not None:
            by = f"set by {self.last.who} at {self.last.at.replace('+00:00', 'Z')} via {self.last.origin}"
        else:
            by = "no decision recorded"
        verb = {"accepted": "accept", "rejected": "reject", "later": "later"}.get(self.wanted)
        fix = (f"`watcher review {verb} {self.item_id}` overrules it" if verb
               else "export again and label it there")
        return (f"{path}:{self.line}: item {self.item_id}: kept {self.current or 'unqueued'} ({by}), "
                f"not {self.wanted}: {self.why}; {fix}")


UNCHANGED = "unchanged"  # the cell holds what was exported: the analyst decided nothing
SAME = "same"  # the item already has that status
APPLY = "apply"


def judge(label: Label, item: ItemReviews) -> str | Conflict:
    """What to do with one labelled row, given the item's decisions now. Pure.

    A row is a decision only when its status differs from the one the item had when the file was
    exported (the export pre-fills every row). A decision is applied only when no other decision
    came after the export; otherwise it is a Conflict, so an older file never silently wins.
    """
    n = len(item.decisions)
    last = item.decisions[-1] if n else None

    def conflict(why: str) -> Conflict:
        return Conflict(label.line, label.item_id, label.status, item.status, last, why)

    if label.version is None:
        # A file without review_version (an older export, or a spreadsheet that dropped the column)
        # cannot say what it was exported with or when. A `new` may just be the export's pre-fill;
        # any other status is applied only to an item nobody has decided on yet.
        if label.status == "new":
            return UNCHANGED
        if label.status == item.status:
            return SAME
        if n == 0:
            return APPLY
        return conflict("this row has no review_version (an older export, or a spreadsheet dropped the "
                        "column), so it may predate that decision")
    if label.version > n:
        if label.status == item.status:
            return SAME
        return conflict(f"the file counts {label.version} decisions on this item but the store has {n} "
                        f"(a file from another store, or a store restored from a backup?)")
    exported = item.decisions[label.version - 1].status if label.version else "new"
    if label.status == exported:
        return UNCHANGED
    if label.status == item.status:
        return SAME
    if label.version < n:
        return conflict("that decision was made after this file was exported")
    return APPLY


@dataclass(frozen=True)
class ImportResult:
    rows: int  # labelled rows (a status in the cell)
    changed: int  # decisions recorded
    conflicts: tuple[Conflict, ...]

    @property
    def unchanged(self) -> int:
        return self.rows - self.changed - len(self.conflicts)


def _version(raw: object) -> int:
    """A review_version cell: a whole number >= 0 (a spreadsheet may have written 2 as 2.0)."""
    number = float(str(raw).strip())
    if not number.is_integer() or number < 0:
        raise ValueError(raw)
    return int(number)


def _parse_labels(path: Path, rows: list[tuple[int, dict]], ids: set[int]) -> tuple[list[Label], list[Problem]]:
    """Every labelled row as a Label, and every bad row as a Problem. Pure."""
    problems: list[Problem] = []
    labels: list[Label] = []
    first: dict[int, Label] = {}
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
        version_cell = row.get(VERSION_COLUMN)
        version = None
        if version_cell is not None and str(version_cell).strip():
            try:
                version = _version(version_cell)
            except ValueError:
                problems.append(Problem(str(path), line, f"{VERSION_COLUMN} {version_cell!r} is not a whole "
                                                         f"number; leave the column as `watcher export` wrote it"))
                continue
        if status is None:
            problems.append(Problem(str(path), line, f"review_status {raw!r} is not one of {', '.join(STATUSES)}"))
        elif item_id not in ids:
            problems.append(Problem(str(path), line, f"no item with id {item_id} in this store"))
        else:
            note = (str(row.get("note") or row.get("review_note") or "").strip()) or None
            who_cell = str(row.get("who") or row.get("reviewer") or "").strip() or None
            label = Label(line, item_id, status, version, note, who_cell)
            seen = first.setdefault(item_id, label)
            if seen.status != status:
                problems.append(Problem(str(path), line, f"item {item_id} is labelled {status} here but "
                                                         f"{seen.status} on line {seen.line}; keep one row"))
                continue
            labels.append(label)
    return labels, problems


def _item_reviews(db: sqlite_utils.Database, ids: list[int]) -> dict[int, ItemReviews]:
    return {item_id: ItemReviews(status, tuple(events))
            for item_id, (status, events) in store.review_states(db, ids).items()}


def import_labels(db: sqlite_utils.Database, path: Path, *, who: str, now: datetime,
                  dry_run: bool = False) -> ImportResult:
    """Load `review_status` (and `note`, `who` if present) per `id` from FILE.

    Blank status cells are skipped (not yet labelled), and so are cells still holding the status the
    item was exported with. Any bad row stops the import before anything is written, with every
    problem listed by file and line. A row that would overwrite a decision made after the file was
    exported (by `review_version`) is a Conflict: skipped and returned, while the other rows are
    recorded. Judging and recording happen in one transaction, so a decision made meanwhile counts.
    """
    path = Path(path)
    header, rows = _read_rows(path)
    if rows and "id" not in header:
        raise UsageError(f"{path}: no `id` column; start from `watcher export` so each row names its item")
    ids = store.item_ids(db)
    labels, problems = _parse_labels(path, rows, ids)
    if problems:
        n = len(problems)
        raise UsageError(f"{n} problem{'s' if n != 1 else ''} in {path}; nothing was imported:\n"
                         + "\n".join(str(p) for p in problems))
    conflicts: list[Conflict] = []
    decisions: list[Decision] = []
    with store.write(db, dry_run=dry_run):
        items = _item_reviews(db, sorted({lb.item_id for lb in labels}))
        for lb in labels:
            verdict = judge(lb, items[lb.item_id])
            if isinstance(verdict, Conflict):
                conflicts.append(verdict)
            elif verdict == APPLY:
                decisions.append(Decision(lb.item_id, lb.status, lb.note, lb.who))
        changed = _apply(db, decisions, who=who, now=now, origin=f"import:{path.name}", note_counts=False)
    return ImportResult(len(labels), changed, tuple(conflicts))
