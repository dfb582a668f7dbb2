"""Matching: the shipped list against a table of cases (tests/match_cases.yaml), and the matcher's
rules (boundaries, clitics, context, exclusions, title weight, offsets) against small lists."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import yaml

from watcher import errors
from watcher.keywords import load_keywords
from watcher.match import Matcher
from watcher.review import review_status_after
from watcher.normalize import fold

ROOT = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load((Path(__file__).with_name("match_cases.yaml")).read_text("utf-8"))["cases"]


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    return Matcher.load(ROOT / "seeds" / "keywords.yaml")


def _case_id(case: list) -> str:
    return f"{case[0]}:{case[1][:40]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_shipped_list_cases(shipped: Matcher, case: list) -> None:
    lang, text, expected = case[0], case[1], case[2]
    opts = {k: v for extra in case[3:] for k, v in extra.items()}
    if opts.get("form"):
        text = unicodedata.normalize(opts["form"], text)
    if opts.get("in") == "body":
        result = shipped.match("", text, "", lang)
    else:
        result = shipped.match(text, "", "", lang)
    why = f"score {result.score}, topics {result.topics}, keywords {result.keywords}"
    if expected == "none":
        assert not result.relevant, f"should not be relevant: {text!r} ({why})"
    else:
        assert result.relevant, f"should be relevant: {text!r} ({why})"
        assert set(expected) <= set(result.topics), f"{text!r}: expected topics {expected} ({why})"


def write_list(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "keywords.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def small(tmp_path: Path, body: str) -> Matcher:
    return Matcher.from_list(load_keywords(write_list(tmp_path, body)))


BASE = """
threshold: 3
title_weight: 1.5
context:
  chip: {any: [chip, GPU], ar: [رقائق], zh: [芯片]}
  huawei: {any: [Huawei]}
ignore: [casino chip]
topics:
  models:
    - weight: 3
      any: [H20, CloudMatrix]
  controls:
    - weight: 3
      with: [chip]
      near: 5
      en: [export control]
      ar: [ضوابط التصدير]
      zh: [出口管制]
  ascend:
    - weight: 3
      with: [huawei]
      near: 2
      any: [Ascend]
      unless: [smartphone]
  weak:
    - weight: 2
      en: [smuggl*]
