"""Matching speed on real feeds: items/s for the shipped keyword list, on one core.

    .venv/bin/python bench/match.py [--feeds ../shared/realdata/feeds] [--list seeds/keywords.yaml]
                                    [--repeat 5] [--show]

Parses every feed under --feeds once (feedparser; not timed), then times Matcher.match over all items.
It prints items/s for the matcher and, as a baseline measured in the same run on the same items, for
normalize.fold alone (the fold every item needs anyway), so the ratio says what matching adds.
--show lists the items the list calls relevant: these feeds are ordinary news, so each is a
candidate false alert to read.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from watcher.match import Matcher  # noqa: E402
from watcher.normalize import fold  # noqa: E402

_TAG = re.compile(r"<[^>]+>")


def load_items(feeds: Path) -> list[tuple[str, str, str, str | None]]:
    items = []
    for path in sorted(feeds.rglob("*")):
        if not path.is_file() or path.suffix not in (".xml", ".rss", ".atom", ".rdf", ""):
            continue
        parsed = feedparser.parse(path.read_bytes())
        lang = path.parent.name if path.parent.name in ("en", "vi", "ar", "zh") else None
        for e in parsed.entries:
            content = " ".join(_TAG.sub(" ", c.get("value", "")) for c in e.get("content", []))
            items.append((e.get("title", ""), _TAG.sub(" ", e.get("summary", "")), content, lang))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=Path, default=ROOT.parent / "shared" / "realdata" / "feeds")
    ap.add_argument("--list", type=Path, default=ROOT / "seeds" / "keywords.yaml")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args()
    if not args.feeds.is_dir():
        sys.exit(f"{args.feeds}: no feeds folder; pass --feeds DIR (the real feeds live in ../shared/realdata/feeds)")
    items = load_items(args.feeds)
    chars = sum(len(t) + len(s) + len(c) for t, s, c, _ in items)
    t0 = time.perf_counter()
    matcher = Matcher.load(args.list)
    compile_s = time.perf_counter() - t0

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    fold_s = timed(lambda: [(fold(t), fold(s), fold(c)) for t, s, c, _ in items])
    match_s = timed(lambda: [matcher.match(t, s, c, lang) for t, s, c, lang in items])
    results = [matcher.match(t, s, c, lang) for t, s, c, lang in items]
    relevant = [(it, r) for it, r in zip(items, results) if r.relevant]
    print(f"items: {len(items)}  chars: {chars:,}  compile: {compile_s * 1000:.1f} ms")
    print(f"fold only : {len(items) / fold_s:10,.0f} items/s")
    print(f"match     : {len(items) / match_s:10,.0f} items/s  ({match_s / fold_s:.2f}x the time of fold alone)")
    print(f"relevant  : {len(relevant)} of {len(items)} ordinary-news items")
    if args.show:
        for (t, s, c, lang), r in relevant:
            print(f"  [{lang}] {r.score:5.1f} {t[:90]!r} {r.keywords}")


if __name__ == "__main__":
    main()
