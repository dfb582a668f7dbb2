"""The review queue: list, decide with who/when/note, and labels round-tripped through a spreadsheet."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from test_digest import add_item
from util import run_cli, write_config
from watcher import store
from watcher.errors import UsageError
from watcher.review import QueueFilter, decide, history, import_labels, list_queue

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path: Path):
    return store.connect(tmp_path / "w.db")


def test_only_relevant_new_items_are_queued_and_filters_narrow_it(db) -> None:
    add_item(db, id=1, title="chips en", topics=["chips"], language="en", source="wire")
    add_item(db, id=2, title="smuggling vi", topics=["smuggling"], language="vi", source="vnexpress")
    add_item(db, id=3, relevant=False)
    add_item(db, id=4, duplicate_of="item:1")
    assert [r["id"] for r in list_queue(db, QueueFilter())] == [2, 1]  # same time: newest id first
    assert [r["id"] for r in list_queue(db, QueueFilter(topic="smuggling"))] == [2]
    assert [r["id"] for r in list_queue(db, QueueFilter(language="en"))] == [1]
    assert [r["id"] for r in list_queue(db, QueueFilter(source="vnexpress"))] == [2]
    decide(db, [1], "accepted", who="lan", now=NOW)
    assert [r["id"] for r in list_queue(db, QueueFilter())] == [2]
    assert [r["id"] for r in list_queue(db, QueueFilter(status="accepted"))] == [1]


def test_decisions_keep_who_when_note_and_what_came_before(db) -> None:
    add_item(db, id=1)
    decide(db, [1], "later", who="lan", now=NOW, note="check the BIS notice")
    decide(db, [1], "rejected", who="omar", now=NOW.replace(hour=9))
    assert db.execute("SELECT review_status FROM items WHERE id = 1").fetchone()[0] == "rejected"
    h = history(db, 1)
    assert [(r["status"], r["previous"], r["who"], r["note"]) for r in h] == [
        ("later", "new", "lan", "check the BIS notice"), ("rejected", "later", "omar", None)]
    assert h[1]["at"] == "2026-03-02T09:00:00+00:00"


def test_an_unknown_id_records_nothing(db) -> None:
    add_item(db, id=1)
    with pytest.raises(UsageError, match="no item with id 99"):
        decide(db, [1, 99], "accepted", who="lan", now=NOW)
    assert db.execute("SELECT review_status FROM items WHERE id = 1").fetchone()[0] == "new"
    assert history(db, 1) == []


def _cli_config(tmp_path: Path) -> tuple[Path, object]:
    cfg = write_config(tmp_path, [{"name": "wire", "url": "http://127.0.0.1:9/feed.xml"}])
    db = store.connect(tmp_path / "state" / "watcher.db")
    for i, lang in ((1, "en"), (2, "ar"), (3, "zh")):
        add_item(db, id=i, language=lang, title=f"item {i}")
    return cfg, db


def test_cli_review_accept_then_list(tmp_path: Path) -> None:
    cfg, db = _cli_config(tmp_path)
    out = run_cli(cfg, "review", "accept", "1", "2", "--note", "on topic", "--who", "lan").stdout
    assert "accepted: 2 items" in out
    listed = run_cli(cfg, "review", "list", "--status", "accepted").stdout
    assert {line.split()[0] for line in listed.splitlines()} == {"1", "2"}
    assert run_cli(cfg, "review").stdout.split()[0] == "3"  # bare `review` lists what is still new
    bad = run_cli(cfg, "review", "reject", "42", check=False)
    assert bad.returncode == 2 and "no item with id 42" in bad.stderr


def test_labels_round_trip_through_an_exported_spreadsheet(tmp_path: Path) -> None:
    cfg, db = _cli_config(tmp_path)
    sheet = tmp_path / "labels.csv"
    run_cli(cfg, "export", "--format", "csv", "-o", str(sheet))
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    labels = {"1": "accepted", "2": "reject", "3": ""}  # what an analyst types; blank: not labelled yet
    for r in rows:
        r["review_status"] = labels[r["id"]]
    with sheet.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = run_cli(cfg, "review", "import", str(sheet), "--who", "team").stdout
    assert "2 labelled rows, 2 decisions recorded" in out
    status = dict(db.execute("SELECT id, review_status FROM items").fetchall())
    assert status == {1: "accepted", 2: "rejected", 3: "new"}
    assert history(db, 1)[0]["origin"] == "import:labels.csv" and history(db, 1)[0]["who"] == "team"
    # Loading the same sheet again changes nothing and adds no history.
    assert "0 decisions recorded" in run_cli(cfg, "review", "import", str(sheet)).stdout
    assert len(history(db, 1)) == 1
    exported = [json.loads(line) for line in run_cli(cfg, "export", "--format", "jsonl").stdout.splitlines()]
    assert {r["id"]: r["review_status"] for r in exported} == {1: "accepted", 2: "rejected", 3: "new"}


def test_a_bad_label_file_imports_nothing_and_names_every_line(db, tmp_path: Path) -> None:
    add_item(db, id=1)
    add_item(db, id=2)
    sheet = tmp_path / "labels.csv"
    sheet.write_text("id,review_status,note\n1,accepted,fine\n2,maybe,\n77,rejected,\nabc,accepted,\n",
                     encoding="utf-8")
    with pytest.raises(UsageError) as e:
        import_labels(db, sheet, who="lan", now=NOW)
    msg = str(e.value)
    assert "nothing was imported" in msg
    assert f"{sheet}:3: review_status 'maybe'" in msg
    assert f"{sheet}:4: no item with id 77" in msg
    assert f"{sheet}:5: id 'abc'" in msg
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    assert db.execute("SELECT review_status FROM items WHERE id = 1").fetchone()[0] == "new"


def test_json_lines_labels(db, tmp_path: Path) -> None:
    add_item(db, id=1)
    f = tmp_path / "labels.jsonl"
    f.write_text(json.dumps({"id": 1, "review_status": "later", "note": "ask Minh", "who": "lan"}) + "\n",
                 encoding="utf-8")
    r = import_labels(db, f, who="x", now=NOW)
    assert (r.rows, r.changed) == (1, 1)
    assert history(db, 1)[0]["note"] == "ask Minh" and history(db, 1)[0]["who"] == "lan"
