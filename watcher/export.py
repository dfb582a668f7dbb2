"""Rows for `watcher export`: one per stored item, in the documented field order.

Fields a later stage has not filled are null (JSON) or empty (CSV). Lists (`topics`, `keywords`) are
JSON arrays in JSONL and "; "-joined in CSV, which is what a spreadsheet user wants to read and edit.

Export is data, not display: text is given as stored, bidi controls and all (watcher/display.py
cleans only what is shown). One exception, CSV only: a spreadsheet runs a cell that begins with
`=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)`, `=cmd|...`), so such a text cell gets a leading
apostrophe, the usual defence, and the sheet shows it as text.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Iterator, TextIO

import sqlite_utils

from . import store
from .times import iso

# The export contract. Order matters for CSV; adding a field is fine, renaming one breaks users.
FIELDS = (
    "id", "source", "guid", "link", "canonical_link", "title", "summary", "published",
    "published_is_fetch_time", "date_note", "fetched_at", "updated_at", "version", "language",
    "relevant", "score", "topics", "keywords",
    "duplicate_of", "dup_method", "dup_score", "dup_possible", "origin",
    "content_source", "page_status",  # full text (issue 11): feed | page; what fetching the page gave
    "review_status", "review_version",  # last: a spreadsheet user edits these
)
# review_version is not an item's own field: how many review decisions the item had at export time,
# so `review import` can tell a cell the analyst changed from the pre-filled status, and a decision
# made after the export from one the file knew about.
_LISTS = ("topics", "keywords")
_BOOLS = ("relevant", "published_is_fetch_time", "dup_possible")


def rows(db: sqlite_utils.Database, *, since: date | datetime | None = None) -> Iterator[dict]:
    """One dict per stored item (published on or after `since`), in id order, with FIELDS as keys."""
    reviews = store.review_counts(db)
    for item in store.iter_items(db, since=since, order="id"):
        row = {k: getattr(item, k) for k in FIELDS if k != "review_version"}
        row["review_version"] = reviews.get(item.id, 0)
        for k in ("published", "fetched_at", "updated_at"):
            row[k] = iso(row[k]) if row[k] is not None else None
        yield row


def write_jsonl(out: TextIO, items: Iterator[dict]) -> int:
    n = 0
    for row in items:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


# What a spreadsheet takes as the start of a formula: the ASCII signs, tab and CR (some spreadsheets
# skip them before looking), and the full-width signs that some locales convert.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text, never runs: feed text is hostile."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(out: TextIO, items: Iterator[dict]) -> int:
    w = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    n = 0
    for row in items:
        flat = dict(row)
        for k in _LISTS:
            flat[k] = "; ".join(row[k])
        for k in _BOOLS:
            flat[k] = "true" if row[k] else "false"
        w.writerow({k: csv_cell(v) for k, v in flat.items()})
        n += 1
    return n


def write(out: TextIO, fmt: str, items: Iterator[dict]) -> int:
    return (write_jsonl if fmt == "jsonl" else write_csv)(out, items)


def write_file(path: Path, fmt: str, items: Iterator[dict]) -> int:
    """Write every row to `path`, all or nothing.

    Rows stream from the store, and reading can fail midway (a damaged page, a full disk). They go to a
    temporary file beside `path`, renamed over it only when all are written, so a failure leaves the
    previous export as it was, never a file that looks complete and is not.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as out:
            n = write(out, fmt, items)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def to_string(db: sqlite_utils.Database, fmt: str, since: date | datetime | None = None) -> str:
    buf = io.StringIO()
    (write_jsonl if fmt == "jsonl" else write_csv)(buf, rows(db, since=since))
    return buf.getvalue()
