"""The candidate index's keys: MinHash LSH over an item's shingles, a pure function of its text.

Finding the earlier item a new one repeats must not mean comparing it with every stored item. Each
item gets MinHash signatures (BANDS x ROWS values), and each band of ROWS values is hashed to one
64-bit key. Two texts with Jaccard similarity J share at least one key with probability
1 - (1 - J**ROWS)**BANDS: 0.80 at J=0.5, 0.95 at J=0.6, 0.99 at J=0.7 with the constants below.
The store keeps the keys (watcher/store/lsh.py: a table clustered on the key, so a lookup is a B-tree
seek per key whatever the size of the store).

Jaccard misses a short repost of a long item (a feed that carries only the summary), so an item
has a second signature on its lead, its first LEAD_TOKENS tokens of body text; both sets of keys go
in the same table, and a short item's whole text meets a long item's lead there. Candidates are
only candidates: the decision verifies them with exact shingle sets (decide.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BANDS", "ROWS", "LEAD_TOKENS", "signature", "signatures", "band_keys", "keys_for"]

BANDS = 12
ROWS = 3
LEAD_TOKENS = 60
_PERM = BANDS * ROWS
# Fixed seed: keys stored by one process must be recomputed identically by the next.
_rng = np.random.default_rng(20240518)
_A = (_rng.integers(1, 2**63, size=_PERM, dtype=np.uint64) | np.uint64(1)).reshape(-1, 1)
_B = _rng.integers(0, 2**63, size=_PERM, dtype=np.uint64).reshape(-1, 1)
_SHIFT = np.uint64(32)


def _as_array(shingles: set[int] | np.ndarray) -> np.ndarray:
    if isinstance(shingles, np.ndarray):
        return shingles.astype(np.uint64, copy=False)
    return np.fromiter(shingles, dtype=np.uint64, count=len(shingles))


def signatures(sets: list[set[int] | np.ndarray]) -> np.ndarray:
    """MinHash signatures of several shingle sets at once: shape (_PERM, len(sets)).

    Multiply-shift hashing ((a*x + b) mod 2**64) >> 32 with odd a is a universal family, and numpy
    does all functions for all shingles of all sets in one pass. A minimum does not care about
    repeats, so an array may hold a shingle more than once. Every set must be non-empty.
    """
    arrays = [_as_array(s) for s in sets]
    x = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    h = _A * x  # (_PERM, n); then in place, to avoid more temporaries of that size
    h += _B
    h >>= _SHIFT
    if len(arrays) == 1:
        return h.min(axis=1).reshape(-1, 1)
    starts = np.cumsum([0] + [len(a) for a in arrays[:-1]])
    return np.minimum.reduceat(h, starts, axis=1)


def signature(shingles: set[int] | np.ndarray) -> np.ndarray:
    """MinHash signature of a shingle set: _PERM values, one per hash function."""
    return signatures([shingles])[:, 0]


# Per-band seeds and per-row multipliers for band keys (fixed, like _A and _B).
_BAND_SEED = _rng.integers(0, 2**63, size=(BANDS, 1), dtype=np.uint64)
_ROW_MUL = _rng.integers(1, 2**63, size=ROWS, dtype=np.uint64) | np.uint64(1)


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (SQLite INTEGER), the band number mixed in.

    `sig` is one signature (_PERM values) or several side by side (_PERM x k, as `signatures`
    gives): the keys of all of them, band by band. Mixed with numpy, all bands at once: a key only
    has to spread distinct bands well, and a hash object per band cost more than the signature.
    """
    s = sig.reshape(BANDS, ROWS, -1)
    # A random odd multiplier per row, summed, plus a per-band seed, then one xor-shift-multiply: two
    # different bands rarely share a key, and when they do it only costs a candidate that the exact
    # shingle check in decide.py then rejects.
    k = (s * _ROW_MUL[:, None]).sum(axis=1) + _BAND_SEED
    k ^= k >> np.uint64(29)
    k *= _ROW_MUL[0]
    k ^= k >> np.uint64(32)
    return k.T.reshape(-1).view(np.int64).tolist()


def keys_for(full: set[int] | np.ndarray, lead: set[int] | np.ndarray | None) -> list[int]:
    """The index keys of an item: bands of its whole text, and of its lead when that differs.

    With arrays the caller decides whether the lead differs: pass lead=None when it does not.
    """
    if isinstance(lead, np.ndarray) or (lead and lead != full):
        keys = band_keys(signatures([full, lead]))
    else:
        keys = band_keys(signatures([full]))
    return sorted(set(keys))
