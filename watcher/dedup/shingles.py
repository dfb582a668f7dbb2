"""Shingles: the overlapping token n-grams that containment and resemblance are computed on.

Text is folded with `normalize.fold` first, the same fold keyword matching uses, so a copy without
Vietnamese diacritics, in NFD form or in traditional characters yields the same shingles as the
original. Tokens are words for space-separated scripts and single characters for Chinese and
Japanese (no word boundaries there); a shingle is SIZE consecutive tokens, hashed to 64 bits so
that sets stay small and compare fast.

Paragraphs are shingled one at a time and each distinct paragraph counts once: seeds repeat their own
paragraphs, and a shingle spanning two paragraphs belongs to neither.

This runs on every stored item, so a text is folded once (a translate table that keeps paragraph
breaks, so the fold need not run again per paragraph) and all its tokens are hashed in one numpy pass
over the UTF-8 bytes: a token's hash is a polynomial in its bytes (and the space after it, so that
no token's hash is another's prefix), and a shingle's hash a fixed mix of its tokens' hashes.
Nothing here costs a Python call per token or per shingle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ..normalize import fold, fold_table

__all__ = ["SIZE", "tokens", "shingles", "text_shingles", "paragraphs", "Segments", "segments",
           "segment_shingles", "FoldedText", "fold_text", "folded_paragraphs"]

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


# fold_char for every character, except that the characters `_PARA` splits paragraphs at become "\n".
# No folded character is a line break (fold maps every non-letter, non-digit to a space), so splitting
# the translated text at "\n" gives exactly the folds of `_PARA.split(text)`, up to empty paragraphs,
# which carry no tokens.
_PFOLD = fold_table({ord("\n"): "\n", ord("\r"): "\n", 0x2029: "\n"})


# Long texts are folded through a numpy table instead: a code point in, a code point out, for the
# characters whose fold is one character (almost all), learned from _PFOLD as they are first seen.
_UNKNOWN = 0xFFFFFFFF  # not seen yet
_MULTI = 0xFFFFFFFE  # folds to several characters ("ß", "ﬁ", "™", Hangul), or beyond the table (emoji)
_DROP = 0x01  # folds to nothing (soft hyphen, tatweel, marks): no fold yields U+0001, so it marks them
_cp_fold = np.full(0x10000, _UNKNOWN, dtype=np.uint32)
_LONG = 256  # below this many characters str.translate is the faster
_SPLICE = 64  # at most this many characters of a long text are folded one by one; beyond, all are
_CJK_FIRST = 0x3040  # the first code point _CJK matches


def _learn(cps: list[int]) -> None:
    for cp in cps:
        f = _PFOLD[cp]
        if len(f) == 1:
            _cp_fold[cp] = ord(f)
        elif not f:
            _cp_fold[cp] = _DROP
        elif f.isspace():
            # "…" folds to three spaces: one does as well, since every use of the fold treats a run of
            # spaces as one (tokens split on white space; codes and anchors never span one).
            _cp_fold[cp] = 32
        else:
            _cp_fold[cp] = _MULTI


def _fold_keeping_breaks(text: str) -> tuple[str, bool]:
    """(text.translate(_PFOLD) up to the length of runs of spaces, whether it may hold CJK).

    A long text goes through the numpy table; the few characters the table cannot give (several
    characters, or beyond it) have their folds spliced in. The CJK answer is False only when the folded
    text surely has none (no code point as high as the first CJK one)."""
    if len(text) < _LONG:
        folded = text.translate(_PFOLD)
        return folded, not folded.isascii()
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    astral = cp.max() > 0xFFFF
    out = _cp_fold[cp & 0xFFFF] if astral else _cp_fold[cp]
    if astral:
        out[cp > 0xFFFF] = _MULTI
    top = int(out.max())
    if top >= _MULTI:
        unknown = out == _UNKNOWN
        if unknown.any():
            _learn(np.unique(cp[unknown]).tolist())
            out = _cp_fold[cp & 0xFFFF] if astral else _cp_fold[cp]
            if astral:
                out[cp > 0xFFFF] = _MULTI
            top = int(out.max())
    if top >= _MULTI:
        at = np.flatnonzero(out >= _MULTI).tolist()
        if len(at) > _SPLICE:
            folded = text.translate(_PFOLD)
            return folded, not folded.isascii()
        pieces = []
        prev = 0
        for i in at:
            pieces.append(out[prev:i].tobytes().decode("utf-32-le"))
            pieces.append(_PFOLD[ord(text[i])])
            prev = i + 1
        pieces.append(out[prev:].tobytes().decode("utf-32-le"))
        folded = "".join(pieces)
        cjk = True
    else:
        folded = out.tobytes().decode("utf-32-le")
        cjk = top >= _CJK_FIRST
    return (folded.replace("\x01", "") if "\x01" in folded else folded), cjk


@dataclass(frozen=True)
class FoldedText:
    """One text folded once, in the forms keyword matching and shingling read.

    text: folded with its line breaks kept (runs of spaces may be shorter than `fold` makes them);
    paragraphs: its lines as token strings (see `folded_paragraphs`); flat: exactly `fold(original)`.
    """

    text: str
    paragraphs: list[str]
    flat: str


def fold_text(text: str) -> FoldedText:
    """Fold a text once for both `Matcher.match` (flat) and `fingerprint` (text, paragraphs).

    Without CJK a paragraph's token string is its words joined by single spaces, so the paragraphs'
    token strings, joined by single spaces, are the text's words so joined: `fold` of the text. (With
    CJK every character is a token of its own and the paragraphs no longer spell the fold.)
    """
    if not text:
        return FoldedText("", [], "")
    t, maybe_cjk = _fold_keeping_breaks(text)
    pieces = t.split("\n")
    if maybe_cjk and _CJK.search(t):
        return FoldedText(t, [" ".join(_TOKEN.findall(p)) for p in pieces], " ".join(t.split()))
    paras = [" ".join(p.split()) for p in pieces]
    return FoldedText(t, paras, " ".join([p for p in paras if p]) if len(paras) > 1 else paras[0])


def folded_paragraphs(text: str) -> tuple[str, list[str]]:
    """(the text folded with its line breaks kept, its paragraphs as token strings).

    A token string is the paragraph's tokens joined by single spaces, "" for an empty paragraph;
    paragraphs are in order, repeats included. In the folded text a run of spaces may be shorter
    than `fold` would make it before collapsing it, nothing else differs.
    """
    f = fold_text(text)
    return f.text, f.paragraphs


# --- hashing ---------------------------------------------------------------------------------------
_M64 = (1 << 64) - 1
_MASK = (1 << 63) - 1  # shingle hashes stay non-negative, so they fit SQLite and JSON as they are
# Odd 64-bit multipliers, one per position in the shingle, so "a b c" and "c b a" differ.
_MIXI = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)
_MIX = [np.uint64(m) for m in _MIXI]
_P = 0xA0761D6478BD642F  # odd: the base of the per-token byte polynomial
_P_INV = pow(_P, -1, 1 << 64)
_tables: tuple[np.ndarray, np.ndarray] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))


_CHUNK = 1 << 20  # bytes hashed per numpy pass, at most (unless one token is longer)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(_P**i, _P**-i) mod 2**64 for i in 0 .. at least n-1. Tables up to _CHUNK long are kept."""
    global _tables
    if len(_tables[0]) >= n:
        return _tables
    m = max(n, min(2 * len(_tables[0]), _CHUNK), 4096)
    out = []
    for base in (_P, _P_INV):
        t = np.empty(m, dtype=np.uint64)
        t[0] = 1
        t[1:] = np.cumprod(np.full(m - 1, base, dtype=np.uint64))
        out.append(t)
    if m <= _CHUNK:  # kept for the next text, unless one huge token asked for more
        _tables = (out[0], out[1])
    return out[0], out[1]


