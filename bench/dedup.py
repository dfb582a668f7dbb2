"""Dedup benchmark: deciding one item against a store of N items, against an exact all-pairs baseline.

    python bench/dedup.py                 # N = 100000 then 1000000 (a few minutes, ~2 GB of disk in /tmp)
    python bench/dedup.py --n 2000        # a quick run
    python bench/dedup.py --measure       # the threshold measurements behind DedupSettings' defaults

The store is filled with N items whose index keys are drawn at random (distinct stories: what a real
store mostly holds; computing real fingerprints for a million texts would take longer than the point
needs). Then QUERIES real synthetic texts are stored and indexed (store.apply(IndexEntry)), and each is decided
again as a repost from another feed, and a fresh text is decided as new. Reported:

- ms per decide (the store's neighbour lookup and the pure decision; median, p95) at each N: it must stay under 2 ms and not grow with N;
- index bytes per stored item (the dedup_keys and dedup_indexed tables, from the file size);
- the exact baseline: compare the new item's shingles with every stored item's, timed on a sample of
  SAMPLE items and scaled to N (it grows linearly), and the ratio to the index;
- recall of the index against the exact baseline on that sample (reposts the exact scan finds).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher import store  # noqa: E402
from watcher.config import DedupSettings  # noqa: E402
from watcher.dedup import Candidate, SeedIndex, decide, fingerprint, index_keys  # noqa: E402
from watcher.dedup.index import BANDS  # noqa: E402

T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)
QUERIES = 200
SAMPLE = 2000


def _words(rng: random.Random, vocab: list[str], n: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(n))


def _story(rng: random.Random, vocab: list[str]) -> tuple[str, str, str]:
    title = _words(rng, vocab, 10)
    summary = _words(rng, vocab, 45) + "."
    content = summary + "\n" + "\n".join(_words(rng, vocab, 60) + "." for _ in range(3))
    return title, summary, content


def fill(db, n: int, rng: np.random.Generator) -> None:
    """N indexed items with random keys (half with a lead signature too), and their rows."""
    db.execute("INSERT OR IGNORE INTO sources (name, url) VALUES ('bench', 'http://127.0.0.1/bench.xml')")
    chunk = 50_000
    now = int(T0.timestamp())
    for start in range(0, n, chunk):
        ids = np.arange(start + 1, min(n, start + chunk) + 1)
        nkeys = np.where(ids % 2 == 0, 2 * BANDS, BANDS)
        keys = rng.integers(-2**63, 2**63 - 1, size=int(nkeys.sum()), dtype=np.int64)
        owners = np.repeat(ids, nkeys)
        order = np.argsort(keys)
        with store.write(db):
            db.conn.executemany("INSERT INTO dedup_keys (key, item_id) VALUES (?, ?)",
                                zip(keys[order].tolist(), owners[order].tolist()))
            offs = np.concatenate([[0], np.cumsum(nkeys)])
            pubs = now - (ids * 7) % (30 * 86400)
            db.conn.executemany("INSERT INTO dedup_indexed (item_id, published, keys) VALUES (?, ?, ?)",
                                ((int(i), int(p), keys[offs[j]:offs[j + 1]].tobytes())
                                 for j, (i, p) in enumerate(zip(ids, pubs))))
            db.conn.executemany(
                "INSERT INTO items (id, source, guid, guid_kind, title, published, fetched_at, last_seen,"
                " content_hash) VALUES (?, 'bench', ?, 'guid', '', ?, ?, ?, 'x')",
                ((int(i), f"g{i}", T0.isoformat(), T0.isoformat(), T0.isoformat()) for i in ids))


def run(n: int, workdir: Path) -> dict:
    path = workdir / f"bench-{n}.db"
    for p in workdir.glob(f"bench-{n}.db*"):
        p.unlink()
    db = store.connect(path)
    db.execute("PRAGMA cache_size = -200000")
    t = time.perf_counter()
    fill(db, n, np.random.default_rng(1))
    fill_s = time.perf_counter() - t
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index_bytes = sum(r[0] for r in db.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name IN ('dedup_keys', 'dedup_indexed',"
        " 'sqlite_autoindex_dedup_keys_1', 'dedup_indexed_published')").fetchall() if r[0]) \
        if _has_dbstat(db) else None

    rng = random.Random(n)
    vocab = [f"w{i}" for i in range(20_000)]
    settings, seeds = DedupSettings(), SeedIndex([])
    planted = []
    with store.write(db):
        for q in range(QUERIES):
            title, summary, content = _story(rng, vocab)
            pub = T0 + timedelta(hours=q)
            cur = db.execute(
                "INSERT INTO items (source, guid, guid_kind, title, summary, content, published, fetched_at,"
                " last_seen, content_hash) VALUES ('bench', ?, 'guid', ?, ?, ?, ?, ?, ?, 'x')",
                [f"q{q}", title, summary, content, store.iso(pub), store.iso(pub), store.iso(pub)])
            fp = fingerprint(title, summary, content, "en")
            store.apply(db, [store.IndexEntry(cur.lastrowid, pub, index_keys(fp, settings))])
            planted.append((cur.lastrowid, title, summary, content, pub))
    times, found = [], 0
    with store.write(db):
        for iid, title, summary, content, pub in planted:
            for kind in ("repost", "fresh"):
                if kind == "repost":  # another feed: its own headline, the summary only
                    args = dict(title=_words(rng, vocab, 8), summary=summary, content="")
                else:
                    args = dict(zip(("title", "summary", "content"), _story(rng, vocab)))
                t = time.perf_counter()
                fp = fingerprint(args["title"], args["summary"], args["content"], "en")
                at = pub + timedelta(hours=2)
                near = store.neighbours(db, link_key=None, keys=index_keys(fp, settings), published=at,
                                        window_days=settings.window_days, exclude=None)
                d = decide(Candidate(None, at, fp, None), near, seeds, settings)
                times.append((time.perf_counter() - t) * 1000)
                if kind == "repost":
                    found += d.duplicate_of == f"item:{iid}"
                else:
                    assert d.duplicate_of is None, d
    db.conn.close()
    size = os.path.getsize(path)
    times.sort()
    return {"n": n, "fill_s": round(fill_s, 1), "decide_ms_median": round(statistics.median(times), 3),
            "decide_ms_p95": round(times[int(len(times) * 0.95)], 3),
            "repost_recall": round(found / len(planted), 3),
            "index_bytes_per_item": round(index_bytes / n, 1) if index_bytes else None,
            "db_bytes_per_item": round(size / n, 1)}


def _has_dbstat(db) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1").fetchall()
        return True
    except Exception:
        return False


def exact_baseline(n_target: list[int]) -> dict:
    """All-pairs: every new item against every stored item's shingle set, on SAMPLE stored items."""
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(20_000)]
    stored = [set(fingerprint(*_story(rng, vocab), "en").full.tolist()) for _ in range(SAMPLE)]
    queries = [set(fingerprint(_words(rng, vocab, 8), s, "", "en").full.tolist())
               for s in (" ".join(_words(rng, vocab, 45)) for _ in range(50))]
    t = time.perf_counter()
    for q in queries:
        best = 0.0
        for s in stored:
            shared = len(q & s)
            if shared:
                best = max(best, shared / len(q))
    per_item_ms = (time.perf_counter() - t) * 1000 / len(queries)
    return {"sample": SAMPLE, "exact_ms_at_sample": round(per_item_ms, 3),
            **{f"exact_ms_at_{n}": round(per_item_ms * n / SAMPLE, 1) for n in n_target}}


