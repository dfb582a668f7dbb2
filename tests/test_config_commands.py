"""No command starts on a configuration that `watcher check` rejects.

Every command reaches the config through `App.config` (watcher/cli/__init__.py), which is
`config.load`, which is `check`; `poll` and `run` also check the keyword list before they take the
lock or open the store. Walked over every command the CLI has, so a new command is covered too.
"""

from __future__ import annotations

import sys

import click
import pytest

from util import ROOT
from watcher.cli import cli, main

GOOD_URL = "https://example.org/feed"


def _commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, c in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(c, click.Group):
            out += _commands(c, (*prefix, name))
    return out


# What each command needs besides the config to get as far as loading it.
ARGS: dict[tuple[str, ...], list[str]] = {
    ("check",): [], ("poll",): [], ("run",): [], ("status",): [], ("export",): [], ("show",): ["1"],
    ("digest",): [], ("review",): [], ("review", "list"): [], ("review", "accept"): ["1"],
    ("review", "reject"): ["1"], ("review", "later"): ["1"], ("review", "import"): ["{dir}/labels.csv"],
    ("keywords",): None, ("keywords", "derive"): [], ("keywords", "test"): ["--term", "chip"],
    ("keywords", "report"): [], ("rematch",): [], ("dedup",): [], ("serve",): [],
    ("backfill",): ["--since", "2026-11-01"], ("coverage",): [], ("fulltext",): [],
}  # None: a group that only lists its subcommands


def test_the_table_of_commands_is_complete():
    assert sorted(ARGS) == _commands(), "a new command: add it to ARGS so it is checked below"


def _run_cli(argv: list[str], capsys) -> tuple[int, str]:
    old = sys.argv
    sys.argv = ["watcher", *argv]
    try:
        with pytest.raises(SystemExit) as e:
            main()
    finally:
        sys.argv = old
    return e.value.code, capsys.readouterr().err


@pytest.fixture
def no_scheduler(monkeypatch):
    # Guard only: if `run` ever started on a rejected config, fail instead of serving for ever.
    from watcher import scheduler

    def serve(self):
        raise AssertionError("run started on a rejected config")

    monkeypatch.setattr(scheduler.Runner, "serve", serve)


@pytest.mark.parametrize("command", [c for c in sorted(ARGS) if ARGS[c] is not None], ids=" ".join)
def test_no_command_starts_on_a_config_check_rejects(tmp_path, capsys, no_scheduler, command):
    state = tmp_path / "state"
    path = tmp_path / "sources.yaml"
    path.write_text(f"state: {state}\nkeywords: {ROOT / 'seeds' / 'keywords.yaml'}\nfetch:\n  per_host: -2\n"
                    f"sources:\n  - name: a\n    url: http://127.0.0.1:99999/x\n", encoding="utf-8")
    (tmp_path / "labels.csv").write_text("id,review_status\n1,accepted\n", encoding="utf-8")
    args = [a.format(dir=tmp_path) for a in ARGS[command]]
    code, err = _run_cli(["--config", str(path), *command, *args], capsys)
    assert code == 1, err
    assert "Traceback" not in err
    assert f"{path}:4: fetch.per_host must be a whole number from 1 to 64" in err
    assert f"{path}:7: source 'a' url" in err and "port" in err
    assert not state.exists(), "refused before the store was opened or the lock taken"


@pytest.mark.parametrize("command", [("poll",), ("run",), ("rematch",), ("keywords", "report"),
                                     ("keywords", "test")], ids=" ".join)
def test_commands_that_match_refuse_a_keyword_list_check_rejects(tmp_path, capsys, no_scheduler, command):
    state = tmp_path / "state"
    kw = tmp_path / "kw.yaml"
    kw.write_text("threshold: 0\ntopics:\n  t:\n    - weight: 3\n      en: [chip]\n", encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text(f"state: {state}\nkeywords: {kw}\nsources:\n  - name: a\n    url: {GOOD_URL}\n",
                    encoding="utf-8")
    args = ["--term", "chip"] if command == ("keywords", "test") else []
    code, err = _run_cli(["--config", str(path), *command, *args], capsys)
    assert code == 1, err
    assert "Traceback" not in err
    assert f"{kw}:1: threshold must be a number above 0" in err
    if command in (("poll",), ("run",)):
        assert not state.exists(), "refused before the store was opened or the lock taken"