def _token_hashes(buf: bytes) -> np.ndarray:
    """One hash per token of `buf`: tokens each followed by exactly one space (byte 0x20).

    A token's hash is sum(byte[k] * _P**k) over its bytes and that space. Computed for all tokens at
    once: each byte is weighted by _P to the power of its place in the buffer, the weights are
    summed per token, and the sum multiplied by _P to minus the token's start. A token's hash does not
    depend on where it lies, so a buffer longer than _CHUNK (a whole feed's items) is hashed in
    pieces of whole tokens, and the power tables stay small enough to keep.
    """
    b = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(b == 32)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if len(b) <= _CHUNK:
        pw, ipw = _powers(len(b))
        return np.add.reduceat(b * pw[:len(b)], starts) * ipw[starts]
    out = []
    i, n = 0, len(starts)
    while i < n:
        lo = int(starts[i])
        j = max(int(np.searchsorted(ends, lo + _CHUNK)), i + 1)  # the tokens that end inside the piece
        piece = b[lo:int(ends[j - 1]) + 1]
        st = starts[i:j] - lo
        pw, ipw = _powers(len(piece))
        out.append(np.add.reduceat(piece * pw[:len(piece)], st) * ipw[st])
        i = j
    return np.concatenate(out)


def _finish(acc: np.ndarray) -> np.ndarray:
    acc ^= acc >> np.uint64(29)
    acc *= _MIX[3]
    acc ^= acc >> np.uint64(32)
    acc &= np.uint64(_MASK)
    return acc


