"""`near:` decides on match._within, which stops counting the words of a long gap once its first
characters already hold too many; it must agree with counting them all (match._words_between), for
Latin, Chinese (each character a word) and mixed text, either order of the two spans."""

from __future__ import annotations

import random

import pytest

from watcher.match import _Span, _within, _words_between

POOL = ["a", "bc", " ", " ", "芯", "片", "x9", "é", "  ", "ال", "word"]


def cases(seed: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(1000):
        text = "".join(rng.choice(POOL) for _ in range(rng.randint(0, 600)))
        a, b = sorted(rng.randint(0, len(text)) for _ in range(2))
        out.append((text, a, b))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_within_agrees_with_counting_every_word(seed: int) -> None:
    for text, a, b in cases(seed):
        left, right = _Span(0, a, None), _Span(b, len(text), None)  # type: ignore[arg-type]
        words = _words_between(text, left, right)
        for near in (0, 1, 3, 5, 10, 40):
            assert _within(text, left, right, near) == (words <= near) == _within(text, right, left, near)
