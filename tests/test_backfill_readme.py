"""The README's Backfill section is run: its YAML validates and each example command works as shown,
against a local archive site standing in for the source it names."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from backfill_sites import archive_site
from sitesrv import Site
from util import ROOT, write_config
from watcher.cli import cli
from watcher.config import check

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("### Reaching back: `watcher backfill`", 1)[1].split("\n## ", 1)[0]
EXAMPLES = [line.split("#", 1)[0].strip() for line in SECTION.splitlines() if line.startswith("    watcher ")]


def test_the_section_has_examples_of_both_commands():
    assert any(e.startswith("watcher backfill") for e in EXAMPLES)
    assert any(e.startswith("watcher coverage") for e in EXAMPLES)


def test_the_backfill_settings_example_is_valid(tmp_path):
    block = re.search(r"```yaml\n(backfill:.*?)```", SECTION, flags=re.S).group(1)
    path = tmp_path / "sources.yaml"
    path.write_text(block + "sources: []\n", encoding="utf-8")
    _, problems = check(path)
    assert problems == []


@pytest.fixture
def site():
    s = Site().start()
    yield s
    s.stop()


def test_the_examples_run_in_order(tmp_path, site):
    archive_site(site, n=3, loop=False)
    names = set(re.findall(r"--source (\S+)", " ".join(EXAMPLES)))
    cfg = write_config(tmp_path, [{"name": n, "url": site.url("/archive/feed.xml"), "backfill_rate": 20}
                                  for n in sorted(names)])
    outputs = []
    for example in EXAMPLES:
        args = shlex.split(example)[1:]
        result = CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
        assert result.exit_code == 0, (example, result.output)
        outputs.append(result.output)
    assert "complete by feed" in outputs[0]
    assert "dry run" in outputs[EXAMPLES.index(next(e for e in EXAMPLES if "--dry-run" in e))]
    assert "covered" in outputs[-1]
