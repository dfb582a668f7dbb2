"""Issue 9, "Smaller": in `watcher show`, the per-hit "(+3)" figures did not add up to the score.

The score counts each term once per topic, times title_weight when it is in the title; `show`
printed the rule's weight on every hit (up to three per field), so repeats and the title bonus made
the figures disagree. Now each hit carries the points it added. Classes: repeated terms, the title
bonus, a term in several fields and topics, and every case of tests/match_cases.yaml (context rules,
exclusions, four languages).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from test_digest import add_item
from test_harden_display import _cli, _project
from util import ROOT
from watcher.keywords import load_keywords
from watcher.match import Matcher


def _shipped() -> Matcher:
    return Matcher.from_list(load_keywords(ROOT / "seeds" / "keywords.yaml"))


def test_hit_points_add_up_to_the_score_for_every_shipped_case() -> None:
    """Every text of tests/match_cases.yaml as a title, as title and summary, and repeated in a summary."""
    m = _shipped()
    scored = 0
    for lang, text, *_ in yaml.safe_load((Path(__file__).parent / "match_cases.yaml").read_text("utf-8"))["cases"]:
        for title, summary in ((text, text), (text, ""), ("", f"{text}. {text}. {text}. {text}")):
            res = m.match(title, summary, "", lang)
            assert sum(h.points for h in res.hits) == pytest.approx(res.score, abs=1e-3), (text, res)
            scored += bool(res.hits)
    assert scored > 50


# Items whose hits used to add up wrong: repeats, the title bonus, one term under two rules or topics.
SHOW_ITEMS = [
    ("en", "Nvidia H20 sales to China: H20 licences granted", "The H20 is back. H20, H20 and H20 again."),
    ("en", "US tightens export controls on AI chips to China", "Export controls on AI chips, the Entity List."),
    ("en", "", "Huawei Ascend 910C clusters; CloudMatrix 384 and Ascend chips for China's AI data centres."),
    ("vi", "Mỹ siết kiểm soát xuất khẩu chip AI sang Trung Quốc", "kiểm soát xuất khẩu chip AI, chip AI"),
    ("en", "Singapore charges three over smuggling of Nvidia servers", "Nvidia GPUs smuggled to China, Nvidia"),
]


def test_show_prints_per_hit_points_that_add_up_to_the_score(tmp_path: Path) -> None:
    cfg_path, db = _project(tmp_path)
    m = _shipped()
    multiplied = repeated = 0
    for i, (lang, title, summary) in enumerate(SHOW_ITEMS, start=1):
        res = m.match(title, summary, "", lang)
        assert res.hits, title or summary
        add_item(db, id=i, title=title, summary=summary, language=lang,
                 hits=[h.__dict__ for h in res.hits], keywords=res.keywords, topics=res.topics)
        db.execute("UPDATE items SET score = ? WHERE id = ?", [round(res.score, 4), i])
        shown = _cli(cfg_path, "show", str(i))
        score = float(re.search(r"\(score ([0-9.]+)", shown).group(1))
        figures = [float(x) for x in re.findall(r" in (?:title|summary|content) \(\+([0-9.]+)", shown)]
        assert len(figures) == len(res.hits), shown
        assert sum(figures) == pytest.approx(score, abs=1e-3), shown
        multiplied += "title_weight" in shown
        repeated += "+0: counted once, above" in shown
    assert multiplied and repeated, "the table no longer covers the title bonus and repeated terms"


def test_show_says_when_an_item_was_scored_before_points_were_kept(tmp_path: Path) -> None:
    cfg_path, db = _project(tmp_path)
    add_item(db, id=1, hits=[{"topic": "chips", "term": "H20", "field": "title", "start": 7, "end": 10, "weight": 3}])
    shown = _cli(cfg_path, "show", "1")
    assert "(weight 3)" in shown and "`watcher rematch` records them" in shown
