"""Only watcher/store/ knows SQL: no other module of the package runs a statement or holds one.

Checked on the source with `ast`: a call of `execute`, `executemany` or `executescript`, or a string
literal (f-strings included) that reads as a SQL statement, anywhere in watcher/ outside watcher/store/
is a failure naming the file and line. The checker itself is tested on planted files.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "watcher"
ALLOWED = PACKAGE / "store"

CALLS = {"execute", "executemany", "executescript"}
# Upper case, as SQL is written here; English messages ("update sources.yaml") do not match.
SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\s+(OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(TABLE|INDEX|UNIQUE|VIEW|TRIGGER|VIRTUAL)\b|\bDROP\s+(TABLE|INDEX)\b|\bALTER\s+TABLE\b"
    r"|^\s*(BEGIN|ROLLBACK|COMMIT|END)(\s+(IMMEDIATE|DEFERRED|EXCLUSIVE|TRANSACTION|TO\s+\w+))?\s*;?\s*$"
    r"|^\s*PRAGMA\s+\w+|^\s*(SAVEPOINT|RELEASE)\s+\w+\s*$|^\s*VACUUM\b|\bWHERE\s+\w+\s*(=|<|>|\b(IN|IS|LIKE)\b)",
    re.S)


def _strings(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"SELECT {cols} FROM items": the literal parts, joined
        return " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def violations(root: Path, allowed: Path | None) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        if allowed is not None and allowed in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)}
        where = path.relative_to(root.parent) if root.parent in path.parents else path
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS:
                out.append(f"{where}:{node.lineno}: calls .{node.func.attr}()")
            text = _strings(node)
            if text is not None and id(node) not in docstrings and SQL.search(text):
                out.append(f"{where}:{node.lineno}: SQL in a string: {text[:60]!r}")
    return out


def test_no_sql_outside_the_store_package() -> None:
    found = violations(PACKAGE, ALLOWED)
    assert not found, "SQL belongs in watcher/store/:\n" + "\n".join(found)


@pytest.mark.parametrize("code", [
    'db.execute("SELECT 1")',
    'conn.executemany(q, rows)',
    'db.conn.executescript(script)',
    'sql = "SELECT id, title FROM items"',
    'sql = f"SELECT {cols} FROM items WHERE {where}"',
    'q = "INSERT OR IGNORE INTO sources (name) VALUES (?)"',
    'q = "UPDATE items SET review_status = ? WHERE id = ?"',
    'q = "DELETE FROM dedup_keys"',
    'q = "BEGIN IMMEDIATE"',
    'q = "ROLLBACK"',
    'q = "PRAGMA journal_mode = WAL"',
    'q = "CREATE TABLE t (x)"',
    'q = " WHERE source = ? AND guid IN (?)"',
])
def test_a_planted_statement_is_caught(tmp_path: Path, code: str) -> None:
    pkg = tmp_path / "watcher"
    (pkg / "store").mkdir(parents=True)
    (pkg / "store" / "ok.py").write_text(f"def f(db, cols, where, q, rows, script):\n    {code}\n")
    (pkg / "planted.py").write_text(f"def f(db, conn, cols, where, q, rows, script):\n    {code}\n")
    found = violations(pkg, pkg / "store")
    assert len(found) == 1 and found[0].startswith("watcher/planted.py:2:"), found


@pytest.mark.parametrize("text", [
    "update sources.yaml to it", "Select a source", "BEGIN by reading the README",
    "410 Gone: remove it from sources.yaml", "the store is busy; try again",
])
def test_plain_text_is_not_sql(tmp_path: Path, text: str) -> None:
    (tmp_path / "m.py").write_text(f"MESSAGE = {text!r}\n")
    assert violations(tmp_path, None) == []


def test_worker_processes_import_no_sql_code() -> None:
    # prepare.py runs in the pool's workers: parse, match, fingerprint are pure and need no store.
    code = ("import sys, watcher.prepare; bad = sorted(m for m in sys.modules if m.startswith('watcher.store')"
            " or m in ('sqlite3', 'sqlite_utils', '_sqlite3')); print(bad); sys.exit(1 if bad else 0)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr


ITEM_WRITES = re.compile(r"\b(INSERT\s+(OR\s+[A-Z]+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+(items|item_versions|reviews)\b")


def test_items_are_written_only_by_store_apply() -> None:
    # One path for every change to an item: poll, rematch, recheck, review and import all go through
    # store.apply (store/apply.py); no other module of the store writes items, versions or reviews.
    found = []
    for path in sorted(ALLOWED.rglob("*.py")):
        if path.name == "apply.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = _strings(node)
            if text is not None and ITEM_WRITES.search(text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]!r}")
    assert not found, "items are written through store.apply only:\n" + "\n".join(found)
