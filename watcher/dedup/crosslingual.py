"""A language-independent signal that two texts in different languages tell the same story.

Shingles cannot meet across languages, but some tokens survive translation unchanged: numbers
("300 servers", "15%"), model numbers and codes (H100, 910B), and Latin-script names as they appear
inside Vietnamese, Arabic or Chinese text (Nvidia, Derek Aw, Brisbane). These are the *anchors* of
a text. Two texts in different languages that share several anchors that are rare elsewhere are
probably one story. The signal is weak, so it only ever flags a *possible* duplicate.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np

from ..normalize import fold

__all__ = ["anchors", "script_language", "score"]

# A sentence ends (so the next capitalised word is no name) at one of these, maybe followed by spaces.
_END = "[.!?。！？:\n\"“”«»]"

# Runs of [a-z0-9] with a digit in them. The lookbehind starts a match only where a run starts, and the
# possessive [a-z]*+ never backtracks: the plain [a-z0-9]*[0-9][a-z0-9]* finds the same runs, but
# retries every position of every word, quadratically.
_CODE = re.compile(r"(?<![a-z0-9])[a-z]*+[0-9][a-z0-9]*")
_DIGIT = re.compile(r"[0-9]")
# The patterns below open with the character class they need, not with their lookbehinds: re then
# skips ahead to a candidate letter instead of testing the lookbehinds at every position (5x faster).
# The lookbehinds, written after that first letter, look at what precedes it.
# A whole word (no word character on either side) of ASCII letters: a name left untranslated.
_ASCII_WORD = re.compile(r"[A-Za-z](?<![^\W_].)[A-Za-z]{2,}(?![^\W_])")
# The same, capitalised and not all capitals (so not an acronym nor a shouted headline word), and not
# opening the text or a sentence: no sentence end within the three characters before it, unless
# something other than white space follows that end.
_NAME = re.compile(r"[A-Z](?<=[\s\S].)(?<!" + _END + r".)(?<!" + _END + r"\s.)(?<!" + _END + r"\s\s.)"
                   r"(?<![^\W_].)(?=[A-Za-z]*[a-z])[A-Za-z]{2,}(?![^\W_])")
_LETTER = re.compile(r"[^\W\d_]")


def _script_table() -> np.ndarray:
    """For each BMP code point: 1 if a letter, plus 2 in the Arabic block, 4 in the CJK block, 6 among
    the Latin letters with marks (Vietnamese). Built once per process (about 10 ms)."""
    global _TABLE
    if _TABLE is None:
        t = np.zeros(0x10000, dtype=np.uint8)
        bmp = "".join(map(chr, range(0x10000)))
        t[[m.start() for m in _LETTER.finditer(bmp)]] = 1
        t[0x0600:0x0700] |= 2
        t[0x4E00:0xA000] |= 4
        t[0x00C0:0x0250] |= 6
        t[0x1E00:0x1F00] |= 6
        _TABLE = t
    return _TABLE


_TABLE: np.ndarray | None = None


def script_language(text: str) -> str:
    """A coarse language guess from the script: ar, zh, vi or en."""
    head = text[:4000]
    # Counted with numpy over the code points, one table lookup each: this runs on every stored item
    # whose source does not say its language.
    cp = np.frombuffer(head.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    astral = 0
    if len(cp) and cp.max() > 0xFFFF:  # emoji and rare scripts: none is in the ranges below
        big = cp > 0xFFFF
        astral = len(_LETTER.findall("".join(map(chr, cp[big].tolist()))))
        cp = cp[~big]
    c = np.bincount(_script_table()[cp], minlength=8).tolist()
    ar, zh, vi = c[2] + c[3], c[4] + c[5], c[6] + c[7]
    latin = astral + c[1] + c[3] + c[5] + c[7] - ar - zh  # all letters, less the Arabic and CJK blocks
    best = max(ar, zh, latin)
    if best <= 0:
        return "en"
    if best == ar:
        return "ar"
    if best == zh:
        return "zh"
    return "vi" if vi > latin * 0.03 else "en"


def anchors(text: str, language: str | None = None, folded: Iterable[str] | None = None) -> set[str]:
    """Anchors of a text: numbers of two or more digits, letter+digit codes, and Latin-script names.

    In a Latin-script text (English, Vietnamese) a name is a capitalised word that does not open a
    sentence; in Arabic or Chinese text every Latin-script word is one (it was left untranslated).
    Each kind is one regex scan: this runs on every stored item. `folded`, when the caller has it,
    is the text folded (in any number of pieces, line breaks kept or not): it saves a fold.
    """
    out: set[str] = set()
    # Numbers and codes, on folded text: Arabic-Indic digits are ASCII there, and CJK glued to digits
    # ("性能近3倍于h20") splits cleanly because only [a-z0-9] runs are taken.
    for piece in ([fold(text)] if folded is None else folded):
        if not _DIGIT.search(piece):
            continue  # half of all texts: a scan for a digit is cheaper than one for codes
        for tok in _CODE.findall(piece):
            if not tok.isdigit():
                out.add(tok)
            elif len(tok) >= 2:
                out.add(tok.lstrip("0") or "0")
    if (language or script_language(text)) in ("en", "vi"):
        out.update(w.lower() for w in _NAME.findall(text))
    else:
        out.update(w.lower() for w in _ASCII_WORD.findall(text))
    return out


def score(item: set[str], seed: set[str], df: dict[str, int], n_docs: int) -> tuple[float, list[str]]:
    """Which anchors of the item the seed shares, and what share of the item's anchors they are.

    An anchor that every seed has (with three seeds or more) is the topic's own vocabulary, not a sign
    of one story, and is left out on both sides. A translation keeps most of its source's anchors;
    another story on the same topic shares a few names and a year (measured on ../shared/eval/dev:
    translations 0.69-0.86 of their anchors, other stories at most 0.56).
    """
    mine = item - _common(df, n_docs)
    shared = sorted(mine & seed)
    return (len(shared) / len(mine) if mine else 0.0), shared


_common_cache: tuple[dict[str, int], int, int, frozenset[str]] | None = None


def _common(df: dict[str, int], n_docs: int) -> frozenset[str]:
    """The anchors every seed has. score() runs for every item and seed against the same seed index,
    so the set is kept for the last `df` seen (held, so that `is` cannot match a new dict at its
    address; a seed index never changes its df after it is built)."""
    global _common_cache
    c = _common_cache
    if c is not None and c[0] is df and c[1] == n_docs and c[2] == len(df):
        return c[3]
    common = frozenset(a for a, n in df.items() if n >= n_docs) if n_docs >= 3 else frozenset()
    _common_cache = (df, n_docs, len(df), common)
    return common
