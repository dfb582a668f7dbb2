"""Review page benchmark: the queue page's server time at 100,000 stored items (issue 13: < 200 ms).

    python bench/serve.py                 # 100,000 items (about a minute to build, in /tmp)
    python bench/serve.py --n 20000 --repeat 20

A store is filled through the store API (store.connect, store.write, sqlite-utils inserts): N items
over 10 sources, 4 languages and 90 days, a third of them queued, with topics, hits and summaries like
polled ones. Then each page below is requested in process (Starlette's TestClient, so the time is the
app's: routing, the security guard, queries, shaping and templates, no network) and timed, median and
p95 over --repeat runs, against a baseline measured in the same run: a bare SELECT of the same page's
rows (same filter, same order, same LIMIT) on the same connection. Last, the same pages without the
items_queue index, to show what it is for.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from watcher import config, store  # noqa: E402
from watcher.review import QueueFilter  # noqa: E402
from watcher.web import queries  # noqa: E402
from watcher.web.app import create_app  # noqa: E402

LANGS = ["en", "vi", "ar", "zh"]
TOPICS = ["export-controls", "nvidia-china-chips", "huawei-ascend", "chinese-ai-chips", "smuggling-remote-compute"]
TEXT = {
    "en": "Washington tightened export controls on Nvidia chips sold to China, the Commerce Department said. ",
    "vi": "Mỹ siết kiểm soát xuất khẩu chip Nvidia sang Trung Quốc, Bộ Thương mại Mỹ cho biết hôm thứ Hai. ",
    "ar": "فرضت الولايات المتحدة ضوابط التصدير على رقائق الذكاء الاصطناعي المتقدمة إلى الصين. ",
    "zh": "美国商务部将更多中国企业列入实体清单，并加强对英伟达芯片的出口管制。",
}


def build(folder: Path, n: int) -> Path:
    rnd = random.Random(13)
    sources = [(f"source-{i}", LANGS[i % 4]) for i in range(10)]
    cfg_path = folder / "sources.yaml"
    cfg_path.write_text(
        f"state: {json.dumps(str(folder / 'state'))}\nkeywords: {json.dumps(str(ROOT / 'seeds' / 'keywords.yaml'))}\n"
        f"seeds: {json.dumps(str(ROOT / 'seeds'))}\nsources:\n"
        + "".join(f"  - {{name: {s}, url: 'http://127.0.0.1:9/{s}.xml', language: {lang}}}\n" for s, lang in sources),
        encoding="utf-8")
    db = store.connect(folder / "state" / "watcher.db")
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    with store.write(db):
        db["sources"].insert_all({"name": s, "url": f"http://127.0.0.1:9/{s}.xml"} for s, _ in sources)
        rows = []
        for i in range(n):
            source, lang = sources[i % 10]
            when = store.iso(start + timedelta(seconds=rnd.randrange(90 * 86400)))
            summary = TEXT[lang] * 4
            relevant = rnd.random() < 0.4
            topics = rnd.sample(TOPICS, 2) if relevant else []
            hits = [{"topic": topics[0], "term": "export control", "field": "summary", "start": 20, "end": 35,
                     "weight": 3, "points": 3}] if relevant else []
            status = (rnd.choice(["new", "new", "new", "accepted", "rejected", "later"]) if relevant else None)
            rows.append({"id": i + 1, "source": source, "guid": f"g{i}", "guid_kind": "guid",
                         "link": f"https://example.org/{source}/{i}", "title": f"Item {i}: " + TEXT[lang][:60],
                         "summary": summary, "content": "", "summary_html": f"<p>{summary}</p>", "language": lang,
                         "published": when, "fetched_at": when, "last_seen": when, "content_hash": f"h{i}",
                         "relevant": int(relevant), "score": 4.5 if relevant else 0.0,
                         "topics": store.dumps(topics), "keywords": store.dumps(["export control"] if relevant else []),
                         "hits": store.dumps(hits), "review_status": status})
            if len(rows) == 5000:
                db["items"].insert_all(rows, batch_size=5000)
                rows = []
        if rows:
            db["items"].insert_all(rows, batch_size=5000)
    db.conn.execute("ANALYZE")
    db.conn.close()
    return cfg_path


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm: caches, the keyword list's topics, the template
    ms = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.95))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="watcher-bench-serve-") as d:
        t = time.perf_counter()
        cfg = config.load(build(Path(d), args.n))
        print(f"built a store of {args.n:,} items in {time.perf_counter() - t:.1f} s")
        db = store.connect(cfg.db_path)
        client = TestClient(create_app(cfg, db=db), base_url="http://127.0.0.1:8700")
        first = queries.queue_page(db, queries.QueueQuery())
        deep = queries.queue_page(db, queries.QueueQuery(), limit=queries.PAGE_SIZE * 40)[-1]
        cursor = f"{deep['published']}|{deep['id']}"
        pages = [
            ("queue, status new", "/", queries.QueueQuery()),
            ("queue, language ar", "/?language=ar", queries.QueueQuery(QueueFilter(language="ar"))),
            ("queue, topic huawei-ascend", "/?topic=huawei-ascend", queries.QueueQuery(QueueFilter(topic="huawei-ascend"))),
            ("queue, source + dates", "/?source=source-3&since=2026-10-01&until=2026-10-31",
             queries.QueueQuery(QueueFilter(source="source-3"), since=datetime(2026, 10, 1).date(),
                                until=datetime(2026, 10, 31).date())),
            ("queue, status all", "/?status=all", queries.QueueQuery(QueueFilter(status=None))),
            ("queue, page 41 (cursor)", f"/?before={cursor}", queries.QueueQuery(before=(deep["published"], deep["id"]))),
        ]
        assert first, "the store has no queued items"

        def measure(label: str) -> None:
            print(f"\n{label}")
            print(f"{'page':32} {'page ms':>9} {'p95':>7} {'bare SELECT ms':>15} {'ratio':>6}")
            for name, url, q in pages:
                def get(url=url):
                    r = client.get(url)
                    assert r.status_code == 200, (url, r.status_code, r.text[-300:])
                page_ms, p95 = timed(get, args.repeat)
                base_ms, _ = timed(lambda q=q: queries.queue_page(db, q), args.repeat)
                print(f"{name:32} {page_ms:9.1f} {p95:7.1f} {base_ms:15.2f} {page_ms / base_ms:6.1f}")

        measure(f"with the items_queue index ({args.n:,} items; median of {args.repeat}; target < 200 ms)")
        db.execute("DROP INDEX items_queue")
        measure("without it (for comparison only)")


if __name__ == "__main__":
    main()
