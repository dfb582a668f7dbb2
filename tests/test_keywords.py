"""Keyword list validation: every problem at once, each with file:line and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from watcher import errors
from watcher.keywords import check_keywords, load_keywords

ROOT = Path(__file__).resolve().parents[1]
BAD = yaml.safe_load(Path(__file__).with_name("keywords_bad_cases.yaml").read_text("utf-8"))["cases"]


def test_shipped_list_is_valid_and_covers_the_beat() -> None:
    kl, problems = check_keywords(ROOT / "seeds" / "keywords.yaml")
    assert problems == []
    assert kl is not None
    assert {"export-controls", "nvidia-china-chips", "huawei-ascend", "chinese-ai-chips", "legislation",
            "smuggling-remote-compute"} <= set(kl.topics)
    langs = {t.lang for _, t in kl.terms()}
    assert {"en", "vi", "ar", "zh", "any"} <= langs


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_problems_name_the_line(tmp_path: Path, case: dict) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(case["file"], encoding="utf-8")
    _, problems = check_keywords(path)
    found = [(p.line, p.message) for p in problems]
    for line, fragment in case["expect"]:
        assert any(pl == line and fragment in msg for pl, msg in found), f"want line {line} ~ {fragment!r}, got {found}"
    assert all(p.file == str(path) for p in problems)
    with pytest.raises(errors.ConfigError) as e:
        load_keywords(path)
    assert f"{path}:" in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    kl, problems = check_keywords(tmp_path / "keywords.yaml")
    assert kl is None and len(problems) == 1
    assert "not found" in problems[0].message and "watcher keywords derive" in problems[0].message
