"""Shingles: the overlapping token n-grams that containment and resemblance are computed on.

Text is folded with `normalize.fold` first, the same fold keyword matching uses, so a copy without
Vietnamese diacritics, in NFD form or in traditional characters yields the same shingles as the
original. Tokens are words for space-separated scripts and single characters for Chinese and
Japanese (no word boundaries there); a shingle is SIZE consecutive tokens, hashed to 64 bits so
that sets stay small and compare fast. Each token is hashed once (CRC-32, stable across processes,
unlike `hash()`), and a shingle's hash is a fixed mix of its tokens' hashes computed by numpy for the
whole text at once: this runs on every stored item, so it must not cost a hash object per shingle.

Paragraphs are shingled one at a time and each distinct paragraph counts once: seeds repeat their own
paragraphs, and a shingle spanning two paragraphs belongs to neither.
"""

from __future__ import annotations

import re
import zlib
from typing import Iterable

import numpy as np

from ..normalize import fold

__all__ = ["SIZE", "tokens", "shingles", "text_shingles", "paragraphs"]

SIZE = 3  # words (or CJK characters) per shingle; measured in bench/dedup.py --measure
# One CJK/kana character is one token; a run of anything else that is not a space is one token.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\s\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PARA = re.compile(r"\n\s*|\r\s*|\u2029")


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def tokens(text: str) -> list[str]:
    """Folded tokens of text."""
    folded = fold(text)
    # fold() leaves single spaces between words, so without CJK a split is the same as the regex.
    return _TOKEN.findall(folded) if _CJK.search(folded) else folded.split()


# Odd 64-bit multipliers, one per position in the shingle, so "a b c" and "c b a" differ.
_MIX = [np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)]
_MASK = (1 << 63) - 1  # shingle hashes stay non-negative, so they fit SQLite and JSON as they are


def _token_hashes(toks: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(t.encode("utf-8")) for t in toks), dtype=np.uint64, count=len(toks))


def shingles(toks: list[str], size: int = SIZE) -> set[int]:
    """Hashed shingles of a token list; a text shorter than `size` tokens is one shingle."""
    if not toks:
        return set()
    h = _token_hashes(toks)
    if len(toks) < size:
        size = len(toks)
    n = len(toks) - size + 1
    with np.errstate(over="ignore"):
        acc = np.full(n, np.uint64(size), dtype=np.uint64)
        for j in range(size):
            acc = acc * _MIX[j] + h[j:j + n]
        acc ^= acc >> np.uint64(29)
        acc *= _MIX[3]
        acc ^= acc >> np.uint64(32)
    return set((acc & np.uint64(_MASK)).tolist())


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
