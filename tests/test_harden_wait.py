"""--wait is a number of seconds a person can mean: `nan`, `inf`, negatives and absurd values are a
usage error naming the option, never a wait for ever behind a `watcher run` that never stops."""

from __future__ import annotations

import pytest

from util import run_cli, write_config

COMMANDS = [("poll",), ("backfill", "--since", "2026-11-01"), ("fulltext",)]
BAD = ["nan", "inf", "-inf", "-1", "86401", "1e9", "soon"]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("value", BAD)
def test_an_absurd_wait_is_refused_before_anything_runs(tmp_path, command, value):
    cfg = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    p = run_cli(cfg, *command, "--wait", value, check=False)
    assert p.returncode == 2, p.stderr
    assert "--wait" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "state" / "watcher.db").exists()


@pytest.mark.parametrize("value", ["0", "0.5", "86400"])
def test_a_sensible_wait_is_taken(tmp_path, value):
    cfg = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    p = run_cli(cfg, "poll", "--wait", value, check=False)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
