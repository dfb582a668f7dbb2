"""The dedup decision, without a database: does a candidate repeat a seed or a stored item, and which
stored items does it turn out to be the original of?

`decide(candidate, neighbours, seeds, settings)` runs the checks from the cheapest and surest to the
weakest, and the first that holds wins:

1. link          a stored item has the same canonical link and came first
2. seed          the item's shingles are contained in a seed's (excerpt, summary, copy inside site
                 boilerplate), or resemble them (rewrite): "resemblance" when the Jaccard of the two
                 sets passes its threshold, else "containment"
3. item          the same, against earlier items within `window_days` (the store found them
                 through the LSH index: `store.neighbours`)
4. crosslingual  an item in another language than a seed shares rare anchors with it: a *possible*
                 duplicate, shown with a lower score, never a certain one

An item that hits no keyword has a seeds-only fingerprint (see fingerprint.worth_fingerprinting): it
is decided by its link and the seeds (1 and 2) alone, and is not indexed, so no later item finds it.

An item that repeats an item which itself repeats something points at the root, so every repost of
a story names the same original. `adopt_later(...)` gives the re-point intents: feeds are stored one
after another, so a repost can be stored before the item it repeats, and the earlier item is the
original whatever order the feeds were read in. Duplicates are stored and linked, never dropped.
The store applies the decisions (watcher/ingest.py and watcher/replay.py call both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import DedupSettings
from ..model import NOT_DUPLICATE, DedupDecision, Neighbour, Neighbours
from . import crosslingual
from .fingerprint import Fingerprint
from .seeds import SeedIndex, SeedOverlap
from .shingles import text_shingles

__all__ = ["Candidate", "Repoint", "UNCHECKED", "Unchecked", "decide", "seed_verdict", "seed_verdicts", "adopt_later", "index_keys", "indexable"]


class Unchecked:
    """Candidate.seed before anyone compared the item with the seeds."""

    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED = Unchecked()


@dataclass(frozen=True)
class Candidate:
    """The item being decided. item_id is None for an item not stored yet."""

    item_id: int | None
    published: datetime
    fingerprint: Fingerprint
    link_key: str | None  # links.canonical_link(link)
    # seed_verdict() of the item, when it was made where the fingerprint was made (a parser worker, for
    # an item that hits no keyword: its shingles are then not sent to the storing process at all).
    seed: DedupDecision | None | Unchecked = UNCHECKED

    @property
    def epoch(self) -> int:
        return int(self.published.timestamp())


@dataclass(frozen=True)
class Repoint:
    """A stored item (and whatever names it as its original) now repeats `target`."""

    item_id: int
    target: str
    method: str
    score: float


def indexable(fp: Fingerprint, settings: DedupSettings) -> bool:
    """Long enough to verify anything against, and fingerprinted whole: only these are indexed and
    looked up by LSH."""
    return not fp.seeds_only and len(fp.full) >= settings.min_shared


def index_keys(fp: Fingerprint, settings: DedupSettings) -> list[int]:
    """The LSH keys to store for an item (none: it is kept out of the index)."""
    return fp.keys if indexable(fp, settings) else []


def _verdict(settings: DedupSettings, shared: int, containment: float, resemblance: float
             ) -> tuple[str, float] | None:
    if shared < settings.min_shared:
        return None
    if resemblance >= settings.resemblance:
        return "resemblance", resemblance
    if containment >= settings.containment:
        return "containment", containment
    return None


def _verify(fp: Fingerprint, other: Neighbour, settings: DedupSettings) -> tuple[str, float] | None:
    shingles = text_shingles((other.title, other.summary, other.content))
    if not shingles or not fp.full.size:
        return None
    shared = len(shingles.intersection(fp.full.tolist()))
    containment = max(shared / fp.full.size, shared / len(shingles))
    resemblance = shared / (fp.full.size + len(shingles) - shared)
    return _verdict(settings, shared, containment, resemblance)


def _root(n: Neighbour, direct: DedupDecision) -> DedupDecision:
    """Point at what the matched item repeats, when it surely repeats something."""
    if n.duplicate_of and not n.dup_possible and n.duplicate_of != f"item:{n.id}":
        return DedupDecision(n.duplicate_of, direct.method, direct.score)
    return direct


def seed_verdict(fp: Fingerprint, seeds: SeedIndex, settings: DedupSettings) -> DedupDecision | None:
    """Does this text repeat a seed (check 2)? The best seed by containment whose overlap passes."""
    return _first_passing(seeds.overlaps(fp.full, settings.min_shared), settings)


def seed_verdicts(fps: list[Fingerprint], seeds: SeedIndex, settings: DedupSettings) -> list[DedupDecision | None]:
    """seed_verdict() of each of several fingerprints (a feed's), with one lookup for all of them."""
    return [_first_passing(found, settings)
            for found in seeds.overlaps_many([fp.full for fp in fps], settings.min_shared)]


def _first_passing(overlaps: list[SeedOverlap], settings: DedupSettings) -> DedupDecision | None:
    for o in overlaps:
        v = _verdict(settings, o.shared, o.containment, o.resemblance)
        if v:
            return DedupDecision(f"seed:{o.name}", v[0], v[1])
    return None


def _by_crosslingual(fp: Fingerprint, seeds: SeedIndex, s: DedupSettings) -> DedupDecision | None:
    if not s.crosslingual or not seeds.seeds or not fp.anchors:
        return None
    n = len(seeds.seeds)
    best: tuple[float, str] | None = None
    for seed in seeds.seeds:
        if seed.language == fp.language:
            continue  # same language: shingles already had their say
        total, shared = crosslingual.score(set(fp.anchors), set(seed.anchors), seeds.anchor_df, n)
        if len(shared) >= s.crosslingual_min_anchors and total >= s.crosslingual_min_coverage:
            if best is None or total > best[0]:
                best = (total, seed.name)
    if best is None:
        return None
    return DedupDecision(f"seed:{best[1]}", "crosslingual", s.crosslingual_score, possible=True)


def _me(c: Candidate) -> tuple[int, float]:
    return (c.epoch, c.item_id if c.item_id is not None else float("inf"))


def decide(candidate: Candidate, neighbours: Neighbours, seeds: SeedIndex,
           settings: DedupSettings) -> DedupDecision:
    """Is this item a repeat, and of what? `neighbours` are the stored items the store found for it:
    those with its canonical link, and those sharing LSH keys within the window (either side)."""
    fp = candidate.fingerprint
    me = _me(candidate)
    if candidate.link_key is not None:
        for n in sorted(neighbours.by_link, key=lambda n: (n.published, n.id)):
            if (n.published, n.id) < me:
                return _root(n, DedupDecision(f"item:{n.id}", "link", 1.0))
            break  # the earliest is not earlier: none is
    found = seed_verdict(fp, seeds, settings) if isinstance(candidate.seed, Unchecked) else candidate.seed
    if found:
        return found
    if indexable(fp, settings):
        # Earliest first: the first one verified is the original (or leads to it), so stop there.
        # Either side may be the short one: a summary-only repost, or a full text after a teaser.
        earlier = sorted((n for n in neighbours.near if (_indexed(n), n.id) < me),
                         key=lambda n: (_indexed(n), n.id))
        for n in earlier:
            v = _verify(fp, n, settings)
            if v:
                return _root(n, DedupDecision(f"item:{n.id}", v[0], v[1]))
    return _by_crosslingual(fp, seeds, settings) or NOT_DUPLICATE


def _indexed(n: Neighbour) -> int:
    return n.indexed_published if n.indexed_published is not None else n.published


def adopt_later(item_id: int, decision: DedupDecision, candidate: Candidate, neighbours: Neighbours,
                settings: DedupSettings) -> list[Repoint]:
    """The stored items published after this one that repeat it, re-pointed at its original.

    `neighbours` are the ones `decide` was given (looked up before this item was stored). An item
    that already repeats something at least as early stays as it is. The store moves an item's own
    followers (items naming it) along with it; that is mirrored here, so later steps see it."""
    target = decision.duplicate_of if (decision.duplicate_of and not decision.possible) else f"item:{item_id}"
    me = (candidate.epoch, item_id)
    later: dict[int, tuple[str, float]] = {}
    known: dict[int, Neighbour] = {}
    if candidate.link_key is not None:
        # A wire story keeps its link across a dozen feeds' copies: only the later ones matter here.
        for n in neighbours.by_link:
            known[n.id] = n
            if n.id != item_id and (n.published, n.id) > me:
                later[n.id] = ("link", 1.0)
    if indexable(candidate.fingerprint, settings):
        for n in neighbours.near:
            known.setdefault(n.id, n)
            if n.id in later or n.id == item_id or (_indexed(n), n.id) <= me:
                continue  # already found by link, or earlier: this item cannot be its original
            v = _verify(candidate.fingerprint, n, settings)
            if v:
                later[n.id] = v
    # What each known item repeats now, as the re-points below change it.
    points: dict[int, tuple[str | None, bool, int | None]] = {
        n.id: (n.duplicate_of, n.dup_possible, n.original_published) for n in known.values()}
    out: list[Repoint] = []
    for iid, (method, score) in later.items():
        n = known[iid]
        if (n.published, iid) <= me:
            continue
        dup_of, possible, original = points[iid]
        points_later = (dup_of is not None and dup_of.startswith("item:") and original is not None
                        and (original, int(dup_of[5:])) > me)
        if dup_of and not possible and not points_later:
            continue  # it already repeats something at least as early
        out.append(Repoint(iid, target, method, score))
        points[iid] = (target, False, None)
        for jid, (j_dup, _, _) in points.items():  # its followers move with it
            if j_dup == f"item:{iid}":
                points[jid] = (target, False, None)
    return out

