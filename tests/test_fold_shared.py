"""One fold per field, shared by matching and shingling (shingles.fold_text), must be the fold each
of them made on its own: `flat` is exactly normalize.fold, and `paragraphs` are each line's tokens.

Long texts take a numpy route with the rare characters (several-character folds, emoji, marks that
fold to nothing) spliced in, short ones str.translate; both are checked on text built from every
class of character the fold treats specially.
"""

from __future__ import annotations

import random

import pytest

from watcher.dedup.shingles import _PFOLD, fold_text, tokens
from watcher.normalize import fold

# Characters by how the fold treats them: plain, accented, several-character folds, folds to nothing,
# beyond the BMP, CJK (one token each, traditional -> simplified), Arabic, breaks and spaces.
POOL = (
    list("abcXYZ0123 ") * 4
    + list("éẾđĐñÅøæœ")
    + ["ß", "ﬁ", "™", "½", "ǅ", "한", "국", "İ"]
    + ["\u00ad", "\u200b", "\u0301", "ـ", "\ufeff"]
    + ["🙂", "𝐀", "𠀀", "\U0002f800"]
    + list("芯片出口管制華為ｶﾀｶﾅ")
    + list("الرقائقة")
    + ["\n", "\r", "\u2029", "\u00a0", "\t", "…", "—", "-", ".", "\x00", "\x01"]
)


def reference(text: str) -> tuple[str, list[str]]:
    lines = text.translate(_PFOLD).split("\n") if text else []
    return fold(text), [" ".join(tokens(line)) for line in lines]


def texts() -> list[str]:
    rng = random.Random(10)
    out = ["", " ", "\n\n", "plain ascii words", "Straße…", "a\u00adb", "🙂" * 300, "ß" * 300 + "x",
           "x" * 255 + "ß", "word " * 60 + "ﬁ" * 70]
    for n in (5, 40, 255, 256, 300, 2000):
        for _ in range(40):
            out.append("".join(rng.choice(POOL) for _ in range(n)))
    return out


@pytest.mark.parametrize("text", texts())
def test_fold_text_is_the_fold_and_the_paragraphs(text: str) -> None:
    f = fold_text(text)
    flat, paragraphs = reference(text)
    assert f.flat == flat
    assert f.paragraphs == paragraphs
    assert " ".join(f.text.split()) == flat  # the kept-breaks text differs only in its spaces