def measure() -> None:
    """The separation behind the default thresholds, on the seeds and ../shared/eval/dev."""
    dev = ROOT.parent / "shared" / "eval" / "dev" / "items.jsonl"
    if not dev.exists():
        print(f"{dev} is absent: nothing to measure")
        return
    from bs4 import BeautifulSoup

    from watcher.dedup.crosslingual import score

    seeds = SeedIndex.load(ROOT / "seeds", Path(tempfile.mkdtemp()))
    dup, other, cross_true, cross_false = [], [], [], []
    for line in dev.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        summary = BeautifulSoup(r["summary"], "lxml").get_text("\n") if "<" in r["summary"] else r["summary"]
        fp = fingerprint(r["title"], summary, r["content"], r["feed_lang"])
        best = max((o.containment for o in seeds.overlaps(fp.full.tolist(), 1)), default=0.0)
        (dup if r["category"] == "seed-duplicate" else other).append(best)
        if r["category"] in ("seed-duplicate", "item-duplicate"):
            continue
        for s in seeds.seeds:
            if s.language == fp.language:
                continue
            cov, shared = score(set(fp.anchors), set(s.anchors), seeds.anchor_df, len(seeds.seeds))
            if len(shared) >= DedupSettings().crosslingual_min_anchors:
                right = r["duplicate_of"] == f"seed:{s.name}"
                (cross_true if right else cross_false).append(round(cov, 2))
    print(f"seed containment: copies min {min(dup):.2f} (n={len(dup)}), other items max {max(other):.2f}"
          f" (n={len(other)}) -> default containment {DedupSettings().containment}")
    print(f"cross-lingual anchor coverage (>= {DedupSettings().crosslingual_min_anchors} shared): "
          f"right seed {sorted(cross_true)}, wrong {sorted(cross_false)}"
          f" -> default {DedupSettings().crosslingual_min_coverage}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="100000,1000000", help="store sizes, comma-separated")
    ap.add_argument("--dir", type=Path, default=None, help="where the bench databases go (default: a temp dir)")
    ap.add_argument("--measure", action="store_true", help="print the threshold measurements and stop")
    args = ap.parse_args()
    if args.measure:
        measure()
        return
    sizes = [int(x) for x in args.n.split(",")]
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base = exact_baseline(sizes)
    print(json.dumps(base))
    for n in sizes:
        r = run(n, workdir)
        r["exact_over_index"] = round(base["exact_ms_at_sample"] * n / SAMPLE / r["decide_ms_median"], 1)
        print(json.dumps(r), flush=True)
        for p in workdir.glob(f"bench-{n}.db*"):
            p.unlink()


if __name__ == "__main__":
    main()
