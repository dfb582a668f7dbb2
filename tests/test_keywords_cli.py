"""rematch, keywords test/report/derive on a real store in tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher import store
from watcher.cli import cli

ROOT = Path(__file__).resolve().parents[1]

LIST = """
threshold: 3
title_weight: 1.5
context:
  chip: {any: [chip, GPU]}
topics:
  models:
    - weight: 3
      any: [H20]
  controls:
    - weight: 3
      with: [chip]
      en: [export control]
"""

ITEMS = [
    # title, summary, published, review_status
    ("Nvidia H20 sales resume", "", "2026-01-05T00:00:00+00:00", "accepted"),
    ("New export controls on chips", "", "2026-01-06T00:00:00+00:00", "rejected"),
    ("Cambricon revenue jumps", "The AI chip maker grew.", "2026-01-07T00:00:00+00:00", None),
    ("Rice exports rise", "Farmers are pleased.", "2026-01-08T00:00:00+00:00", None),
    ("Old H20 story", "", "2025-06-01T00:00:00+00:00", None),
]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "seeds").mkdir()
    for f in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(f, tmp_path / "seeds" / f.name)
    (tmp_path / "seeds" / "keywords.yaml").write_text(LIST, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text("sources:\n  - name: s\n    url: http://127.0.0.1:9/feed\n",
                                           encoding="utf-8")
    db = store.connect(tmp_path / "state" / "watcher.db")
    with store.write(db):
        db["sources"].insert({"name": "s", "url": "http://127.0.0.1:9/feed"})
        for i, (title, summary, published, review) in enumerate(ITEMS, 1):
            db["items"].insert({"id": i, "source": "s", "guid": f"g{i}", "guid_kind": "guid", "title": title,
                                "summary": summary, "published": published, "fetched_at": published,
                                "last_seen": published, "content_hash": f"h{i}", "relevant": 0,
                                "review_status": review, "language": "en"})
    db.conn.close()
    return tmp_path


def run(project: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(project / "sources.yaml"), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def items(project: Path) -> dict[int, dict]:
    db = store.connect(project / "state" / "watcher.db")
    return {r["id"]: r for r in db["items"].rows}


def test_rematch_reports_and_writes(project: Path) -> None:
    out = run(project, "rematch", "--since", "2026-01-01")
    assert "2 became relevant" in out and "Nvidia H20 sales resume" in out
    rows = items(project)
    assert rows[1]["relevant"] == 1 and json.loads(rows[1]["keywords"]) == ["H20"]
    assert json.loads(rows[1]["hits"])[0]["field"] == "title"
    assert rows[5]["relevant"] == 0  # before --since: untouched
    assert rows[1]["review_status"] == "accepted"  # a person's decision stays
    # Now drop the controls topic: item 2 stops being relevant.
    (project / "seeds" / "keywords.yaml").write_text(LIST.split("  controls:")[0], encoding="utf-8")
    out = run(project, "rematch")
    assert "1 are no longer relevant" in out and "New export controls on chips" in out
    assert items(project)[2]["relevant"] == 0
    assert "1 became relevant" in out  # the old H20 story, now without --since


def test_rematch_queues_new_relevant_items(project: Path) -> None:
    extra = LIST + "  firms:\n    - weight: 3\n      any: [Cambricon]\n"
    (project / "seeds" / "keywords.yaml").write_text(extra, encoding="utf-8")
    run(project, "rematch")
    assert items(project)[3]["review_status"] == "new"
    (project / "seeds" / "keywords.yaml").write_text(LIST, encoding="utf-8")
    run(project, "rematch")
    assert items(project)[3]["review_status"] is None


def test_keywords_test_term_is_a_dry_run(project: Path) -> None:
    before = items(project)
    out = run(project, "keywords", "test", "--term", "Cambricon")
    assert "would add 1 items" in out and "[Cambricon]" in out and "Cambricon revenue jumps" in out
    assert items(project) == before


def test_keywords_test_file_shows_drops(project: Path, tmp_path: Path) -> None:
    cand = tmp_path / "cand.yaml"
    cand.write_text(LIST.split("  controls:")[0], encoding="utf-8")
    out = run(project, "keywords", "test", str(cand), "--since", "2026-01-01")
    assert "would drop 1 items" in out and "[export controls]" in out
    assert "would add 0 items" in out


def test_keywords_report(project: Path) -> None:
    run(project, "rematch")
    data = json.loads(run(project, "keywords", "report", "--format", "json"))
    by_term = {t["term"]: t for t in data["terms"]}
    assert by_term["H20"]["hits"] == 2 and by_term["H20"]["alone"] == 2
    assert by_term["H20"]["accepted"] == 1 and by_term["H20"]["last_hit"].startswith("2026-01-05")
    assert by_term["export control"]["rejected"] == 1
    assert data["never_hit"] == []
    text = run(project, "keywords", "report")
    assert "H20 (models)" in text


def test_derive_writes_a_proposal_and_never_the_list(project: Path) -> None:
    out = run(project, "keywords", "derive")
    proposal = project / "seeds" / "keywords.proposed.yaml"
    assert proposal.exists() and "wrote" in out
    text = proposal.read_text("utf-8")
    for expected in ("kiểm soát xuất khẩu", "H20", "CloudMatrix 384", "NVL72"):
        assert expected in text
    assert "004_21df49046173ca5e.txt" in text  # says where each term comes from
    run(project, "keywords", "test", str(proposal))  # a valid list as written
    # Overwrite the proposal again: fine. The list itself, or a hand-edited file: refused.
    run(project, "keywords", "derive")
    r = CliRunner().invoke(cli, ["--config", str(project / "sources.yaml"), "keywords", "derive", "--out",
                                 str(project / "seeds" / "keywords.yaml")])
    assert r.exit_code != 0
    assert (project / "seeds" / "keywords.yaml").read_text("utf-8") == LIST
    diff = run(project, "keywords", "derive", "--diff")
    assert "+ [vi] kiểm soát xuất khẩu" in diff
