"""sources.yaml validation, driven by the table in config_cases.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from util import run_cli
from watcher.config import check, load, parse_interval
from watcher.errors import ConfigError

CASES = yaml.safe_load((Path(__file__).parent / "config_cases.yaml").read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_check_reports_every_problem_with_its_line(case, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(case["yaml"], encoding="utf-8")
    _, problems = check(path)
    got = [(p.line, p.message) for p in problems]
    assert len(got) == len(case["problems"]), got
    for (line, message), (want_line, *words) in zip(got, case["problems"]):
        assert line == want_line, (line, message)
        for w in words:
            assert w in message, (w, message)
    assert all(p.file == str(path) for p in problems)


def test_paths_resolve_next_to_the_config_unless_set(tmp_path):
    (tmp_path / "sub").mkdir()
    cfg_path = tmp_path / "sub" / "sources.yaml"
    cfg_path.write_text("sources: []\n")
    cfg = load(cfg_path)
    assert cfg.seeds_dir == tmp_path / "sub" / "seeds"
    assert cfg.state_dir == tmp_path / "sub" / "state"
    assert cfg.keywords_path == tmp_path / "sub" / "seeds" / "keywords.yaml"
    cfg_path.write_text("seeds: ../s\nstate: /tmp/st\nkeywords: kw.yaml\nsources: []\n")
    cfg = load(cfg_path)
    assert cfg.seeds_dir == tmp_path / "s"
    assert cfg.state_dir == Path("/tmp/st")
    assert cfg.keywords_path == tmp_path / "sub" / "kw.yaml"


def test_load_raises_with_every_problem(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n  - name: b\n    url: x\n")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert "2 problems" in str(e.value)
    assert f"{path}:2" in str(e.value) and f"{path}:4" in str(e.value)


@pytest.mark.parametrize("text,seconds", [("15m", 900), ("2h", 7200), ("1d", 86400), (" 30s ", 30)])
def test_intervals(text, seconds):
    assert parse_interval(text) == seconds


def test_shipped_sources_file_is_valid_and_covers_the_four_languages():
    cfg, problems = check(ROOT / "sources.yaml")
    assert problems == []
    assert len(cfg.sources) >= 25
    assert {s.language for s in cfg.sources} >= {"en", "vi", "ar", "zh"}


def test_check_command_exits_1_without_a_traceback(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: ftp://x\n    intervall: 1h\n")
    p = run_cli(path, "check", check=False)  # in-process, through the console script's entry point
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert f"{path}:3:" in p.stderr and "did you mean 'interval'" in p.stderr
    assert "problems found" in p.stderr