def _short(h: Sequence[int]) -> int:
    """The hash of a text shorter than SIZE tokens: one shingle of all its tokens (Python ints, since
    there is only one)."""
    acc = len(h)
    for j, x in enumerate(h):
        acc = (acc * _MIXI[j] + x) & _M64
    acc ^= acc >> 29
    acc = (acc * _MIXI[3]) & _M64
    acc ^= acc >> 32
    return acc & _MASK


@dataclass(frozen=True)
class Segments:
    """The shingle hashes of several token strings, computed together.

    `windows` holds, string by string and in order, the hashes of each string's runs of SIZE tokens
    (a string of L >= SIZE tokens has L - SIZE + 1 of them); `short` holds (string index, hash) for
    the strings shorter than SIZE tokens, which are one shingle each; `tokens` how many tokens each
    string has (so which windows are whose).
    """

    windows: np.ndarray
    short: list[tuple[int, int]]
    tokens: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))


def segments(segs: Sequence[str], size: int = SIZE) -> Segments:
    """Shingle hashes of non-empty token strings (see `folded_paragraphs`), in one numpy pass."""
    if not segs:
        return Segments(np.empty(0, dtype=np.uint64), [])
    counts = np.fromiter((s.count(" ") + 1 for s in segs), dtype=np.intp, count=len(segs))
    h = _token_hashes((" ".join(segs) + " ").encode("utf-8"))
    ends = np.cumsum(counts)
    short: list[tuple[int, int]] = []
    if counts.min() < size:
        for i in np.flatnonzero(counts < size).tolist():
            e = int(ends[i])
            short.append((i, _short(h[e - int(counts[i]):e].tolist())))
    n = len(h) - size + 1
    if n <= 0:
        return Segments(np.empty(0, dtype=np.uint64), short, counts)
    acc = np.full(n, np.uint64(size), dtype=np.uint64)
    for j in range(size):
        acc *= _MIX[j]
        acc += h[j:j + n]
    _finish(acc)
    # Keep the windows that end inside the string they start in.
    return Segments(acc[np.repeat(ends, counts)[:n] - np.arange(n, dtype=np.intp) >= size], short, counts)


def segment_shingles(s: Segments) -> set[int]:
    out = set(s.windows.tolist())
    out.update(h for _, h in s.short)
    return out


def shingles(toks: list[str], size: int = SIZE) -> set[int]:
    """Hashed shingles of a token list; a text shorter than `size` tokens is one shingle."""
    if not toks:
        return set()
    return segment_shingles(segments([" ".join(toks)], size))


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


def distinct(paras: Iterable[str], seen: set[str]) -> list[str]:
    """The non-empty token strings not in `seen`, in order, each once; `seen` is updated.

    A feed's summary is often the first lines of its content: paragraphs seen before are skipped,
    so the repeat does not count twice.
    """
    out = []
    for p in paras:
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    return out


def text_shingles(parts: Iterable[str], size: int = SIZE) -> set[int]:
    """The shingle set of several texts (title, summary, content), paragraph by paragraph, each
    distinct paragraph once."""
    seen: set[str] = set()
    segs: list[str] = []
    for part in parts:
        segs += distinct(folded_paragraphs(part or "")[1], seen)
    return segment_shingles(segments(segs, size))