"""


@pytest.mark.parametrize("text, hits", [
    ("H20", ["H20"]),
    ("Nvidia H20s sold", ["H20"]),
    ("the H20-class parts", ["H20"]),
    ("英伟达H20芯片", ["H20"]),
    ("H200 and H2O and H-20", []),
    ("AH20 or H20X", []),
    ("CloudMatrix 384", ["CloudMatrix"]),
])
def test_latin_boundaries(tmp_path: Path, text: str, hits: list[str]) -> None:
    m = small(tmp_path, BASE)
    assert m.match(text, "", "").keywords == hits


@pytest.mark.parametrize("text, relevant", [
    ("ضوابط التصدير على الرقائق", True),
    ("لضوابط التصدير على الرقائق", True),
    ("وبضوابط التصدير للرقائق", True),
    ("والرقائق تخضع لضوابط التصدير", True),
    ("ضوابط التصديرية على الرقائق", True),    # -ية is an accepted ending (the nisba adjective)
    ("مضوابط التصدير على الرقائق", False),    # م is not a clitic
])
def test_arabic_clitics(tmp_path: Path, text: str, relevant: bool) -> None:
    m = small(tmp_path, BASE)
    got = m.match(text, "", "", "ar")
    assert got.relevant is relevant, got


def test_context_near_and_unless(tmp_path: Path) -> None:
    m = small(tmp_path, BASE)
    assert m.match("Huawei Ascend AI chips", "", "").relevant
    assert not m.match("Ascend", "", "").relevant  # no Huawei
    far = "Huawei said on Monday that many climbers ascend Everest every year"
    assert not m.match(far, "", "").relevant  # Huawei is there, but not near
    assert not m.match("Huawei Ascend smartphone review", "", "").relevant  # unless
    assert m.match("new export controls on chips", "", "").relevant
    assert not m.match("export controls on jet engines", "", "").relevant
    long_gap = "export controls cover engines, ethane, software, steel, lumber and also chips"
    assert not m.match(long_gap, "", "").relevant  # chip is more than 5 words away


def test_ignore_hides_what_it_overlaps(tmp_path: Path) -> None:
    m = small(tmp_path, BASE)
    assert not m.match("export controls on casino chips", "", "").relevant
    assert m.match("export controls on casino chips and GPUs", "", "").relevant


def test_title_counts_more_and_threshold(tmp_path: Path) -> None:
    m = small(tmp_path, BASE)
    in_title = m.match("GPU smuggling", "", "")
    in_body = m.match("", "GPU smuggling ring", "")
    assert in_title.score == 3.0 and in_title.relevant  # weight 2 x title_weight 1.5
    assert in_body.score == 2.0 and not in_body.relevant
    assert in_body.keywords == ["smuggl*"]


def test_a_term_counts_once(tmp_path: Path) -> None:
    m = small(tmp_path, BASE)
    once = m.match("", "H20", "")
    many = m.match("", "H20 " * 40, "H20 again")
    assert once.score == many.score == 3.0
    assert len(many.hits) <= 6  # capped per term and field, still shows where


def test_hits_point_into_the_original_text(tmp_path: Path) -> None:
    m = small(tmp_path, BASE)
    title = "Trung Quốc: Ｈ２０‐class  chips — ضوابط  التصدير"   # full-width H20, odd hyphen, double space
    content = "Lệnh mới về ضوابطُ التّصدير على الرقائق و出口管制芯片"  # tashkeel inside the term
    r = m.match(title, "", content, None)
    assert {(h.field, h.term) for h in r.hits} == {("title", "H20"), ("title", "ضوابط التصدير"),
                                                  ("content", "ضوابط التصدير"), ("content", "出口管制")}
    for h in r.hits:
        shown = {"title": title, "content": content}[h.field][h.start:h.end]
        assert fold(h.term) in fold(shown), (h, shown)
    assert title[r.hits[0].start:r.hits[0].end] == "Ｈ２０"
    plural = m.match("", "", "new export controls on GPUs and لضوابط التصدير على الرقائق")
    assert [plural.hits[0].start, plural.hits[0].end] == [4, 19]  # "export controls", plural included
    assert "new export controls on GPUs and لضوابط التصدير"[plural.hits[1].start:plural.hits[1].end] == "لضوابط التصدير"
    json.dumps([h.__dict__ for h in r.hits])  # storable as the items.hits column


def test_vietnamese_terms_stay_in_vietnamese_items(tmp_path: Path) -> None:
    body = BASE.replace("  weak:\n", "  vi-only:\n    - weight: 3\n      vi: [cam van]\n  weak:\n")
    m = small(tmp_path, body)
    assert m.match("Lệnh cấm vận chip", "", "", "vi").relevant
    assert m.match("Lenh cam van chip", "", "", "vi-VN").relevant
    assert not m.match("a dash cam van was stolen", "", "", "en").relevant
    assert m.match("Lenh cam van", "", "", None).relevant  # unknown language: everything applies


def test_load_missing_file_says_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError) as e:
        Matcher.load(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(e.value) and "watcher keywords derive" in str(e.value)


@pytest.mark.parametrize("old, relevant, dup, new", [
    (None, True, None, "new"),
    (None, True, "seed:000.txt", None),
    (None, False, None, None),
    ("new", False, None, None),
    ("new", True, "item:4", None),
    ("accepted", False, None, "accepted"),
    ("rejected", True, None, "rejected"),
    ("later", False, None, "later"),
    ("new", True, None, "new"),
])
def test_review_status_after(old, relevant, dup, new) -> None:
    assert review_status_after(old, relevant, dup) == new
