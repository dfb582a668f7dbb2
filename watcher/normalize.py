"""One text folding, shared by keyword matching and deduplication.

Both stages must see "kiểm soát xuất khẩu", "kiem soat xuat khau" and the NFD form of the first as the
same string, or a seed copied without diacritics would match the keywords but escape dedup (or the
other way round). So there is exactly one fold, and it is defined per character:

- NFKC, then case folding (full-width letters, ligatures, Arabic presentation forms, "ß");
- combining marks dropped after canonical decomposition: Vietnamese tones and vowel marks, Arabic
  tashkeel, and the hamza carried on alef/waw/ya (so أ إ آ ٱ all become ا); đ becomes d;
- Arabic ta marbuta ة -> ه, alef maqsura ى -> ي, tatweel removed, Persian kaf/ya to Arabic, Arabic-Indic
  digits to ASCII;
- traditional Chinese characters to simplified (OpenCC's character table);
- every other character that is not a letter or a digit (punctuation, symbols, hyphens) becomes a space,
  and runs of white space become one space.

Because the fold works character by character, `fold_with_offsets` can say which original character
every folded character came from, so a match found in folded text is shown in the original script.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

__all__ = ["fold", "fold_with_offsets", "fold_char", "fold_table"]

# Characters that decomposition does not reach, folded by hand.
_SPECIAL = {
    "đ": "d",
    "ð": "d",
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ة": "ه",  # ta marbuta: spelled with or without its dots in the wild
    "ى": "ي",  # alef maqsura vs ya
    "ی": "ي",  # Persian ya
    "ک": "ك",  # Persian kaf
    "ٱ": "ا",  # alef wasla
    "ـ": "",  # tatweel is decoration
    "\u200c": "",  # zero-width non-joiner inside words
    "\u200d": "",
    "\u200b": "",
    "\u00ad": "",  # soft hyphen
    "\ufeff": "",
}


def _load_t2s() -> dict[str, str]:
    """Traditional -> simplified, one character each, from the data OpenCC ships."""
    table: dict[str, str] = {}
    try:
        data = resources.files("opencc").joinpath("dictionary/TSCharacters.txt").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - dependency is declared
        return table
    for line in data.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            first = parts[1].split(" ")[0]
            if len(first) == 1 and first != parts[0]:
                table[parts[0]] = first
    return table


_T2S = _load_t2s()


def _fold_one(c: str) -> str:
    """Fold a single character that NFKC and case folding have already produced."""
    if c in _SPECIAL:
        return _SPECIAL[c]
    cat = unicodedata.category(c)
    if cat == "Mn" or cat == "Me" or cat == "Cf":
        return ""
    if cat[0] == "N":
        d = unicodedata.digit(c, None)
        return str(d) if d is not None else c
    if cat[0] == "L":
        base = "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))
        base = _SPECIAL.get(base, base)
        return _T2S.get(base, base)
    return " "


@lru_cache(maxsize=None)
def fold_char(c: str) -> str:
    """The fold of one original character (may be empty, or more than one character)."""
    pre = unicodedata.normalize("NFKC", c).casefold()
    return "".join(_fold_one(x) for x in pre)


class _Table(dict):
    """A str.translate table that fills itself: each code point is folded once per process."""

    def __missing__(self, cp: int) -> str:
        out = fold_char(chr(cp))
        self[cp] = out
        return out


def fold_table(overrides: dict[int, str] | None = None) -> dict[int, str]:
    """A str.translate table that folds like `fold_char`, except for `overrides`.

    `text.translate(table)` then needs only white space collapsed to equal `fold(text)` (for the
    characters not overridden). ASCII is prefilled, so the common case never calls __missing__.
    """
    table = _Table()
    for cp in range(128):
        table[cp] = fold_char(chr(cp))
    table.update(overrides or {})
    return table


_TABLE = fold_table()


def fold(text: str) -> str:
    """Fold text for matching and dedup. Idempotent: fold(fold(x)) == fold(x)."""
    if not text:
        return ""
    return " ".join(text.translate(_TABLE).split())


def fold_with_offsets(text: str, upto: int | None = None) -> tuple[str, list[int]]:
    """Fold text and say, for each folded character, the index of the original character it came from.

    The folded string is identical to `fold(text)`. Slower than `fold`; use it only to show a match.
    upto: only the folded characters up to this index are needed; the fold stops soon after them
    (a hit near the start of a long article need not fold the rest, one character at a time).
    """
    out: list[str] = []
    offsets: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        if upto is not None and len(out) > upto:
            break
        for f in _TABLE[ord(ch)]:
            if f.isspace():
                pending_space = bool(out)
                continue
            if pending_space:
                out.append(" ")
                offsets.append(i)
                pending_space = False
            out.append(f)
            offsets.append(i)
    return "".join(out), offsets
