"""Every setting has a type and a range (watcher/bounds.py), and no command starts on a config that
`watcher check` rejects (that part: tests/test_config_commands.py).

The table is walked: each setting is written into a real sources.yaml (or keyword list) just inside
and just outside each of its bounds, and `check` must accept the one and refuse the other with
file:line and what is allowed. A setting added to a dataclass without a row in the table fails here.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from watcher import bounds, config, keywords
from watcher.bounds import SETTINGS, Bound, check_value

GOOD_URL = "https://example.org/feed"


def _settings_in_the_code() -> set[str]:
    """Every key a user can write that holds a value (not the structure: sources, topics, term lists)."""
    keys = {k for k in config.TOP_KEYS if k != "sources" and k not in config.SECTIONS}
    keys |= {f"{name}.{f.name}" for name, cls in config.SECTIONS.items() for f in dataclasses.fields(cls)}
    keys |= {f"source.{k}" for k in config.SOURCE_KEYS}
    structure = {"context", "ignore", "topics", "with", "unless", *keywords.TERM_LANGUAGES}
    keys |= {f"keywords.{k}" for k in (*keywords.TOP_KEYS, *keywords.RULE_KEYS) if k not in structure}
    return keys


def test_every_setting_has_exactly_one_row_in_the_table():
    in_code = _settings_in_the_code()
    assert in_code - set(SETTINGS) == set(), "add a row (type, range, why) to watcher/bounds.py SETTINGS"
    assert set(SETTINGS) - in_code == set(), "a row for a setting that no longer exists"


@pytest.mark.parametrize("name,cls", list(config.SECTIONS.items()))
def test_the_defaults_are_inside_their_own_ranges(name, cls):
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        got, problem = check_value(f"{name}.{f.name}", default)
        assert problem is None, problem


def _step(b: Bound) -> float:
    return 1 if b.kind != "number" else 0.001


def edges(b: Bound) -> tuple[list, list]:
    """(values just inside the bounds, values just outside them), as a user would write them."""
    lo, hi = b.lo, b.hi
    if b.kind == "int":
        return [int(lo), int(hi)], [int(lo) - 1, int(hi) + 1]
    if b.kind == "number":
        eps = _step(b)
        inside = [lo + eps if b.lo_open else lo, hi]
        return inside, [lo if b.lo_open else lo - eps, hi + eps]
    if b.kind == "duration":
        return [f"{int(lo)}s", f"{int(hi)}s"], [f"{int(lo) - 1}s", f"{int(hi) + 1}s"]
    if b.kind == "bool":
        return [True, False], ["maybe", 1]
    if b.kind == "choice":
        return list(b.choices), ["xx", b.choices[0].upper()]
    if b.kind == "clock":
        return ["00:00", "23:59", "7:05"], ["24:00", "23:60", "-1:00", "7"]
    if b.kind == "timezone":
        return ["UTC", "Asia/Ho_Chi_Minh"], ["Mars/Olympus", "America", "../UTC"]
    if b.kind == "emails":
        addr = "a@example.org"
        return [[], [addr] * int(hi)], [[addr] * (int(hi) + 1), ["not an address"]]
    if b.kind == "words":
        return [["x" * int(lo)], ["x" * int(hi)]], [["x" * (int(lo) - 1)], ["x" * (int(hi) + 1)]]

    def sized(n: int) -> str:
        if b.kind == "url":
            return GOOD_URL + "?" + "q" * (n - len(GOOD_URL) - 1) if n > len(GOOD_URL) else GOOD_URL[:n]
        if b.kind == "email":  # the shortest address is a@b
            return "a" * (n - len("@example.org")) + "@example.org" if n > 20 else ("a@b" + "c" * n)[:n]
        return "x" * n

    inside = [sized(int(hi))] + ([sized(int(lo))] if b.kind != "url" else [])
    outside = [sized(int(hi) + 1)] + ([sized(int(lo) - 1)] if lo >= 1 else [])
    return inside, outside


def _write(tmp_path: Path, key: str, value) -> Path:
    """A real file with `key` set to `value` and everything else valid; the path `check` should blame."""
    kw = {"threshold": 3, "context": {"c": {"en": ["china"]}},
          "topics": {"t": [{"weight": 3, "en": ["chip"], "with": ["c"], "near": 5}]}}
    doc: dict = {"keywords": str(tmp_path / "kw.yaml"),
                 "smtp": {"to": ["a@example.org"]},  # digest.send: true needs a recipient
                 "sources": [{"name": "a", "url": GOOD_URL}]}
    group, _, name = key.rpartition(".")
    if group == "keywords":
        (kw["topics"]["t"][0] if name in keywords.RULE_KEYS else kw)[name] = value
    elif group == "source":
        doc["sources"][0][name] = value
    elif group:
        doc.setdefault(group, {})[name] = value
    else:
        doc[name] = value
    (tmp_path / "kw.yaml").write_text(yaml.safe_dump(kw, allow_unicode=True), encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp_path / "kw.yaml" if group == "keywords" else path


def _problems(path: Path) -> list:
    if path.name == "kw.yaml":
        return keywords.check_keywords(path)[1]
    return config.check(path)[1]


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_each_bound_holds_just_inside_and_just_outside(tmp_path, key):
    inside, outside = edges(SETTINGS[key])
    assert inside and outside
    for value in inside:
        path = _write(tmp_path, key, value)
        assert _problems(path) == [], (key, value)
    for value in outside:
        path = _write(tmp_path, key, value)
        problems = _problems(path)
        assert len(problems) == 1, (key, value, problems)
        p = problems[0]
        assert p.file == str(path) and p.line > 0, p
        # The message names the setting and says what is allowed, in the table's own words.
        assert key.rpartition(".")[2] in p.message, p.message
        if "must be" in p.message:
            assert bounds.allowed(SETTINGS[key]) in p.message, p.message


def test_a_row_without_a_range_or_a_reason_cannot_be_written():
    with pytest.raises(AssertionError):
        Bound("int", 1, None, why="x")
    with pytest.raises(AssertionError):
        Bound("number", 0, 1)


def test_the_ranges_the_readme_states_are_the_tables():
    from util import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## sources.yaml"):readme.index("## Development")]
    stated = re.findall(r"`([a-z_.]+)` ([0-9]+[smhd]?)-([0-9]+[smhd]?)\b", section)
    assert len(stated) >= 4
    for key, lo, hi in stated:
        b = SETTINGS[key]
        text = bounds.duration_text if b.kind == "duration" else (lambda x: f"{x:g}")
        assert (lo, hi) == (text(b.lo), text(b.hi)), key
