"""Shingles: the overlapping token n-grams that containment and resemblance are computed on.

Text is folded with `normalize.fold` first, the same fold keyword matching uses, so a copy without
Vietnamese diacritics, in NFD form or in traditional characters yields the same shingles as the
original. Tokens are words for space-separated scripts and single characters for Chinese and
Japanese (no word boundaries there); a shingle is SIZE consecutive tokens, hashed to 64 bits so
that sets stay small and compare fast.

Paragraphs are shingled one at a time and each distinct paragraph counts once: seeds repeat their own
paragraphs, and a shingle spanning two paragraphs belongs to neither.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable

from ..normalize import fold

__all__ = ["SIZE", "tokens", "shingles", "text_shingles", "paragraphs"]

SIZE = 3  # words (or CJK characters) per shingle; measured in bench/dedup.py --measure
# One CJK/kana character is one token; a run of anything else that is not a space is one token.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\s\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PARA = re.compile(r"\n\s*|\r\s*|\u2029")


def tokens(text: str) -> list[str]:
    """Folded tokens of text."""
    return _TOKEN.findall(fold(text))


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


def shingles(toks: list[str], size: int = SIZE) -> set[int]:
    """Hashed shingles of a token list; a text shorter than `size` tokens is one shingle."""
    if not toks:
        return set()
    if len(toks) <= size:
        return {_h(" ".join(toks))}
    return {_h(" ".join(toks[i:i + size])) for i in range(len(toks) - size + 1)}


def paragraphs(text: str) -> list[str]:
    """Non-empty lines of text, each distinct folded paragraph once, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for p in _PARA.split(text or ""):
        key = fold(p)
        if key and key not in seen:
            seen.add(key)
            out.append(p)
    return out


def text_shingles(parts: Iterable[str], size: int = SIZE) -> set[int]:
    """The shingle set of several texts (title, summary, content), paragraph by paragraph.

    A feed's summary is often the first lines of its content: paragraphs seen before are skipped,
    so the repeat does not count twice.
    """
    out: set[int] = set()
    seen: set[str] = set()
    for part in parts:
        for p in _PARA.split(part or ""):
            toks = tokens(p)
            if not toks:
                continue
            key = " ".join(toks)
            if key in seen:
                continue
            seen.add(key)
            out |= shingles(toks, size)
    return out
