"""The word lists and shapes `keywords derive` relies on (issue 9, #14): junk told by its shape, Vietnamese
words kept whole by syllable statistics, and the shipped lists small, general and loadable."""

from __future__ import annotations

import pytest

from watcher import lexicon
from watcher.normalize import fold
from watcher.syllables import cohesion, word_starts

SHAPES = [
    ("bdfd7fc6-d0df-4070-96e5-7900b0cc1204", True),
    ("3f9a2c7be1", True),
    ("DEADBEEF01", True),
    ("https://example.com/x", True),
    ("ft.com", True),
    ("press@example.com", True),
    ("2025", True),
    ("21/5", True),
    ("8,5", True),
    ("70B", True),
    ("16GB", True),
    ("3nm", True),
    ("X", True),
    ("a" * 41, True),
    ("H20", False),
    ("910C", False),
    ("NVL72", False),
    ("GPT-4", False),
    ("CloudMatrix 384", False),
    ("Nvidia", False),
]


@pytest.mark.parametrize("token, junk", SHAPES, ids=[s for s, _ in SHAPES])
def test_junk_is_told_by_its_shape(token: str, junk: bool) -> None:
    assert (lexicon.junk_shape(token) is not None) == junk, lexicon.junk_shape(token)


def test_a_compound_wins_over_a_frequent_neighbour() -> None:
    # "dụng" is bound to "sử"/"ứng"; "chip" goes with anything. Without the shipped list the statistics
    # alone must keep "ứng dụng" whole in "ứng dụng chip".
    lines = [fold(s).split() for s in ("ứng dụng chip AI", "ứng dụng mới", "chip rẻ", "mua chip",
                                       "ứng dụng chip", "chip Nvidia", "bán chip", "sử dụng chip")]
    starts = word_starts(fold("các ứng dụng chip AI").split(), cohesion(lines))
    assert starts == [True, True, False, True, True, True]


def test_every_shipped_list_loads_and_is_small() -> None:
    for lang in ("en", "vi", "ar", "zh"):
        words = lexicon.common_words(lang)
        assert 100 <= len(words) <= 600, (lang, len(words))
    assert "joe" in lexicon.given_names() and "tổng thống" in lexicon.person_titles()
    # A title is compared with its accents: "bà" is a title, "ba" (three) is not.
    assert "bà" in lexicon.person_titles() and "ba" not in lexicon.person_titles()
