"""The README's examples are run: its YAML validates, its commands exist, its matching claims hold."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from util import ROOT
from watcher.cli import cli
from watcher.config import check
from watcher.keywords import check_keywords
from watcher.match import Matcher

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def _block(first_line_contains: str) -> str:
    return next(b for b in BLOCKS if first_line_contains in b.splitlines()[0])


def test_the_sources_example_is_valid(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(_block("interval: 1h"), encoding="utf-8")
    _, problems = check(path)
    assert problems == []


@pytest.mark.parametrize("first", ["dedup:", "digest: {time", "smtp: {host", "reviewer:"])
def test_the_settings_examples_are_valid(tmp_path, first):
    path = tmp_path / "sources.yaml"
    path.write_text(_block(first) + "sources: []\n", encoding="utf-8")
    _, problems = check(path)
    assert problems == []


def test_the_keyword_list_example_is_valid_and_does_what_it_says(tmp_path):
    path = tmp_path / "keywords.yaml"
    path.write_text(_block("threshold: 3"), encoding="utf-8")
    kl, problems = check_keywords(path)
    assert problems == []
    m = Matcher.from_list(kl)
    assert m.match("Huawei Ascend chips for AI", "", "").relevant
    assert not m.match("Huawei Ascend smartphone review", "", "").relevant
    assert not m.match("Ascend the mountain", "", "").relevant


@pytest.mark.parametrize("text,language,term", [
    ("Mỹ siết kiem soat xuat khau chip sang Trung Quốc", "vi", "kiểm soát xuất khẩu"),
    ("واشنطن تشدد ضوابط التصدير على والرقائق", "ar", "ضوابط التصدير"),
    ("美國將多家企業列入實體清單", "zh", "实体清单"),
    ("New export-controls hit Nvidia chips", "en", "export control"),
])
def test_the_matching_claims_hold_for_the_shipped_list(text, language, term):
    m = Matcher.load(ROOT / "seeds" / "keywords.yaml")
    assert term in m.match(text, "", "", language).keywords


def test_h20_is_not_h200_h2o_or_the_bomber():
    m = Matcher.load(ROOT / "seeds" / "keywords.yaml")
    for text in ("Nvidia H200 chips", "H2O chips in water", "China's H-20 bomber chip"):
        assert "H20" not in m.match(text, "", "", "en").keywords, text


def test_every_command_in_the_readme_exists():
    table = README[README.index("## Commands"):README.index("### Export fields")]
    commands = set(re.findall(r"^\| `watcher ([a-z]+)", table, flags=re.M))
    assert {"check", "poll", "run", "status", "export", "show", "digest", "review", "keywords", "rematch",
            "dedup"} <= commands
    runner = CliRunner()
    for name in commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_the_setup_commands_are_the_ones_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    setup = README[README.index("## Set up"):README.index("## Daily use")]
    commands = [line.strip() for line in setup.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert commands[1] in ci
