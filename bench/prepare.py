"""What the per-item "prepare" work costs against bare feedparser, one core.

    .venv/bin/python bench/prepare.py [--feeds ../shared/realdata/feeds] [--repeat 3] [--html]

Every feed file under --feeds is read once. Then, on one core and in this process:

  bare feedparser   feedparser.parse() over the same bytes: the baseline bench/poll.py compares with
  parse             watcher.parse.parse_feed alone (fast parser, html_to_text on every field)
  match             Matcher.match alone, for every entry, shipped keyword list
  fingerprint       dedup fingerprint() of every entry, whole (shingles, lead, LSH keys, anchors):
                    what fingerprinting would cost if every item were treated as relevant
  prepare_feed      what a parser worker does per feed (watcher/prepare.py), with the seed check the
                    pool passes it: parse, fold each field once, match (skipping items where no term
                    occurs), fingerprint whole only items with a keyword hit, and check the others
                    against the seeds for the whole feed at once. This, not the sum of the rows
                    above, is the stage's cost.
  hand-off          pickle.loads of what prepare_feed returns: paid by the storing process, in the
                    executor's result thread, for every item

Each figure is CPU ms per item (time.process_time), the best of --repeat runs. --html also times
html_to_text alone over every title/summary/content field as the feed carries it (before any
parsing of ours).
"""

from __future__ import annotations

import argparse
import functools
import gc
import pickle
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from timing import best_of  # noqa: E402
from watcher.config import DedupSettings  # noqa: E402
from watcher.dedup import SeedIndex, seed_verdicts  # noqa: E402
from watcher.dedup.fingerprint import fingerprint  # noqa: E402
from watcher.match import Matcher  # noqa: E402
from watcher.parse import parse_feed  # noqa: E402
from watcher.prepare import item_language, prepare_feed  # noqa: E402
from watcher.text import html_to_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=Path, default=ROOT.parent / "shared" / "realdata" / "feeds")
    ap.add_argument("--list", type=Path, default=ROOT / "seeds" / "keywords.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--html", action="store_true", help="also time html_to_text alone")
    a = ap.parse_args()

    files = sorted(p for p in a.feeds.rglob("*.xml") if p.is_file())
    if not files:
        sys.exit(f"no *.xml feeds under {a.feeds}; pass --feeds")
    bodies = [p.read_bytes() for p in files]
    matcher = Matcher.load(a.list)
    with tempfile.TemporaryDirectory() as cache:
        seeds = SeedIndex.load(ROOT / "seeds", Path(cache))
    seed_check = functools.partial(seed_verdicts, seeds=seeds, settings=DedupSettings())

    feeds = [parse_feed(b, {}, f"http://127.0.0.1/{i}.xml") for i, b in enumerate(bodies)]
    items = [(e, item_language(None, e, f)) for f in feeds if f.failure is None for e in f.entries]
    n = len(items)
    print(f"{len(files)} feeds, {n} items, {sum(map(len, bodies)) / 1e6:.1f} MB, best of {a.repeat}")

    # The corpus and its parsed items are this process's, not a worker's: keep the garbage collector
    # from walking them again and again while the stages run.
    gc.collect()
    gc.freeze()

    def each(fn, xs) -> None:
        for x in xs:
            fn(x)  # results are dropped, as a worker hands each feed's back and moves on

    bare = best_of(lambda: each(feedparser.parse, bodies), a.repeat)
    parse = best_of(lambda: each(lambda b: parse_feed(b, {}, "http://127.0.0.1/f.xml"), bodies), a.repeat)
    match = best_of(lambda: each(lambda i: matcher.match(i[0].title, i[0].summary, i[0].content, i[1]), items),
                    a.repeat)
    fp = best_of(lambda: each(lambda i: fingerprint(i[0].title, i[0].summary, i[0].content, i[1]), items),
                 a.repeat)

    def row(label: str, s: float) -> None:
        print(f"{label:<16} {1000 * s / n:7.3f} ms/item  {s / bare:6.2f}x bare feedparser")

    def prepare(i_b: tuple[int, bytes]):
        return prepare_feed(matcher, i_b[1], {}, f"http://127.0.0.1/{i_b[0]}.xml", None, seed_check)

    whole = best_of(lambda: each(prepare, enumerate(bodies)), a.repeat)

    row("bare feedparser", bare)
    row("parse", parse)
    row("match", match)
    row("fingerprint", fp)
    row("prepare_feed", whole)
    sent = [pickle.dumps(prepare(i_b), pickle.HIGHEST_PROTOCOL) for i_b in enumerate(bodies)]
    row("hand-off", best_of(lambda: each(pickle.loads, sent), a.repeat))
    if a.html:
        fields = []
        for b in bodies:
            for e in feedparser.parse(b).entries:
                fields.append(e.get("title", ""))
                fields.append(e.get("summary", ""))
                fields += [c.get("value", "") for c in e.get("content", [])]
        row("html_to_text", best_of(lambda: each(html_to_text, fields), a.repeat))


if __name__ == "__main__":
    main()
