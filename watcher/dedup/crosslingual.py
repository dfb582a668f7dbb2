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

from ..normalize import fold

__all__ = ["anchors", "script_language", "score"]

# A sentence ends (so the next capitalised word is no name) at one of these, maybe followed by spaces.
_END = "[.!?。！？:\n\"“”«»]"

# Runs of [a-z0-9] with a digit in them. The lookbehind starts a match only where a run starts, and the
# possessive [a-z]*+ never backtracks: the plain [a-z0-9]*[0-9][a-z0-9]* finds the same runs, but
# retries every position of every word, quadratically.
_CODE = re.compile(r"(?<![a-z0-9])[a-z]*+[0-9][a-z0-9]*")
# A whole word (no word character on either side) of ASCII letters: a name left untranslated.
_ASCII_WORD = re.compile(r"(?<![^\W_])[A-Za-z]{3,}(?![^\W_])")
# The same, capitalised and not all capitals (so not an acronym nor a shouted headline word), and not
# opening the text or a sentence: no sentence end within the three characters before it, unless
# something other than white space follows that end (the lookbehinds spell out _SENTENCE_END).
_NAME = re.compile(r"(?<=[\s\S])(?<!" + _END + r")(?<!" + _END + r"\s)(?<!" + _END + r"\s\s)"
                   r"(?<![^\W_])[A-Z](?=[A-Za-z]*[a-z])[A-Za-z]{2,}(?![^\W_])")
# Counting by regex, not by a Python loop per character: this runs on every stored item.
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_CJK = re.compile(r"[\u4E00-\u9FFF]")
_NOT_LETTER = re.compile(r"[\W\d_]+")  # the complement of [^\W\d_], in runs: fewer, cheaper matches
_LATIN_MARKED = re.compile(r"[\u00C0-\u024F\u1E00-\u1EFF]")  # Latin letters with marks (Vietnamese)


def script_language(text: str) -> str:
    """A coarse language guess from the script: ar, zh, vi or en."""
    head = text[:4000]
    ar = len(_ARABIC.findall(head))
    zh = len(_CJK.findall(head))
    # Letters are what is left when the runs of non-letters are taken out.
    latin = len(head) - sum(map(len, _NOT_LETTER.findall(head))) - ar - zh
    best = max(ar, zh, latin)
    if best <= 0:
        return "en"
    if best == ar:
        return "ar"
    if best == zh:
        return "zh"
    vi = len(_LATIN_MARKED.findall(head))
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
    common = {a for a, n in df.items() if n_docs >= 3 and n >= n_docs}
    mine = item - common
    shared = sorted(mine & seed)
    return (len(shared) / len(mine) if mine else 0.0), shared
