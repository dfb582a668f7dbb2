"""An item's fingerprint for dedup: shingles of its whole text and of its lead, LSH keys, anchors.

A pure function of the text, with no store: the pipeline computes it in its worker processes
(prepare.py), and the decider (decide.py) compares fingerprints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import crosslingual
from .index import LEAD_TOKENS, keys_for
from .shingles import SIZE, FoldedText, distinct, fold_text, segments

__all__ = ["Fingerprint", "fingerprint", "seeds_only_fingerprints", "worth_fingerprinting"]


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What dedup needs of one text: its shingles, its lead's shingles, its LSH keys, its anchors.

    All of it is a pure function of the text, so the pipeline computes it in a worker process. The
    numbers travel as bytes, read as arrays: the storing process unpickles every entry the workers
    prepare, and with the shingle sets as frozensets of Python ints that cost 4x as much
    (`bench/prepare.py`, hand-off row: 0.027 ms/item then, 0.007 ms/item now).
    """

    full_bytes: bytes  # distinct shingle hashes (uint64) of title, summary and content, sorted
    lead_bytes: bytes  # those of the body's first LEAD_TOKENS tokens (empty when too short)
    anchors: frozenset[str]
    language: str
    keys_bytes: bytes = b""  # index keys (int64, index.keys_for), empty when too short to index
    # Only the full shingle set, enough to check against the seeds: no lead, no keys, no anchors.
    seeds_only: bool = False

    def checked(self) -> "Fingerprint":
        """This seeds-only fingerprint once checked against the seeds where it was made: nothing left
        to compare (no shingles), kept for its language and its kind."""
        assert self.seeds_only, "only a seeds-only fingerprint is dropped after the seed check"
        return Fingerprint(b"", b"", frozenset(), self.language, seeds_only=True)

    @property
    def full(self) -> np.ndarray:
        return np.frombuffer(self.full_bytes, dtype=np.uint64)

    @property
    def lead(self) -> np.ndarray:
        return np.frombuffer(self.lead_bytes, dtype=np.uint64)

    @property
    def keys(self) -> list[int]:
        return np.frombuffer(self.keys_bytes, dtype=np.int64).tolist()


def worth_fingerprinting(score: float) -> bool:
    """Is an item with this match score fingerprinted whole, indexed (LSH keys) and checked against
    earlier items and, across languages, the seeds? Only when a reader may see it: relevant, or close
    to it (any keyword hit). Any other item gets a seeds-only fingerprint (see `fingerprint`).

    An item that hits no keyword can reach neither the review queue nor the digest, so whether it
    reposts another item changes nothing anyone sees; it is still linked by its canonical link, and
    a copy of a seed is still recognised. On the real feeds 0.3-0.7% of items hit a keyword; the
    whole fingerprint was 40% of the CPU spent preparing an item and its LSH keys the largest write
    per item (issue 10). `rematch` fingerprints an item whose score rises above zero (replay.py).
    """
    return score > 0


