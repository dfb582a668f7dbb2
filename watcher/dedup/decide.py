"""The Deduper: decides whether an item repeats a seed or an earlier item, and says why.

Checks run from the cheapest and surest to the weakest, and the first that holds wins:

1. link          another stored item has the same canonical link and came first
2. seed          the item's shingles are contained in a seed's (excerpt, summary, copy inside site
                 boilerplate), or resemble them (rewrite): "resemblance" when the Jaccard of the two
                 sets passes its threshold, else "containment"
3. item          the same, against earlier items within `window_days`, found through the LSH index
4. crosslingual  an item in another language than a seed shares rare anchors with it: a *possible*
                 duplicate, shown with a lower score, never a certain one

An item that repeats an item which itself repeats something points at the root, so every repost of
a story names the same original. Duplicates are stored and linked, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import sqlite_utils

from ..config import DedupSettings
from ..links import canonical_link
from ..model import NOT_DUPLICATE, DedupDecision
from ..store import parse_iso
from . import crosslingual
from .index import LEAD_TOKENS, Candidate, LshIndex, keys_for
from .seeds import SeedIndex
from .shingles import SIZE, distinct, folded_paragraphs, segments, text_shingles

__all__ = ["Deduper", "also_in", "Fingerprint", "fingerprint"]


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

    @property
    def full(self) -> np.ndarray:
        return np.frombuffer(self.full_bytes, dtype=np.uint64)

    @property
    def lead(self) -> np.ndarray:
        return np.frombuffer(self.lead_bytes, dtype=np.uint64)

    @property
    def keys(self) -> list[int]:
        return np.frombuffer(self.keys_bytes, dtype=np.int64).tolist()


def fingerprint(title: str, summary: str, content: str, language: str | None) -> Fingerprint:
    """Fingerprint of an item's text. Each part is folded once, and everything below reads that fold:
    the paragraphs for the full shingle set, the body's first LEAD_TOKENS tokens for the lead, the
    folded text for the anchors; all shingles (lead too) are hashed in one numpy pass."""
    folded: list[str] = []
    paras: list[list[str]] = []
    for part in (title, summary, content):
        f, p = folded_paragraphs(part)
        folded.append(f)
        paras.append(p)
    seen: set[str] = set()
    segs: list[str] = []
    for p in paras:
        segs += distinct(p, seen)
    n_full = len(segs)
    # The lead: the first LEAD_TOKENS tokens of the body, across its paragraphs, repeats included.
    lead_toks: list[str] = []
    for p in paras[1] if summary.strip() else paras[2]:
        if p:
            lead_toks += p.split(" ", LEAD_TOKENS - len(lead_toks))[:LEAD_TOKENS - len(lead_toks)]
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
    full = np.unique(full_arr)
    lead = np.unique(s.windows[cut:])
    text = "\n".join(t for t in (title, summary, content) if t)
    lang = language if language in ("en", "vi", "ar", "zh") else crosslingual.script_language(text)
    keys = b""
    if full.size:
        differs = lead.size and not np.array_equal(lead, full)
        keys = np.asarray(keys_for(full_arr, s.windows[cut:] if differs else None), dtype=np.int64).tobytes()
    return Fingerprint(full.tobytes(), lead.tobytes(), frozenset(crosslingual.anchors(text, lang, folded)), lang,
                       keys)


def _epoch(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())


class Deduper:
    def __init__(self, db: sqlite_utils.Database, seeds: SeedIndex, settings: DedupSettings):
        self.db = db
        self.seeds = seeds
        self.settings = settings
        self.index = LshIndex(db)
        # decide() and remember() are called back to back on the same text: fingerprint it once, and
        # look its neighbours up once (both directions in time, see _near).
        self._last: tuple[tuple, Fingerprint] | None = None
        self._near_cache: tuple[tuple, list[Candidate]] | None = None

    def _fingerprint(self, title: str, summary: str, content: str, language: str | None) -> Fingerprint:
        key = (title, summary, content, language)
        if self._last is None or self._last[0] != key:
            self._last = (key, fingerprint(title, summary, content, language))
        return self._last[1]

    # -- the decision -------------------------------------------------------------------------------

    def decide(self, *, item_id: int | None, source: str, guid: str, link: str | None, title: str,
               summary: str, content: str, language: str | None, published: datetime,
               now: datetime, fingerprint: Fingerprint | None = None, link_key: str | None = None) -> DedupDecision:
        """Is this item a repeat? `fingerprint` and `link_key`, when the caller computed them elsewhere (a
        worker process), must be `fingerprint(title, summary, content, language)` and
        `canonical_link(link)`."""
        if fingerprint is not None:
            self._last = ((title, summary, content, language), fingerprint)
        fp = self._fingerprint(title, summary, content, language)
        return (self._by_link(item_id, link_key or canonical_link(link), published)
                or self._by_seed(fp)
                or self._by_item(item_id, fp, published)
                or self._by_crosslingual(fp)
                or NOT_DUPLICATE)

    def _by_link(self, item_id: int | None, key: str | None, published: datetime) -> DedupDecision | None:
        if key is None:
            return None
        me = (_epoch(published), item_id if item_id is not None else float("inf"))
        rows = self.db.execute(
            "SELECT id, published, duplicate_of, dup_method, dup_score, dup_possible FROM items"
            " WHERE canonical_link = ? AND id IS NOT ? ORDER BY published, id LIMIT 20",
            [key, item_id],
        ).fetchall()
        for iid, pub, dup_of, method, score, possible in rows:
            if (_epoch(parse_iso(pub)), iid) < me:
                return self._root(iid, dup_of, method, score, possible, DedupDecision(f"item:{iid}", "link", 1.0))
        return None

    def _verdict(self, shared: int, containment: float, resemblance: float) -> tuple[str, float] | None:
        s = self.settings
        if shared < s.min_shared:
            return None
        if resemblance >= s.resemblance:
            return "resemblance", resemblance
        if containment >= s.containment:
            return "containment", containment
        return None

    def _by_seed(self, fp: Fingerprint) -> DedupDecision | None:
        for o in self.seeds.overlaps(fp.full.tolist(), self.settings.min_shared):
            v = self._verdict(o.shared, o.containment, o.resemblance)
            if v:
                return DedupDecision(f"seed:{o.name}", v[0], v[1])
        return None

    def _near(self, fp: Fingerprint, published: datetime, item_id: int | None) -> list[Candidate]:
        """Indexed items that may repeat this text or be repeated by it: within `window_days` either side.

        decide() needs the earlier ones and remember() the later ones, one after the other on the same
        text, so one index query serves both.
        """
        me = _epoch(published)
        key = (fp.keys_bytes, me, item_id)
        if self._near_cache is None or self._near_cache[0] != key:
            window = int(timedelta(days=self.settings.window_days).total_seconds())
            near = self.index.candidates(fp.keys, lo=me - window, hi=me + window, exclude=item_id, limit=40)
            self._near_cache = (key, near)
        return self._near_cache[1]

    def _by_item(self, item_id: int | None, fp: Fingerprint, published: datetime) -> DedupDecision | None:
        if len(fp.full) < self.settings.min_shared:
            return None
        me = (_epoch(published), item_id if item_id is not None else float("inf"))
        # Earliest first: the first one verified is the original (or leads to it), so stop there.
        # Either side may be the short one: a summary-only repost, or a full text after a teaser.
        earlier = sorted((c for c in self._near(fp, published, item_id) if (c.published, c.item_id) < me),
                         key=lambda c: (c.published, c.item_id))
        for c in earlier:
            v = self._verify(fp, c.item_id)
            if v:
                dup_of, m, s, possible = self.db.execute(
                    "SELECT duplicate_of, dup_method, dup_score, dup_possible FROM items WHERE id = ?",
                    [c.item_id]).fetchone()
                return self._root(c.item_id, dup_of, m, s, possible, DedupDecision(f"item:{c.item_id}", v[0], v[1]))
        return None

    def _by_crosslingual(self, fp: Fingerprint) -> DedupDecision | None:
        s = self.settings
        if not s.crosslingual or not self.seeds.seeds or not fp.anchors:
            return None
        n = len(self.seeds.seeds)
        best: tuple[float, str] | None = None
        for seed in self.seeds.seeds:
            if seed.language == fp.language:
                continue  # same language: shingles already had their say
            total, shared = crosslingual.score(set(fp.anchors), set(seed.anchors), self.seeds.anchor_df, n)
            if len(shared) >= s.crosslingual_min_anchors and total >= s.crosslingual_min_coverage:
                if best is None or total > best[0]:
                    best = (total, seed.name)
        if best is None:
            return None
        return DedupDecision(f"seed:{best[1]}", "crosslingual", s.crosslingual_score, possible=True)

    def _root(self, iid: int, dup_of: str | None, method: str | None, score: float | None,
              possible: int, direct: DedupDecision) -> DedupDecision:
        """Point at what the matched item repeats, when it surely repeats something."""
        if dup_of and not possible and dup_of != f"item:{iid}":
            return DedupDecision(dup_of, direct.method, direct.score)
        return direct

    # -- the index ----------------------------------------------------------------------------------

    def remember(self, item_id: int, *, title: str, summary: str, content: str, language: str | None,
                 published: datetime, link: str | None, link_key: str | None = None) -> None:
        """Index a stored item, and make it the original of later items already stored.

        Feeds are stored one after another, so a repost can be stored before the item it repeats
        (its feed came first in the poll). When the original then arrives, the repost is re-pointed
        at it: the earlier item is the original whatever order the feeds were read in.
        """
        fp = self._fingerprint(title, summary, content, language)
        # Looked up before this item is indexed: usually decide()'s lookup for the same text (a new item
        # had no id then, and was not in the index, so it could not be among the results either).
        near = self._near(fp, published, None) if len(fp.full) >= self.settings.min_shared else []
        self._index(item_id, fp, published)
        self._adopt_later(item_id, fp, published, link_key or canonical_link(link), near)

    def _index(self, item_id: int, fp: Fingerprint, published: datetime) -> None:
        self._near_cache = None  # the index changes: the next lookup must be made afresh
        if len(fp.full) < self.settings.min_shared:
            self.index.remove(item_id)  # too short to verify anything against
        else:
            self.index.add(item_id, _epoch(published), fp.keys)

    def _adopt_later(self, item_id: int, fp: Fingerprint, published: datetime, key: str | None,
                     near: list[Candidate]) -> None:
        row = self.db.execute("SELECT duplicate_of, dup_possible FROM items WHERE id = ?", [item_id]).fetchone()
        if row is None:
            return  # indexed before being stored (benchmarks): nothing to re-point
        mine, my_possible = row
        target = mine if (mine and not my_possible) else f"item:{item_id}"
        me = (_epoch(published), item_id)
        later: dict[int, tuple[str, float]] = {}
        if key is not None:
            # A wire story keeps its link across a dozen feeds' copies: only the later ones matter here.
            for iid, pub in self.db.execute("SELECT id, published FROM items WHERE canonical_link = ? AND id != ?",
                                            [key, item_id]).fetchall():
                if (_epoch(parse_iso(pub)), iid) > me:
                    later[iid] = ("link", 1.0)
        for c in near:
            if c.item_id in later or (c.published, c.item_id) <= me:
                continue  # already found by link, or earlier: this item cannot be its original
            v = self._verify(fp, c.item_id)
            if v:
                later[c.item_id] = v
        for iid, (method, score) in later.items():
            r = self.db.execute("SELECT published, duplicate_of, dup_possible, relevant, review_status"
                                " FROM items WHERE id = ?", [iid]).fetchone()
            if r is None or (_epoch(parse_iso(r[0])), iid) <= me:
                continue
            pub, dup_of, possible, relevant, review = r
            if dup_of and not possible and not self._points_later(dup_of, me):
                continue  # it already repeats something at least as early
            self._set_duplicate(iid, target, method, score, bool(relevant), review)
            # Items that named the re-pointed one as their original follow it.
            for (jid, jrel, jrev) in self.db.execute(
                    "SELECT id, relevant, review_status FROM items WHERE duplicate_of = ?", [f"item:{iid}"]).fetchall():
                jm, js = self.db.execute("SELECT dup_method, dup_score FROM items WHERE id = ?", [jid]).fetchone()
                self._set_duplicate(jid, target, jm, js, bool(jrel), jrev)

    def _points_later(self, dup_of: str, me: tuple[int, int]) -> bool:
        if not dup_of.startswith("item:"):
            return False
        r = self.db.execute("SELECT published FROM items WHERE id = ?", [int(dup_of[5:])]).fetchone()
        return r is not None and (_epoch(parse_iso(r[0])), int(dup_of[5:])) > me

    def _set_duplicate(self, iid: int, target: str, method: str | None, score: float | None, relevant: bool,
                       review: str | None) -> None:
        from ..match import review_status_after  # the queue rule lives with matching

        self.db.execute("UPDATE items SET duplicate_of = ?, dup_method = ?, dup_score = ?, dup_possible = 0,"
                        " review_status = ? WHERE id = ?",
                        [target, method, None if score is None else round(score, 4),
                         review_status_after(review, relevant, target), iid])

    def _verify(self, fp: Fingerprint, other_id: int) -> tuple[str, float] | None:
        row = self.db.execute("SELECT title, summary, content FROM items WHERE id = ?", [other_id]).fetchone()
        if row is None:
            return None
        other = text_shingles(row)
        if not other or not fp.full.size:
            return None
        shared = len(other.intersection(fp.full.tolist()))
        containment = max(shared / fp.full.size, shared / len(other))
        resemblance = shared / (fp.full.size + len(other) - shared)
        return self._verdict(shared, containment, resemblance)

    def forget(self, item_id: int) -> None:
        self.index.remove(item_id)
        self._near_cache = None  # the index changed

    def reindex(self) -> int:
        """Rebuild the index from the items table (recheck, or after a change of shingling)."""
        self.index.clear()
        self._near_cache = None
        n = 0
        for iid, t, s, c, lang, pub in self.db.execute(
                "SELECT id, title, summary, content, language, published FROM items").fetchall():
            self._index(iid, fingerprint(t, s, c, lang), parse_iso(pub))
            n += 1
        return n


def also_in(db: sqlite_utils.Database, item_id: int) -> list[dict]:
    """The stored reposts of an item: those whose duplicate_of names it, earliest first."""
    cur = db.execute("SELECT id, source, link, title, language, dup_method, dup_score FROM items"
                     " WHERE duplicate_of = ? ORDER BY published, id", [f"item:{item_id}"])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]

