"""The seed index: what the seed corpus already tells the analyst, as shingle sets.

Built from `seeds/*.txt` when watcher starts. Shingling a long seed takes milliseconds and a user may
add hundreds, so each seed's shingles are cached under `cache_dir/seeds/<sha256 of the file>.json`:
an unchanged file is read back, a changed or added one is shingled again (its hash changed), and a
removed one is simply not listed. Within one process, an index already built is kept by its files'
names and hashes, so a long `watcher run` reads and hashes the files each poll but builds nothing
twice. An inverted index (shingle -> seeds holding it) then gives the
overlap of an item with every seed in one pass over the item's shingles.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Collection

import numpy as np

from ..errors import ConfigError
from . import crosslingual
from .shingles import SIZE, paragraphs, text_shingles

__all__ = ["Seed", "SeedIndex", "SeedOverlap"]

# Bump when what is cached changes (shingle size, fold, anchors), so old caches are ignored.
CACHE_VERSION = 4


@dataclass(frozen=True)
class Seed:
    name: str  # file name, as in duplicate_of "seed:<name>"
    sha256: str
    shingles: frozenset[int]
    anchors: frozenset[str]  # language-independent tokens, for the cross-lingual signal
    language: str  # from its script: en, vi, ar or zh


@dataclass(frozen=True)
class SeedOverlap:
    name: str
    shared: int  # shingles of the item found in the seed
    containment: float  # shared / item shingles
    resemblance: float  # Jaccard


class SeedIndex:
    def __init__(self, seeds: list[Seed]):
        self.seeds = seeds
        self._postings: dict[int, list[int]] = {}
        for i, s in enumerate(seeds):
            for h in s.shingles:
                self._postings.setdefault(h, []).append(i)
        # Every seed shingle, sorted: one vectorised lookup tells which of an item's shingles any seed
        # has. Most items share none or a handful, and only those are counted seed by seed.
        self._all = np.array(sorted(self._postings), dtype=np.uint64)
        # Anchor document frequency among seeds: an anchor every seed has says nothing.
        self.anchor_df: dict[str, int] = {}
        for s in seeds:
            for a in s.anchors:
                self.anchor_df[a] = self.anchor_df.get(a, 0) + 1

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.seeds]

    @property
    def fingerprint(self) -> str:
        """Changes when any seed is added, removed or edited."""
        h = hashlib.sha256()
        for s in self.seeds:
            h.update(f"{s.name}\0{s.sha256}\n".encode())
        return h.hexdigest()[:16]

    @classmethod
    def load(cls, seeds_dir: Path, cache_dir: Path) -> "SeedIndex":
        """Every *.txt in seeds_dir (keywords.yaml and other files are not seeds)."""
        seeds_dir = Path(seeds_dir)
        if not seeds_dir.is_dir():
            return cls([])
        cache = Path(cache_dir) / "seeds"
        files = [(path, _read(path)) for path in sorted(seeds_dir.glob("*.txt")) if path.is_file()]
        shas = [hashlib.sha256(raw).hexdigest() for _, raw in files]
        # The same seeds loaded again in this process (`watcher run` polls, the test suite) give back
        # the same index: nothing is read from the cache or built, and an index is never changed.
        key = tuple((path.name, sha) for (path, _), sha in zip(files, shas))
        index = _INDEXES.get(key)
        if index is not None:
            for seed in index.seeds:  # another state folder: it gets its cache files as if built here
                if not (cache / f"{seed.sha256}.json").exists():
                    _write_cache(cache / f"{seed.sha256}.json", seed)
            return index
        while len(_INDEXES) >= _KEEP:
            _INDEXES.pop(next(iter(_INDEXES)))
        index = _INDEXES[key] = cls([_load_one(path, raw, sha, cache) for (path, raw), sha in zip(files, shas)])
        return index

    @classmethod
    def from_texts(cls, texts: dict[str, str]) -> "SeedIndex":
        """An index from {name: text}, without files (tests, benchmarks)."""
        return cls([_build(name, text, hashlib.sha256(text.encode()).hexdigest()) for name, text in texts.items()])

    def overlaps_many(self, items: list[np.ndarray], min_shared: int) -> list[list[SeedOverlap]]:
        """overlaps() of several items (uint64 arrays) at once: one lookup for all of their shingles
        (numpy's cost per call was most of the cost per item), then overlaps() only for the few items
        holding at least min_shared shingles that some seed has."""
        if not items or not len(self._all):
            return [[] for _ in items]
        hashes = np.concatenate(items)
        at = np.searchsorted(self._all, hashes)
        at[at == len(self._all)] = 0
        held = np.concatenate([[0], np.cumsum(self._all[at] == hashes)])
        ends = np.cumsum([len(i) for i in items])
        counts = held[ends] - held[ends - [len(i) for i in items]]
        return [self.overlaps(item, min_shared) if n >= max(min_shared, 1) else []
                for item, n in zip(items, counts.tolist())]

    def overlaps(self, item: np.ndarray | Collection[int], min_shared: int) -> list[SeedOverlap]:
        """Seeds sharing at least `min_shared` shingles with the item (its distinct shingles: a uint64
        array, or ints), best containment first."""
        n = len(item)
        if not n or not len(self._all):
            return []
        hashes = np.asarray(item, dtype=np.uint64)
        at = np.searchsorted(self._all, hashes)
        at[at == len(self._all)] = 0
        held = hashes[self._all[at] == hashes]
        if len(held) < max(min_shared, 1):
            return []  # no seed can share min_shared: fewer than that are in any seed at all
        counts: dict[int, int] = {}
        for h in held.tolist():
            for i in self._postings[h]:
                counts[i] = counts.get(i, 0) + 1
        out = []
        for i, shared in counts.items():
            if shared < min_shared:
                continue
            s = self.seeds[i]
            out.append(SeedOverlap(s.name, shared, shared / n, shared / (n + len(s.shingles) - shared)))
        out.sort(key=lambda o: (-o.containment, -o.resemblance, o.name))
        return out


def _build(name: str, text: str, sha: str) -> Seed:
    paras = paragraphs(text)
    return Seed(name=name, sha256=sha, shingles=frozenset(text_shingles(paras)),
                anchors=frozenset(crosslingual.anchors(text)), language=crosslingual.script_language(text))


# Indexes built in this process, by their seeds' (file name, sha256): SeedIndex.load.
_INDEXES: dict[tuple[tuple[str, str], ...], SeedIndex] = {}
_KEEP = 8


def forget() -> None:
    """Forget the indexes built in this process, as a new process starts (tests of the file cache)."""
    _INDEXES.clear()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read this seed file ({e}); check its permissions") from e


def _write_cache(cached: Path, seed: Seed) -> None:
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "size": SIZE, "name": seed.name,
                                   "shingles": sorted(seed.shingles), "anchors": sorted(seed.anchors),
                                   "language": seed.language}),
                       encoding="utf-8")
        os.replace(tmp, cached)  # atomic: a concurrent reader sees the old file or the whole new one
    except OSError:
        pass  # a read-only state dir costs speed, not correctness


def _load_one(path: Path, raw: bytes, sha: str, cache: Path) -> Seed:
    cached = cache / f"{sha}.json"
    try:
        data = json.loads(cached.read_text(encoding="utf-8"))
        if data.get("version") == CACHE_VERSION and data.get("size") == SIZE:
            return Seed(name=path.name, sha256=sha, shingles=frozenset(data["shingles"]),
                        anchors=frozenset(data["anchors"]), language=data["language"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or a damaged one: rebuild it
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); save the seed as UTF-8") from e
    seed = _build(path.name, text, sha)
    _write_cache(cached, seed)
    return seed
