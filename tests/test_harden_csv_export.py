"""Issue 9, item 6's neighbour: CSV export is opened in a spreadsheet, which runs a cell that starts
with = + - @ (or tab, CR, or their full-width forms) as a formula. Such text cells get a leading
apostrophe; JSON lines stays as stored.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from test_digest import add_item
from test_harden_display import _cli, _project

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
            "＝1+1"]


def test_csv_export_never_hands_a_spreadsheet_a_formula(tmp_path: Path) -> None:
    cfg_path, db = _project(tmp_path)
    for i, f in enumerate(FORMULAS, start=1):
        add_item(db, id=i, title=f, summary=f, link=f"https://news.example/{i}")
    add_item(db, id=99, title="Nvidia H20: -3% = bad?", summary="plain")
    rows = list(csv.DictReader(io.StringIO(_cli(cfg_path, "export", "--format", "csv"))))
    by_id = {int(r["id"]): r for r in rows}
    for i, f in enumerate(FORMULAS, start=1):
        for field in ("title", "summary"):
            assert by_id[i][field] == "'" + f, (field, by_id[i][field])
    assert by_id[99]["title"] == "Nvidia H20: -3% = bad?"  # only a cell's first character matters
    assert by_id[1]["score"] == "0.0" and by_id[1]["relevant"] == "true"  # numbers are not text cells
    # JSON lines is data for programs: as stored.
    jsonl = [json.loads(line) for line in _cli(cfg_path, "export").splitlines()]
    assert [r["title"] for r in jsonl if r["id"] <= len(FORMULAS)] == FORMULAS
