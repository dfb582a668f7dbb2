"""Compare fastfeedparser with feedparser on real feeds: do they agree, and how much faster is it?

    .venv/bin/python bench/parsers.py [--shared /work/shared] [-v]

For every file of each corpus the whole of watcher.parse runs twice, once forced to each parser
(parse_with). A feed "fully agrees" when both give the same entries in the same order with the same
guid, guid kind, link, published and updated (to the second, UTC), title, summary and content text
(after html_to_text). Feeds that neither parser reads as a feed (failures on both sides) count as
agreeing; a feed that one parser fails and the other reads does not. Two agreement figures: the
fast parser forced on every file, and parse_feed as shipped (fast path, feedparser when the fast
result fails the cheap checks) against feedparser alone.

Speed is measured in the same run on the same bytes: the bare parser calls (fastfeedparser.parse vs
feedparser.parse on the bytes xmlsafe.prepare produced) and the whole parse_with (which adds
decoding, neutralisation and html_to_text, the same work for both). Numbers are items per second of
CPU time (time.process_time), best of --repeat runs.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fastfeedparser  # noqa: E402
import feedparser  # noqa: E402

from timing import best_of  # noqa: E402
from watcher import xmlsafe  # noqa: E402
from watcher.model import FeedData  # noqa: E402
from watcher.parse import parse_feed, parse_with  # noqa: E402

FIELDS = ("guid", "guid_kind", "link", "published", "updated", "title", "summary", "content")


def corpus_files(root: Path, skip: str | None = None) -> list[Path]:
    # Expected-output JSON next to peer-suite inputs is not a feed.
    return sorted(
        p for p in root.rglob("*")
        if p.is_file()
        and not (p.suffix == ".json" and "jsonfeed" not in p.parts and "json" not in p.parts)
        and not (skip and skip in p.parts)
    )


def differences(a: FeedData, b: FeedData) -> list[str]:
    if a.failure or b.failure:
        if a.failure and b.failure:
            return []
        return [f"failure: fast={a.failure and a.failure.kind.value} feedparser={b.failure and b.failure.kind.value}"]
    if len(a.entries) != len(b.entries):
        return [f"entries: fast={len(a.entries)} feedparser={len(b.entries)}"]
    out = []
    for i, (x, y) in enumerate(zip(a.entries, b.entries)):
        for f in FIELDS:
            vx, vy = getattr(x, f), getattr(y, f)
            if vx != vy:
                out.append(f"entry {i} {f}: fast={str(vx)[:90]!r} feedparser={str(vy)[:90]!r}")
    return out


def _agrees(path: Path, got: FeedData, want: FeedData, label: str, verbose: bool) -> bool:
    diff = differences(got, want)
    if diff and verbose:
        print(f"  {path}: {len(diff)} difference(s) {label}")
        for d in diff[:4]:
            print(f"      {d}")
    return not diff


def run_corpus(name: str, files: list[Path], repeat: int, verbose: bool) -> dict[str, float]:
    agree = 0
    agree_auto = 0
    items = 0
    fast_used = 0
    blobs = []
    for p in files:
        content = p.read_bytes()
        a = parse_with("fastfeedparser", content, {}, "http://example.com/feed")
        b = parse_with("feedparser", content, {}, "http://example.com/feed")
        c = parse_feed(content, {}, "http://example.com/feed")
        agree += _agrees(p, a, b, "fastfeedparser alone", verbose)
        agree_auto += _agrees(p, c, b, f"parse_feed ({c.parser})", verbose)
        items += len(b.entries)
        if c.parser == "fastfeedparser":
            fast_used += 1
        blobs.append((content, xmlsafe.prepare(content, {}).text.encode("utf-8")))

    def bare_fast() -> None:
        for _, data in blobs:
            try:
                fastfeedparser.parse(data)
            except Exception:
                pass

    def bare_slow() -> None:
        for _, data in blobs:
            feedparser.parse(io.BytesIO(data), response_headers={"content-type": "application/xml; charset=utf-8"},
                             sanitize_html=False)

    def full(parser: str | None):
        def run() -> None:
            for content, _ in blobs:
                parse_with(parser, content, {}, "http://example.com/feed")
        return run

    t_fast = best_of(bare_fast, repeat)
    t_slow = best_of(bare_slow, repeat)
    t_full_fast = best_of(full("fastfeedparser"), repeat)
    t_full_slow = best_of(full("feedparser"), repeat)
    t_full_auto = best_of(full(None), repeat)
    n = len(files)
    pct = 100.0 * agree / n if n else 0.0
    pct_auto = 100.0 * agree_auto / n if n else 0.0
    print(f"{name}: {n} files, {items} items (feedparser)")
    print(f"  agreement with feedparser: fastfeedparser alone {agree}/{n} ({pct:.1f}%); "
          f"parse_feed {agree_auto}/{n} ({pct_auto:.1f}%), fast path taken on {fast_used}/{n}")
    print(f"  bare parser : fastfeedparser {items / t_fast:10.0f} items/s   feedparser {items / t_slow:8.0f} items/s   speed-up x{t_slow / t_fast:.1f}")
    print(f"  parse_with  : fastfeedparser {items / t_full_fast:10.0f} items/s   feedparser {items / t_full_slow:8.0f} items/s   speed-up x{t_full_slow / t_full_fast:.1f}")
    print(f"  parse_feed (fast path + fallback): {items / t_full_auto:.0f} items/s, x{t_full_slow / t_full_auto:.1f} vs feedparser only")
    return {"agree_pct": pct, "agree_auto_pct": pct_auto}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every disagreeing feed")
    args = ap.parse_args()
    real = args.shared / "realdata"
    if not real.is_dir():
        print(f"{real} not found: pass --shared DIR (the folder holding realdata/)", file=sys.stderr)
        return 2
    corpora = [
        ("real feeds (realdata/feeds)", real / "feeds", "_snapshot_series"),
        ("real feeds, snapshot series", real / "feeds" / "_snapshot_series", None),
        ("peer suite feedparser", real / "peer_suites" / "feedparser", None),
        ("peer suite gofeed", real / "peer_suites" / "gofeed", None),
        ("peer suite feed-rs", real / "peer_suites" / "feed-rs", None),
        ("peer suite rss-parser-js", real / "peer_suites" / "rss-parser-js", None),
        ("peer suite miniflux", real / "peer_suites" / "miniflux", None),
    ]
    for name, root, skip in corpora:
        if root.is_dir():
            run_corpus(name, corpus_files(root, skip), args.repeat, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
