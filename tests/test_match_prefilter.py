"""The matcher's shortcut for items that cannot hold a term (Matcher._may_hold_term) must never
change a result: it only skips the full scan where that scan would find no term.

Text is built around every term of the shipped keyword list, with neighbours of every class the
edge rules treat differently (none, Latin letters and digits, plural endings, other scripts, Arabic
clitics, CJK, punctuation, line breaks, several spaces), in titles, summaries and bodies, in each
language; every result is compared with the same matcher's full scan (the shortcut switched off).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from watcher.match import TERM, Matcher, _edges
from watcher.normalize import fold

ROOT = Path(__file__).resolve().parents[1]
MATCHER = Matcher.load(ROOT / "seeds" / "keywords.yaml")
FULL_SCAN = copy.copy(MATCHER)
FULL_SCAN._terms = None  # the shortcut off: every item gets the full scan

NEIGHBOURS = ["", " ", "  ", "\n", "-", ",", ".", "s", "es", "ing", "x", "9", "é", "中", "ال", "و", "ها",
              "Я", "ß", "\u00a0", "’", "«", "1"]


def terms() -> list[str]:
    kl = MATCHER.list
    out = [t.text for r in kl.rules for t in (*r.terms, *r.unless)]
    out += [t.text for ts in kl.context.values() for t in ts] + [t.text for t in kl.ignore]
    return sorted(set(out))


def texts(seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    words = terms()
    filler = ["the", "billion", "bills", "report", "said", "chipotle", "华为公司", "قالت", "tuần", "ai", "a"]
    out = []
    for _ in range(400):
        def field() -> str:
            parts = []
            for _ in range(rng.randint(0, 6)):
                w = rng.choice(words + filler)
                w = rng.choice([w, w.upper(), w.title()])
                parts.append(rng.choice(NEIGHBOURS) + w + rng.choice(NEIGHBOURS))
            return rng.choice([" ", "", "\n", " - "]).join(parts)
        out.append((field(), field(), field()))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("language", [None, "en", "vi", "zh", "ar"])
def test_shortcut_never_changes_a_result(seed: int, language: str | None) -> None:
    for title, summary, content in texts(seed):
        assert MATCHER.match(title, summary, content, language) == FULL_SCAN.match(title, summary, content, language)


LEFT = ["", " ", "x", "9", "中", "و", "ال", "é", "-"]
RIGHT = ["", " ", "s", "es", "ing", "x", "9", "中", "ها", "\n", "-"]


def term_can_pass(folded: str) -> bool:
    """Whether any term occurrence in the folded text passes its edge checks (in some language)."""
    for end, entries in MATCHER._auto.iter(folded):
        for e in entries:
            if e.kind == TERM and _edges(folded, end + 1 - e.length, end + 1, e) is not None:
                return True
    return False


def test_shortcut_lets_through_every_text_a_term_can_pass_in() -> None:
    seen = 0
    for term in terms():
        for left in LEFT:
            for right in RIGHT:
                folded = fold(f"{left}{term}{right}")
                if term_can_pass(folded):
                    seen += 1
                    assert MATCHER._may_hold_term(folded), folded
    assert seen > 1000


def test_shortcut_stops_a_term_inside_a_longer_word() -> None:
    assert not MATCHER._may_hold_term(fold("a billion dollars"))
    assert MATCHER._may_hold_term(fold("a bill passed"))
    assert MATCHER._may_hold_term(fold("two bills"))


def test_the_cases_exercise_both_outcomes() -> None:
    results = [MATCHER.match(*t, None) for t in texts(0)]
    assert any(r.score > 0 for r in results) and any(r.score == 0 for r in results)