def fingerprint(title: str, summary: str, content: str, language: str | None, *,
                seeds_only: bool = False, folded: Sequence[FoldedText] | None = None) -> Fingerprint:
    """Fingerprint of an item's text. Each part is folded once, and everything below reads that fold:
    the paragraphs for the full shingle set, the body's first LEAD_TOKENS tokens for the lead, the
    folded text for the anchors; all shingles (lead too) are hashed in one numpy pass.

    seeds_only: only the full shingle set, what checking against the seeds needs (less than half the
    cost: no lead, no MinHash keys, no anchors), for an item not worth_fingerprinting. It is not
    indexed, and it is not checked against other items or, for lack of anchors, across languages.

    folded: the three texts already folded (shingles.fold_text), when the caller has them: prepare.py
    folds an entry once for matching and fingerprinting."""
    parts = folded if folded is not None else [fold_text(part) for part in (title, summary, content)]
    if seeds_only:
        return seeds_only_fingerprints([(parts, language)])[0]
    paras = [p.paragraphs for p in parts]
    seen: set[str] = set()
    segs: list[str] = []
    for p in paras:
        segs += distinct(p, seen)
    n_full = len(segs)
    # The lead: the first LEAD_TOKENS tokens of the body, across its paragraphs, repeats included.
    lead_toks: list[str] = []
    for para in paras[1] if summary.strip() else paras[2]:
        if para:
            lead_toks += para.split(" ", LEAD_TOKENS - len(lead_toks))[:LEAD_TOKENS - len(lead_toks)]
            if len(lead_toks) >= LEAD_TOKENS:
                break
    if len(lead_toks) >= LEAD_TOKENS // 2:
        segs.append(" ".join(lead_toks))
    s = segments(segs)
    # The lead is the last string, if any: its windows are the last ones.
    cut = len(s.windows) - (len(lead_toks) - SIZE + 1 if len(segs) > n_full else 0)
    full_arr = s.windows[:cut]
    if s.short:  # paragraphs shorter than a shingle; never the lead, which has LEAD_TOKENS // 2 tokens
        full_arr = np.concatenate([full_arr, np.array([h for _, h in s.short], dtype=np.uint64)])
    full = _sorted_unique(full_arr)
    lead = _sorted_unique(s.windows[cut:])
    text = "\n".join(t for t in (title, summary, content) if t)
    lang = language if language in ("en", "vi", "ar", "zh") else crosslingual.script_language(text)
    keys = b""
    if full.size:
        differs = lead.size and not np.array_equal(lead, full)
        keys = np.asarray(keys_for(full_arr, s.windows[cut:] if differs else None), dtype=np.int64).tobytes()
    anchors = frozenset(crosslingual.anchors(text, lang, [p.text for p in parts]))
    return Fingerprint(full.tobytes(), lead.tobytes(), anchors, lang, keys)


def seeds_only_fingerprints(items: Sequence[tuple[Sequence[FoldedText], str | None]]) -> list[Fingerprint]:
    """`fingerprint(..., seeds_only=True)` of several items at once, each given as (its three texts
    folded, its language): the shingles of all of them are hashed in one numpy pass, then cut up.

    Numpy pays a few microseconds a call whatever the size of the array, and a feed's items are
    short: hashed item by item, that overhead was two thirds of the cost (prepare.prepare_feed
    hands a whole feed's items that hit no keyword here). A batch holds at most about _BATCH_CHARS
    characters of text, so one huge feed does not make huge arrays."""
    out: list[Fingerprint] = []
    i = 0
    while i < len(items):
        j, size = i, 0
        while j < len(items) and (j == i or size < _BATCH_CHARS):
            size += sum(len(part.text) for part in items[j][0])
            j += 1
        out += _seeds_only_batch(items[i:j])
        i = j
    return out


_BATCH_CHARS = 1 << 22


def _seeds_only_batch(items: Sequence[tuple[Sequence[FoldedText], str | None]]) -> list[Fingerprint]:
    segs: list[str] = []
    ends: list[int] = []  # per item, the index of the string after its last
    for parts, _ in items:
        seen: set[str] = set()
        for part in parts:
            segs += distinct(part.paragraphs, seen)
        ends.append(len(segs))
    s = segments(segs)
    # Item by item, the windows of its strings (they are in string order) and its short strings.
    first = np.zeros(len(segs) + 1, dtype=np.intp)
    np.cumsum(np.maximum(s.tokens - (SIZE - 1), 0), out=first[1:])
    short: dict[int, list[int]] = {}
    if s.short:
        item_of = np.searchsorted(np.asarray(ends), [i for i, _ in s.short], side="right").tolist()
        for k, (_, h) in zip(item_of, s.short):
            short.setdefault(k, []).append(h)
    out: list[Fingerprint] = []
    start = 0
    for k, ((_, language), end) in enumerate(zip(items, ends)):
        full_arr = s.windows[first[start]:first[end]]
        if k in short:
            full_arr = np.concatenate([full_arr, np.array(short[k], dtype=np.uint64)])
        out.append(Fingerprint(_sorted_unique(full_arr).tobytes(), b"", frozenset(), language or "",
                               seeds_only=True))
        start = end
    return out


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique(a) for a 1-d array: its distinct values, sorted. np.unique hashes first (numpy 2),
    four times the cost of this sort on shingle arrays."""
    a = np.sort(a)
    if a.size < 2:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
