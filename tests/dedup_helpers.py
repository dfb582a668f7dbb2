"""Shared helpers for the dedup tests: a real store, items inserted the way the pipeline does."""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

from watcher import store
from watcher.config import DedupSettings
from watcher.dedup import Deduper, SeedIndex
from watcher.links import canonical_link

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)

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


class Store:
    """A real SQLite store with a Deduper, and items saved the way the pipeline saves them."""

    def __init__(self, tmp: Path, settings: DedupSettings | None = None, seeds: SeedIndex | None = None):
        self.db = store.connect(tmp / "watcher.db")
        self.seeds = seeds if seeds is not None else SeedIndex.load(SEEDS, tmp / "cache")
        self.deduper = Deduper(self.db, self.seeds, settings or DedupSettings())
        self._sources: set[str] = set()

    def decide(self, *, source="a", guid="g", link=None, title="", summary="", content="", language=None,
               published=T0, item_id=None):
        return self.deduper.decide(item_id=item_id, source=source, guid=guid, link=link, title=title,
                                   summary=summary, content=content, language=language,
                                   published=published, now=published + timedelta(hours=1))

    def add(self, *, source="a", guid=None, link=None, title="", summary="", content="", language=None,
            published=T0):
        """Decide, insert and remember one new item; returns (id, decision)."""
        if source not in self._sources:
            self.db.execute("INSERT OR IGNORE INTO sources (name, url) VALUES (?, ?)",
                            [source, f"http://127.0.0.1/{source}.xml"])
            self._sources.add(source)
        guid = guid or f"{source}-{title}-{published.isoformat()}"
        with store.write(self.db):
            d = self.decide(source=source, guid=guid, link=link, title=title, summary=summary, content=content,
                            language=language, published=published)
            cur = self.db.execute(
                "INSERT INTO items (source, guid, guid_kind, link, canonical_link, title, summary, content,"
                " language, published, fetched_at, last_seen, content_hash, duplicate_of, dup_method,"
                " dup_score, dup_possible) VALUES (?, ?, 'guid', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'x', ?, ?, ?, ?)",
                [source, guid, link, canonical_link(link), title, summary, content, language,
                 store.iso(published), store.iso(published), store.iso(published),
                 d.duplicate_of, d.method, d.score, int(d.possible)])
            iid = cur.lastrowid
            self.deduper.remember(iid, title=title, summary=summary, content=content, language=language,
                                  published=published, link=link)
        return iid, d
