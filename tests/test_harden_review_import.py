"""Issue 9, item 8: a stale review file never undoes a newer decision.

Classes of fault, each in CSV and JSON lines:
- a file exported before a CLI decision (accept, reject, later), imported after it: an unchanged
  pre-filled cell is no decision at all; a changed cell that disagrees is a conflict, skipped and
  reported (line, item, what it kept, who decided it and when); one that agrees is a no-op;
- two analysts' files from the same export, imported in turn: the second cannot undo the first;
- a file that lost the review_version column (a spreadsheet round trip, an older export): only
  items nobody has decided on take its labels; the rest are conflicts;
- a file that counts more decisions than the store holds (another store, a restored backup);
- bad cells (version not a whole number, one item labelled two ways) still stop the whole import.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from test_digest import add_item
from util import run_cli, write_config
from watcher import export, store
from watcher.errors import UsageError
from watcher.review import decide, history, import_labels

T = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
VERB = {"accept": "accepted", "reject": "rejected", "later": "later"}


def status_of(db, item_id: int) -> str | None:
    return db.execute("SELECT review_status FROM items WHERE id = ?", [item_id]).fetchone()[0]


def export_to(db, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        (export.write_csv if path.suffix == ".csv" else export.write_jsonl)(out, export.rows(db))
    return path


def edit(path: Path, labels: dict[int, str], *, drop_version: bool = False) -> None:
    """What an analyst does: change some review_status cells; maybe a spreadsheet drops a column."""
    if path.suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        if int(r["id"]) in labels:
            r["review_status"] = labels[int(r["id"])]
        if drop_version:
            del r["review_version"]
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def db(tmp_path: Path):
    db = store.connect(tmp_path / "w.db")
    for i in range(1, 6):
        add_item(db, id=i, title=f"item {i}")
    return db


# ---------------------------------------------------------------- a stale file after a CLI decision

CASES = [(fmt, verb, cell) for fmt in ("csv", "jsonl") for verb in VERB for cell in ("new", *VERB.values())]


@pytest.mark.parametrize("fmt,verb,cell", CASES, ids=[f"{f}-{v}-then-file-says-{c}" for f, v, c in CASES])
def test_a_file_exported_before_a_decision_never_undoes_it(db, tmp_path: Path, fmt: str, verb: str,
                                                           cell: str) -> None:
    sheet = export_to(db, tmp_path / f"queue.{fmt}")
    edit(sheet, {5: cell, 4: "accepted"})  # the analyst also labels item 4, which nobody touched since
    decide(db, [5], VERB[verb], who="omar", now=T)  # after the export
    r = import_labels(db, sheet, who="lan", now=T + timedelta(hours=1))
    assert status_of(db, 5) == VERB[verb]  # the newer decision stands, whatever the file says
    assert [h["who"] for h in history(db, 5)] == ["omar"]
    assert status_of(db, 4) == "accepted" and history(db, 4)[0]["who"] == "lan"  # the rest is imported
    disagrees = cell not in ("new", VERB[verb])  # `new` is the export's pre-fill: not a decision
    assert [c.item_id for c in r.conflicts] == ([5] if disagrees else [])
    assert r.changed == 1


def test_the_issue_scenario_through_the_cli(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [{"name": "wire", "url": "http://127.0.0.1:9/a.xml"}])
    db = store.connect(tmp_path / "state" / "watcher.db")
    for i in range(1, 6):
        add_item(db, id=i)
    stale = tmp_path / "stale.csv"
    run_cli(cfg, "export", "--format", "csv", "-o", str(stale))
    run_cli(cfg, "review", "reject", "5", "--who", "omar")
    out = run_cli(cfg, "review", "import", str(stale))
    assert status_of(db, 5) == "rejected"
    assert "5 labelled rows, 0 decisions recorded (5 unchanged)" in out.stdout and out.stderr == ""

    edit(stale, {5: "accepted", 2: "later"})
    out = run_cli(cfg, "review", "import", str(stale), "--who", "lan")
    assert out.returncode == 0 and status_of(db, 5) == "rejected" and status_of(db, 2) == "later"
    assert "1 decision recorded" in out.stdout and "1 conflict skipped" in out.stdout
    line = next(n for n, text in enumerate(stale.read_text(encoding="utf-8").splitlines(), 1) if text.startswith("5,"))
    (msg,) = out.stderr.splitlines()
    assert msg.startswith(f"{stale}:{line}: item 5: kept rejected (set by omar at ")
    assert "via cli), not accepted: that decision was made after this file was exported" in msg
    assert "`watcher review accept 5` overrules it" in msg


# ---------------------------------------------------------------- two analysts, one export each

@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_two_analysts_files_imported_in_turn_cannot_undo_each_other(db, tmp_path: Path, fmt: str) -> None:
    a = export_to(db, tmp_path / f"lan.{fmt}")
    b = export_to(db, tmp_path / f"omar.{fmt}")
    edit(a, {1: "accepted", 2: "accepted"})
    edit(b, {2: "rejected", 3: "accepted"})  # leaves 1 as exported (new)
    ra = import_labels(db, a, who="lan", now=T)
    assert (ra.changed, ra.conflicts) == (2, ())
    rb = import_labels(db, b, who="omar", now=T + timedelta(minutes=5))
    assert {i: status_of(db, i) for i in (1, 2, 3)} == {1: "accepted", 2: "accepted", 3: "accepted"}
    assert rb.changed == 1 and [(c.item_id, c.current, c.wanted, c.last.who) for c in rb.conflicts] == [
        (2, "accepted", "rejected", "lan")]
    assert rb.conflicts[0].last.origin == f"import:lan.{fmt}"
    # Loading either again changes nothing; the second still reports its conflict.
    assert import_labels(db, a, who="lan", now=T + timedelta(hours=1)).conflicts == ()
    again = import_labels(db, b, who="omar", now=T + timedelta(hours=1))
    assert again.changed == 0 and [c.item_id for c in again.conflicts] == [2]
    assert len(history(db, 2)) == 1


# ---------------------------------------------------------------- a file without review_version

# (decision made after the export or None, the cell, final status, conflict?)
NO_VERSION = [
    (None, "accepted", "accepted", False),  # nobody decided: the label is taken
    (None, "new", "new", False),
    ("rejected", "accepted", "rejected", True),  # decided: the file may be older; it does not win
    ("rejected", "later", "rejected", True),
    ("rejected", "rejected", "rejected", False),  # says the same: nothing to do
    ("later", "new", "later", False),  # `new` may be the pre-fill: never a decision here
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("blank", [False, True], ids=["column-dropped", "cell-blanked"])
@pytest.mark.parametrize("decided,cell,final,conflict", NO_VERSION)
def test_a_file_that_lost_review_version_only_labels_undecided_items(
        db, tmp_path: Path, fmt: str, blank: bool, decided: str | None, cell: str, final: str,
        conflict: bool) -> None:
    sheet = export_to(db, tmp_path / f"queue.{fmt}")
    edit(sheet, {3: cell}, drop_version=not blank)
    if blank:
        text = sheet.read_text(encoding="utf-8")
        text = text.replace(",0\n", ",\n") if fmt == "csv" else text.replace('"review_version": 0', '"review_version": null')
        sheet.write_text(text, encoding="utf-8")
    if decided:
        decide(db, [3], decided, who="omar", now=T)
    r = import_labels(db, sheet, who="lan", now=T + timedelta(hours=1))
    assert status_of(db, 3) == final
    assert [c.item_id for c in r.conflicts] == ([3] if conflict else [])
    if conflict:
        assert "this row has no review_version" in r.conflicts[0].describe(sheet)


def test_a_file_from_another_store_or_a_restored_backup_is_a_conflict(db, tmp_path: Path) -> None:
    sheet = tmp_path / "labels.csv"
    sheet.write_text("id,review_status,review_version\n1,accepted,3\n2,later,0\n", encoding="utf-8")
    decide(db, [1], "rejected", who="omar", now=T)
    r = import_labels(db, sheet, who="lan", now=T)
    assert status_of(db, 1) == "rejected" and status_of(db, 2) == "later"
    assert "the file counts 3 decisions on this item but the store has 1" in r.conflicts[0].describe(sheet)


# ---------------------------------------------------------------- bad rows still import nothing

@pytest.mark.parametrize("row,says", [
    ("3,accepted,abc", "review_version 'abc' is not a whole number"),
    ("3,accepted,-1", "review_version '-1' is not a whole number"),
    ("3,accepted,2.5", "review_version '2.5' is not a whole number"),
    ("1,rejected,0", "item 1 is labelled rejected here but accepted on line 2; keep one row"),
])
def test_a_bad_row_beside_a_conflict_imports_nothing(db, tmp_path: Path, row: str, says: str) -> None:
    decide(db, [2], "rejected", who="omar", now=T)
    sheet = tmp_path / "labels.csv"
    # line 2: fine; line 3: a conflict (item 2 decided after); line 4: the bad row
    sheet.write_text(f"id,review_status,review_version\n1,accepted,0\n2,accepted,0\n{row}\n", encoding="utf-8")
    with pytest.raises(UsageError) as e:
        import_labels(db, sheet, who="lan", now=T)
    assert f"{sheet}:4: {says}" in str(e.value) and "nothing was imported" in str(e.value)
    assert status_of(db, 1) == "new" and status_of(db, 2) == "rejected"


def test_a_spreadsheet_version_written_as_a_decimal_is_read(db, tmp_path: Path) -> None:
    decide(db, [1], "later", who="omar", now=T)
    sheet = tmp_path / "labels.csv"
    sheet.write_text("id,review_status,review_version\n1,accepted,1.0\n", encoding="utf-8")
    assert import_labels(db, sheet, who="lan", now=T).changed == 1
    assert status_of(db, 1) == "accepted"


def test_a_conflict_names_the_line_a_multi_line_row_starts_on(tmp_path: Path) -> None:
    db = store.connect(tmp_path / "w.db")
    add_item(db, id=1, summary="first paragraph\n\nsecond paragraph\n\nthird")
    add_item(db, id=2, summary="one\n\ntwo")
    sheet = export_to(db, tmp_path / "queue.csv")
    edit(sheet, {2: "accepted"})
    decide(db, [2], "rejected", who="omar", now=T)
    r = import_labels(db, sheet, who="lan", now=T)
    starts = [n for n, text in enumerate(sheet.read_text(encoding="utf-8").splitlines(), 1) if text.startswith("2,")]
    assert [c.line for c in r.conflicts] == starts


def test_the_export_says_how_many_decisions_each_item_had(db, tmp_path: Path) -> None:
    decide(db, [1], "later", who="omar", now=T)
    decide(db, [1], "accepted", who="omar", now=T)
    rows = {r["id"]: r for r in export.rows(db)}
    assert rows[1]["review_version"] == 2 and rows[2]["review_version"] == 0
    text = export_to(db, tmp_path / "q.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0].endswith(",review_status,review_version")
