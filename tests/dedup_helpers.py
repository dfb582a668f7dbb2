"""Shared helpers for the dedup tests: the pure decision alone, and a real store with items saved the
way the pipeline saves them."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from watcher import store
from watcher.config import DedupSettings, Source
from watcher.dedup import Candidate, SeedIndex, decide, fingerprint, index_keys
from watcher.ingest import Dedup, save_entry
from watcher.links import canonical_link
from watcher.model import DedupDecision, EntryData, MatchResult, Neighbours
from watcher.prepare import PreparedEntry, content_hash

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
# A keyword hit short of relevant: only an item with a score above zero is fingerprinted and checked
# (dedup.worth_fingerprinting), as every item these tests deduplicate is meant to be.
NEAR = MatchResult(relevant=False, score=1.0, topics=[], keywords=[], hits=[])

_BOILER = {
    "vi": ("Trang chủ > Công nghệ > AI", "Chia sẻ Facebook Twitter Zalo", "Tin liên quan:",
           "Bình luận (0)", "Đăng nhập để bình luận", "Xem thêm"),
    "ar": ("الرئيسية > تكنولوجيا", "شارك على فيسبوك تويتر واتساب", "اقرأ أيضا:", "التعليقات", "تابعونا"),
}


def seed_path(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


def strip_marks(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def apply_ops(text: str, ops: list) -> str:
    """Build a test item from a seed by the operations of seed_cases.yaml."""
    rng = random.Random(7)
    lines = [l for l in text.splitlines() if l.strip()]
    for op in ops:
        name, arg = (op, None) if isinstance(op, str) else next(iter(op.items()))
        if name == "lines":
            lines = lines[arg[0] - 1:arg[1]]
        elif name == "chars":
            lines = [" ".join(lines)[:arg] + "..."]
        elif name == "strip_marks":
            lines = [strip_marks(l) for l in lines]
        elif name == "nfd":
            lines = [unicodedata.normalize("NFD", l) for l in lines]
        elif name == "boilerplate":
            b = _BOILER[arg]
            lines = [b[0], b[1], *lines, b[1], b[2], "- " + b[-1], b[3], b[4]]
        elif name in ("swap_every", "replace_every"):
            out = []
            for l in lines:
                words = l.split()
                for i in range(arg - 1, len(words) - 1, arg):
                    if name == "swap_every":
                        words[i], words[i + 1] = words[i + 1], words[i]
                    else:
                        words[i] = rng.choice(["rất", "đã", "nhiều", "mới", "قد", "جدا", "new"])
                out.append(" ".join(words))
            lines = out
        elif name == "reverse_lines":
            lines = lines[::-1]
        else:
            raise ValueError(f"unknown op {name!r} in seed_cases.yaml")
    return "\n".join(lines)


def decide_alone(seeds: SeedIndex, settings: DedupSettings, *, title: str = "", summary: str = "",
                 content: str = "", language: str | None = None, link: str | None = None,
                 published: datetime = T0, neighbours: Neighbours | None = None) -> DedupDecision:
    """The pure decision, without a store: against the seeds and the neighbours given (none by default)."""
    candidate = Candidate(None, published, fingerprint(title, summary, content, language), canonical_link(link))
    return decide(candidate, neighbours or Neighbours(), seeds, settings)


def also_in(db, item_id: int) -> list[dict]:
    return [asdict(r) for r in store.reposts(db, item_id)]


class Store:
    """A real SQLite store, with items saved the way the pipeline saves them (ingest.save_entry)."""

    def __init__(self, tmp: Path, settings: DedupSettings | None = None, seeds: SeedIndex | None = None):
        self.db = store.connect(tmp / "watcher.db")
        self.seeds = seeds if seeds is not None else SeedIndex.load(SEEDS, tmp / "cache")
        self.dd = Dedup(self.seeds, settings or DedupSettings())
        self._sources: set[str] = set()

    def decide(self, *, source="a", guid="g", link=None, title="", summary="", content="", language=None,
               published=T0, item_id=None) -> DedupDecision:
        """Decide against the store as it is, storing nothing."""
        fp = fingerprint(title, summary, content, language)
        candidate = Candidate(item_id, published, fp, canonical_link(link))
        neighbours = store.neighbours(self.db, link_key=candidate.link_key, keys=index_keys(fp, self.dd.settings),
                                      published=published, window_days=self.dd.settings.window_days,
                                      exclude=item_id)
        return decide(candidate, neighbours, self.dd.seeds, self.dd.settings)

    def _save(self, source: str, guid: str, link, title, summary, content, language, published,
              stored: store.StoredKey | None) -> tuple[int, DedupDecision]:
        if source not in self._sources:
            store.sync_sources(self.db, [Source(source, f"http://127.0.0.1/{source}.xml")])
            self._sources.add(source)
        entry = EntryData(guid=guid, guid_kind="guid", link=link, title=title, summary=summary, content=content,
                          summary_html="", published=published, updated=None)
        prepared = PreparedEntry(entry=entry, language=language, match=NEAR,
                                 fingerprint=fingerprint(title, summary, content, language),
                                 canonical_link=canonical_link(link), content_hash=content_hash(entry))
        with store.write(self.db):
            save_entry(self.db, Source(source, f"http://127.0.0.1/{source}.xml"), prepared, dd=self.dd,
                       now=published, stored=stored)
        iid = store.items_for_update(self.db, source, [guid])[guid].id
        item = store.get_item(self.db, iid)
        return iid, DedupDecision(item.duplicate_of, item.dup_method, item.dup_score, item.dup_possible)

    def add(self, *, source="a", guid=None, link=None, title="", summary="", content="", language=None,
            published=T0) -> tuple[int, DedupDecision]:
        """Decide, insert and index one new item; returns (id, decision)."""
        guid = guid or f"{source}-{title}-{published.isoformat()}"
        return self._save(source, guid, link, title, summary, content, language, published, None)

    def edit(self, item_id: int, *, link=None, title="", summary="", content="", language=None,
             published=T0) -> DedupDecision:
        """A correction in place of a stored item (same source and guid, new text), as a poll stores it."""
        item = store.get_item(self.db, item_id)
        return self._save(item.source, item.guid, link, title, summary, content, language, published,
                          store.StoredKey(item_id, item.content_hash))[1]
