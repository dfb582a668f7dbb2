"""What `fulltext: auto` costs: article pages it would fetch per 1,000 items of real feeds.

    .venv/bin/python bench/fulltext_cost.py [--feeds ../shared/realdata/feeds] [--list seeds/keywords.yaml]
                                            [--thresholds 300,600,1000]

Parses every feed under --feeds (not _snapshot_series: the same items again) with watcher's own parser
and matcher, and asks watcher.fulltext.policy for each item. It prints the distribution of the entries'
own text length (what the `short` threshold is chosen from) and, per threshold, how many items are short,
how many of those name a keyword, and so how many page requests `auto` makes per 1,000 items. `always`
would make 1,000 (less the entries without a link).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.fulltext.policy import SHORT_CHARS, Thresholds, decide, own_length  # noqa: E402
from watcher.match import Matcher  # noqa: E402
from watcher.parse import parse_feed  # noqa: E402


def load(feeds: Path) -> list[tuple[str, object, str | None]]:
    out = []
    for path in sorted(feeds.rglob("*")):
        if not path.is_file() or "_snapshot_series" in path.parts or path.suffix not in (".xml", ".rss", ".atom", ""):
            continue
        feed = parse_feed(path.read_bytes(), {}, f"https://example.org/{path.name}")
        lang = path.parent.name if path.parent.name in ("en", "vi", "ar", "zh") else None
        for e in feed.entries:
            out.append((path.name, e, lang or e.language or feed.language))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=Path, default=ROOT.parent / "shared" / "realdata" / "feeds")
    ap.add_argument("--list", type=Path, default=ROOT / "seeds" / "keywords.yaml")
    ap.add_argument("--thresholds", default=f"150,300,{SHORT_CHARS},1000,2000")
    args = ap.parse_args()
    if not args.feeds.is_dir():
        sys.exit(f"{args.feeds}: no feeds folder; pass --feeds DIR")
    matcher = Matcher.load(args.list)
    items = load(args.feeds)
    n = len(items)
    feeds = sorted({f for f, _, _ in items})
    print(f"{n} items in {len(feeds)} feeds")
    lengths = sorted(own_length(e) for _, e, _ in items)
    q = statistics.quantiles(lengths, n=20)
    print("own text length (Latin-character equivalents): "
          f"p5={q[0]:.0f} p25={q[4]:.0f} median={q[9]:.0f} p75={q[14]:.0f} p95={q[18]:.0f}")
    per_feed = sorted((statistics.median([own_length(e) for f2, e, _ in items if f2 == f]), f) for f in feeds)
    gap = [m for m, _ in per_feed]
    print("feeds by median own length: " + ", ".join(f"{m:.0f}" for m in gap))
    matched = [(e, matcher.match(e.title, e.summary, "", lang), matcher.mentions(e.title, e.summary, lang))
               for _, e, lang in items]
    with_hit = sum(bool(m.hits) for _, m, _ in matched)
    mentioning = sum(bool(m.hits) or men for _, m, men in matched)
    print(f"items with a keyword hit in title or teaser: {with_hit} ({1000 * with_hit / n:.1f} per 1,000); "
          f"naming a term: {mentioning} ({1000 * mentioning / n:.1f} per 1,000)")
    print(f"{'short <':>8} {'short items':>12} {'auto fetches':>13} {'per 1,000':>10}")
    for t in (int(x) for x in args.thresholds.split(",")):
        th = Thresholds(short_chars=t)
        short = sum(own_length(e) < t for e, _, _ in matched)
        fetch = sum(decide("auto", e, m, lambda: men, False, th).fetch for e, m, men in matched)
        print(f"{t:>8} {short:>12} {fetch:>13} {1000 * fetch / n:>10.1f}" + ("   <- default" if t == SHORT_CHARS else ""))


if __name__ == "__main__":
    main()
