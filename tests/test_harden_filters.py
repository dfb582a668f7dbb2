"""Issue 9, item 13: a filter naming a source, topic, language or status that does not exist is an
error (exit 2, one line) with "did you mean", never an empty list that reads as "nothing matched".

Class of fault: a value typed on the command line that names nothing: a shortened name, a typo, the
wrong case, a made-up value, on every command that filters by it. A valid value that matches no queued
item is still an empty list with exit 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_digest import add_item
from util import ROOT, run_cli, write_config
from watcher import store
from watcher.choices import close_matches, unknown_message
from watcher.config import LANGUAGES
from watcher.keywords import load_keywords


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("filters")
    path = write_config(tmp, [{"name": "wire", "url": "http://127.0.0.1:9/a.xml"},
                              {"name": "vnexpress-intl", "url": "http://127.0.0.1:9/b.xml"}])
    db = store.connect(tmp / "state" / "watcher.db")
    add_item(db, id=1, source="vnexpress-intl", language="vi", topics=["smuggling-remote-compute"])
    add_item(db, id=2, source="wire", language="en", topics=["export-controls"])
    # A topic the keyword list has since dropped: its items still carry it, so it is a valid filter.
    add_item(db, id=3, source="wire", language="en", topics=["old-topic"])
    db.conn.close()
    return path


# (command line, what stderr must say); each exits 2 with one line and records nothing.
UNKNOWN = [
    (["review", "list", "--topic", "smuggling"],
     ["no topic named 'smuggling' (--topic)", "did you mean 'smuggling-remote-compute'?"]),
    (["review", "--topic", "smuggling-remote-computer"], ["did you mean 'smuggling-remote-compute'?"]),
    (["review", "list", "--topic", "Export-Controls"], ["did you mean 'export-controls'?"]),
    (["review", "list", "--topic", "zzz"], ["no topic named 'zzz'", "known topics: ", "export-controls",
                                            "old-topic"]),
    (["review", "list", "--source", "vnexpres"], ["no source named 'vnexpres' (--source)",
                                                  "did you mean 'vnexpress-intl'?"]),
    (["review", "list", "--source", "bbc"], ["known sources: vnexpress-intl, wire"]),
    (["review", "list", "--language", "vn"], ["no language named 'vn' (--language)",
                                              "known languages: ar, en, vi, zh"]),
    (["review", "list", "--language", "EN"], ["did you mean 'en'?"]),
    (["review", "list", "--status", "rejectd"], ["no review status named 'rejectd' (--status)",
                                                 "did you mean 'rejected'?"]),
    (["review", "--source", "wire", "--topic", "smugling"], ["did you mean 'smuggling-remote-compute'?"]),
    (["poll", "--source", "wirre"], ["no source named 'wirre' (--source)", "did you mean 'wire'?"]),
]


@pytest.mark.parametrize("args,says", UNKNOWN, ids=[" ".join(a) for a, _ in UNKNOWN])
def test_an_unknown_filter_value_is_an_error_that_suggests_the_known_ones(cfg: Path, args: list[str],
                                                                          says: list[str]) -> None:
    p = run_cli(cfg, *args, check=False)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    for s in says:
        assert s in lines[0]


# (command line, an id listed, or None for "nothing matched" on stderr): valid values, exit 0.
VALID = [
    (["review", "list", "--topic", "smuggling-remote-compute"], 1),
    (["review", "list", "--topic", "old-topic"], 3),
    (["review", "list", "--source", "vnexpress-intl", "--language", "vi"], 1),
    (["review", "list", "--status", "reject"], None),  # what a person types for `rejected`
    (["review", "list", "--topic", "legislation"], None),  # in the keyword list, nothing queued under it
    (["review", "list", "--language", "ar"], None),
]


@pytest.mark.parametrize("args,listed", VALID, ids=[" ".join(a) for a, _ in VALID])
def test_a_known_value_lists_what_matches_or_says_nothing_does(cfg: Path, args: list[str],
                                                               listed: int | None) -> None:
    p = run_cli(cfg, *args)
    if listed is None:
        assert p.stdout == "" and "the queue has no" in p.stderr
    else:
        # A title too long for a narrow terminal (COLUMNS) goes on an indented line of its own.
        assert [int(line.split()[0]) for line in p.stdout.splitlines() if not line.startswith(" ")] == [listed]


def test_many_known_values_are_pointed_to_rather_than_listed() -> None:
    names = [f"source-{i:02}" for i in range(60)] + ["bbc-arabic"]
    msg = unknown_message("source", "bbc-arabc", names, option="--source", all_listed_by="`watcher status`")
    assert "did you mean 'bbc-arabic'?" in msg and "61 known sources (`watcher status` lists them)" in msg
    assert "source-59" not in msg


@pytest.mark.parametrize("typed,known,first", [
    ("smuggling", ["export-controls", "smuggling-remote-compute"], "smuggling-remote-compute"),
    ("REMOTE", ["export-controls", "smuggling-remote-compute"], "smuggling-remote-compute"),
    ("bbc-arabc", ["bbc-arabic", "bbc-chinese"], "bbc-arabic"),
    ("Vi", list(LANGUAGES), "vi"),
    ("smugling", ["export-controls", "smuggling-remote-compute"], "smuggling-remote-compute"),
    ("expot-controls", ["export-controls", "smuggling-remote-compute"], "export-controls"),
    ("wire", ["wire-2", "wire"], "wire"),
])
def test_close_matches_finds_shortened_misspelt_and_miscased_names(typed: str, known: list[str], first: str) -> None:
    assert close_matches(typed, known)[0] == first


def test_the_readme_review_example_filters_by_values_that_exist() -> None:
    topics = set(load_keywords(ROOT / "seeds" / "keywords.yaml").topics)
    commands = re.findall(r"watcher review list (.*)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands
    for cmd in commands:
        opts = dict(re.findall(r"--(\w+) (\S+)", cmd))
        assert opts.get("topic", "export-controls") in topics, cmd
        assert opts.get("language", "en") in LANGUAGES, cmd
