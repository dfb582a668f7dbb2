"""`watcher keywords derive` proposes topic terms, not noise (issue 9, #14).

The classes of noise, as a table in derive_cases.yaml: stop words per language (en, vi, ar, zh),
capitals from grammar (sentence starts, Title Case), junk shapes (UUID, hex, URL, numbers, amounts,
single letters), pieces of Vietnamese compounds, terms from one seed only, people, and general
vocabulary of the stored items. Plus the command end to end: a real poll from a local server fills the
store that `derive` then uses as its background.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from util import ROOT, rss
from watcher import derive
from watcher.cli import cli
from watcher.normalize import fold

CASES = yaml.safe_load((Path(__file__).with_name("derive_cases.yaml")).read_text("utf-8"))


def _proposed(tmp_path: Path, case: dict) -> list[str]:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, text in case["seeds"].items():
        (seeds / name).write_text(text, encoding="utf-8")
    background = [(title, "", "", lang) for title, lang in case.get("background", [])]
    if "background_filler" in case:
        title, lang, n = case["background_filler"]
        background += [(f"{title} {i}", "", "", lang) for i in range(n)]
    result = derive.derive(seeds, background=background) if background else derive.derive(seeds)
    return [p.term for p in getattr(result, "proposals", result)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_derive_proposes_topic_terms_not_noise(case: dict, tmp_path: Path) -> None:
    terms = _proposed(tmp_path, case)
    folded = {fold(t): t for t in terms}
    noise = [t for t in case.get("must_not", []) if fold(str(t)) in folded]
    assert not noise, f"proposed noise {noise}; all proposals: {terms}"
    no_start, no_end = ({fold(w) for w in case.get(k, [])} for k in ("no_start", "no_end"))
    cut = [t for t in terms if fold(t).split()[0] in no_start or fold(t).split()[-1] in no_end]
    assert not cut, f"proposals that start or end inside a word: {cut}"
    missing = [t for t in case.get("must", []) if fold(str(t)) not in folded]
    assert not missing, f"not proposed: {missing}; all proposals: {terms}"


FOLD_ALIKE = {
    "vi": ({"a.txt": "Ông Lau của Tencent nói kim loại hiếm rất quan trọng. Ông Kim Jong Un cũng nói về kim loại hiếm.",
            "b.txt": "Trung Quốc hạn chế xuất khẩu kim loại hiếm. Ông Lau cho rằng kim loại hiếm sẽ tăng giá."},
           ["kim loại hiếm"], ["Lau", "Kim"]),
    "en": ({"a.txt": "The chip security bill passed the House. Bill Gates praised the chip security bill.",
            "b.txt": "A chip security bill would track exports. Senator Cotton wrote the chip security bill."},
           ["chip security bill"], ["Bill", "Gates", "Cotton"]),
}


@pytest.mark.parametrize("lang", FOLD_ALIKE)
def test_a_word_written_like_a_name_is_not_a_person(lang: str, tmp_path: Path) -> None:
    # Folding makes "Lau" (a name) of "lâu", "Kim" of "kim" (metal), "Bill" of "bill": the person rule
    # compares words as written, so it leaves the ordinary words alone.
    seeds, must, must_not = FOLD_ALIKE[lang]
    terms = _proposed(tmp_path, {"seeds": seeds})
    assert all(t in terms for t in must) and not any(t in terms for t in must_not), terms


# -- the command end to end ---------------------------------------------------------------------------

SEED_A = ("Tại Washington, Nvidia bàn về lệnh cấm chip. Washington muốn Nvidia dừng bán H20 cho Trung "
          "Quốc. Lệnh cấm chip kéo dài.\n")
SEED_B = ("Washington siết lệnh cấm chip, và Nvidia phản đối. Nvidia mất doanh thu ở Trung Quốc vì lệnh "
          "cấm chip. Washington và Bắc Kinh đàm phán.\n")


def _invoke(config: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_derive_leaves_out_what_the_stored_items_say_everywhere(feed_server, tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text(SEED_A, encoding="utf-8")
    (tmp_path / "seeds" / "b.txt").write_text(SEED_B, encoding="utf-8")
    (tmp_path / "seeds" / "keywords.yaml").write_bytes((ROOT / "seeds" / "keywords.yaml").read_bytes())
    # Ordinary news: Washington in one item of ten, Nvidia in one of two hundred and forty.
    items = [{"guid": f"g{i}", "title": f"{'Washington' if i % 10 == 0 else 'City'} council story {i}",
              "link": f"http://127.0.0.1/{i}", "description": "Local news of the day."} for i in range(240)]
    items[7]["title"] = "Nvidia shares rise"
    url = feed_server.add("/news.xml", rss(items).encode(), content_type="application/rss+xml")
    config = tmp_path / "sources.yaml"
    config.write_text(f"state: {json.dumps(str(tmp_path / 'state'))}\nsources:\n  - name: news\n"
                      f"    url: {json.dumps(url)}\n    language: en\n", encoding="utf-8")
    proposal = tmp_path / "seeds" / "keywords.proposed.yaml"

    # No store yet: only the shipped lists apply, and the command says so. It creates no store.
    out = _invoke(config, "keywords", "derive")
    assert "no stored items to compare with yet" in out
    assert not (tmp_path / "state" / "watcher.db").exists()
    assert "Washington" in proposal.read_text("utf-8")

    _invoke(config, "poll")
    out = _invoke(config, "keywords", "derive")
    text = proposal.read_text("utf-8")
    assert "left out 1 terms found in many of the 240 ordinary stored items: Washington (10.0%)" in out
    proposed = [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("        - ")]
    assert "- Washington" not in proposed and "- Nvidia" in proposed and "- lệnh cấm chip" in proposed
    assert "#   Washington [any] 10.0%" in text  # the file says what was left out, and why
    assert "in 0.4% of ordinary stored items" in text  # and how common each proposal is
    _invoke(config, "keywords", "test", str(proposal))  # still a valid list
    # `keywords test` says which terms bring the items in, so a generic one shows at once.
    out = _invoke(config, "keywords", "test", "--term", "Washington")
    assert "would add 24 items:\n  on the terms: Washington (24)\n" in out


def test_nothing_to_propose_is_said_and_writes_no_broken_list(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("The weather was fine and the market was calm.\n", encoding="utf-8")
    (tmp_path / "seeds" / "b.txt").write_text("Tin thể thao: đội nhà thắng trận đầu.\n", encoding="utf-8")
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - name: s\n    url: http://127.0.0.1:9/feed\n", encoding="utf-8")
    out = _invoke(config, "keywords", "derive")
    assert "en: only 1 seed, and a phrase needs 2 (--min-seeds)" in out
    assert "no term recurs enough in the seeds to propose" in out
    assert not (tmp_path / "seeds" / "keywords.proposed.yaml").exists()
