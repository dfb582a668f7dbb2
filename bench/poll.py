"""How fast is a poll? A cold and a warm poll of N local feeds, against two baselines in the same run.

    .venv/bin/python bench/poll.py [--feeds 1000] [--shared ../shared] [--repeat 3]

N feeds (default 1,000) are built from the real feeds in ../shared/realdata/feeds/ (each copy gets its
own guids and links, so items are distinct) and served by the test feed server on 127.0.0.1, in its own
process so that its CPU is not counted as ours. Then, in this order:

  cold poll      watcher's whole pipeline on an empty store (fetch, parse, match, dedup, store)
  warm poll      the same again: every feed answers 304
  bare parse     feedparser.parse() over the same bytes, one core: the parsing baseline
  bare parse x2  the same split over two forked processes: what this machine's two cores give a
                 parser that shares nothing (1.64-1.89x one process here: the halves do not end
                 together, and two busy processes can each run slower than one alone)
  bare fetch     an httpx loop GETting the same URLs (with the same validators, so 304s) at the same
                 concurrency: the fetching baseline

It prints items/s, feeds/s, CPU ms per feed and peak memory for each (and what the cold poll wrote to
disk, on Linux), and the two ratios issue 10 sets targets for: cold items/s against bare-parse items/s
(target >= 2.0) and warm wall time against the bare fetch loop (target <= 1.2); also peak memory at
most 400 MB and, for the cold poll's writes, a third of what they were before that issue.

The two polls run in a process of their own, as `watcher poll` does: its peak memory is watcher's
(the largest of that process and its parser workers), not the 160 MB of feed bodies this process
keeps for the baselines. Every feed is on one host here, which no real list is; the poll's per-host
limit (`fetch.per_host`, 2) would then make the warm poll a test of that politeness limit, so the
bench sets it to `fetch.concurrency`, the in-flight count the bare fetch loop runs at.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import feedparser  # noqa: E402
import httpx  # noqa: E402

from watcher import config as config_mod  # noqa: E402
from watcher import pipeline, store  # noqa: E402

_URLISH = re.compile(rb"(<(?:link|guid|id)[^>]*>)(\s*(?:<!\[CDATA\[)?\s*https?://[^<\]\s]+)")


def build_corpus(shared: Path, n: int) -> list[bytes]:
    files = sorted(p for lang in ("en", "zh", "vi", "other") for p in (shared / "realdata" / "feeds" / lang).glob("*.xml"))
    if not files:
        sys.exit(f"no feeds under {shared}/realdata/feeds; pass --shared")
    bodies = [f.read_bytes() for f in files]
    out = []
    for i in range(n):
        body = bodies[i % len(bodies)]
        copy = i // len(bodies)
        if copy:
            # Give each copy its own identity so the store sees distinct items, as with distinct feeds.
            body = _URLISH.sub(lambda m: m.group(1) + m.group(2) + b"#c" + str(copy).encode(), body)
        out.append(body)
    return out


def serve(bodies: list[bytes], ready, stop) -> None:
    from feedserver import FeedServer

    server = FeedServer().start()
    urls = []
    for i, body in enumerate(bodies):
        path = f"/f{i}.xml"
        server.add(path, body)
        urls.append(server.add_behaviour(path, "conditional", etag=f'"e{i}"',
                                         last_modified="Mon, 03 Nov 2025 08:00:00 GMT"))
    ready.send(urls)
    stop.recv()
    server.stop()


def cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _proc_self(name: str, key: str) -> int | None:
    """The number after `key` in /proc/self/<name> (Linux); None where there is none."""
    try:
        for line in Path("/proc/self", name).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def own_peak_mb() -> float:
    """This process's peak resident memory since it started its program. Not ru_maxrss: Linux carries
    that over an exec, so a process spawned by this 400 MB bench would start at 400 MB."""
    kib = _proc_self("status", "VmHWM:")
    return (kib if kib is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def peak_mb() -> float:
    """The largest peak of this process and of its finished children (the parser workers, forked
    without an exec, so their ru_maxrss is their own)."""
    return max(own_peak_mb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def disk_written_mb() -> float | None:
    """Bytes this process has had written to disk (Linux /proc/self/io), in MB; None elsewhere."""
    written = _proc_self("io", "write_bytes:")
    return None if written is None else written / 1e6


def measure(fn, items_of=lambda r: r) -> tuple[float, float, int]:
    """(wall s, CPU s of this process and its finished children, items) of one call."""
    c0, t0 = cpu_s(), time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, cpu_s() - c0, items_of(result)


def report(label: str, figures: tuple[float, float, int], feeds: int, peak: float) -> None:
    wall, cpu, items = figures
    print(f"{label:<12} {wall:8.2f} s  {items / wall:9.0f} items/s  {feeds / wall:8.1f} feeds/s  "
          f"{1000 * cpu / feeds:7.2f} CPU ms/feed  peak {peak:7.0f} MB")


def timed(label: str, fn, feeds: int, items_of=lambda r: r) -> tuple[float, float, int]:
    figures = measure(fn, items_of)
    report(label, figures, feeds, own_peak_mb())
    return figures


def watcher_polls(config_path: str, out) -> None:
    """In a process of its own (spawned: it inherits nothing): a cold and a warm poll, and their figures."""
    cfg = config_mod.load(Path(config_path))
    db = store.connect(cfg.db_path)
    written = disk_written_mb()
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    cold = measure(lambda: pipeline.poll(cfg, db), lambda s: s.new)
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    own = own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime  # the storing process alone
    wrote = disk_written_mb() - written if written is not None else None
    failed = db.execute("SELECT count(*) FROM fetches WHERE outcome NOT IN ('ok', 'not_modified')").fetchone()[0]
    cold_peak = peak_mb()
    warm = measure(lambda: pipeline.poll(cfg, db), lambda s: len(s.sources))
    not_modified = db.execute("SELECT count(*) FROM fetches WHERE outcome = 'not_modified'").fetchone()[0]
    db.conn.close()
    out.send({"cold": cold, "warm": warm, "wrote": wrote, "store_mb": cfg.db_path.stat().st_size / 1e6,
              "failed": failed, "not_modified": not_modified, "cold_peak": cold_peak, "warm_peak": peak_mb(), "cold_own_cpu": own})


async def bare_fetch(urls: list[str], concurrency: int) -> int:
    sem = asyncio.Semaphore(concurrency)
    n = 0
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(i: int, url: str) -> None:
            nonlocal n
            async with sem:
                r = await client.get(url, headers={"If-None-Match": f'"e{i}"'})
                await r.aread()
                n += 1
        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
    return n


_BODIES: list[bytes] = []  # set before forking, so the two parsing processes inherit the bodies


def _parse_share(share: tuple[int, int]) -> int:
    start, step = share
    return sum(len(feedparser.parse(b).entries) for b in _BODIES[start::step])


def bare_parse_two(bodies: list[bytes]) -> int:
    _BODIES[:] = bodies
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        return sum(pool.map(_parse_share, [(0, 2), (1, 2)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--repeat", type=int, default=1, help="runs (fresh store each) and their median ratios")
    a = ap.parse_args()

    bodies = build_corpus(a.shared, a.feeds)
    mb = sum(map(len, bodies)) / 1e6
    ctx = multiprocessing.get_context("spawn")  # the server process shares nothing with us
    ready_r, ready_w = ctx.Pipe(False)
    stop_r, stop_w = ctx.Pipe(False)
    proc = ctx.Process(target=serve, args=(bodies, ready_w, stop_r), daemon=True)
    proc.start()
    urls = ready_r.recv()
    print(f"{a.feeds} feeds, {mb:.1f} MB, served from 127.0.0.1 by a separate process")

    cold_ratios, warm_ratios = [], []
    for run in range(1, a.repeat + 1):
        if a.repeat > 1:
            print(f"\nrun {run} of {a.repeat}")
        cold_ratio, warm_ratio = one_run(a, bodies, urls)
        cold_ratios.append(cold_ratio)
        warm_ratios.append(warm_ratio)
    stop_w.send(True)
    proc.join(5)
    if a.repeat > 1:
        # This machine's speed drifts by a third from minute to minute; the median of several runs,
        # each against baselines timed in that run, is the figure to quote.
        print(f"\nmedian of {a.repeat} runs: cold {statistics.median(cold_ratios):.2f}x bare feedparser "
              f"(runs {', '.join(f'{r:.2f}' for r in cold_ratios)}; target >= 2.0), "
              f"warm {statistics.median(warm_ratios):.2f}x bare fetch "
              f"(runs {', '.join(f'{r:.2f}' for r in warm_ratios)}; target <= 1.2)")


def one_run(a: argparse.Namespace, bodies: list[bytes], urls: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        concurrency = config_mod.FetchSettings().concurrency
        lines = [f"seeds: {ROOT / 'seeds'}", f"state: {tmp / 'state'}", f"keywords: {ROOT / 'seeds' / 'keywords.yaml'}",
                 # One host serves every feed here (see the docstring): the same in flight as the bare loop.
                 "fetch:", f"  per_host: {concurrency}",
                 "sources:"]
        # fulltext: never: the real feeds' items link to the real sites, which a bench must not reach.
        lines += [f"  - name: f{i}\n    url: {u}\n    fulltext: never" for i, u in enumerate(urls)]
        (tmp / "sources.yaml").write_text("\n".join(lines) + "\n")
        ctx = multiprocessing.get_context("spawn")
        got, send = ctx.Pipe(False)
        proc = ctx.Process(target=watcher_polls, args=(str(tmp / "sources.yaml"), send))
        proc.start()
        r = got.recv()
        proc.join()

    report("cold poll", r["cold"], a.feeds, r["cold_peak"])
    own = r["cold_own_cpu"]
    print(f"             CPU ms/feed: {1000 * own / a.feeds:.2f} in the storing process (fetch, dedup, store), "
          f"{1000 * (r['cold'][1] - own) / a.feeds:.2f} in the parser workers")
    if r["wrote"] is not None:
        # What the store's commits cost in I/O: pipeline.BATCH_SECONDS is about this figure.
        print(f"             wrote {r['wrote']:,.0f} MB to disk for a store of {r['store_mb']:,.0f} MB")
    report("warm poll", r["warm"], a.feeds, r["warm_peak"])
    parse = timed("bare parse", lambda: sum(len(feedparser.parse(b).entries) for b in bodies), a.feeds)
    parse2 = timed("bare parse x2", lambda: bare_parse_two(bodies), a.feeds)
    fetch = timed("bare fetch", lambda: asyncio.run(bare_fetch(urls, concurrency)), a.feeds)

    cold, warm = r["cold"], r["warm"]
    cold_ratio = (cold[2] / cold[0]) / (parse[2] / parse[0])
    warm_ratio = warm[0] / fetch[0]
    print(f"\nfailed fetches in the cold poll: {r['failed']}; 304s in the warm poll: {r['not_modified']}/{a.feeds}")
    print(f"cold poll items/s vs bare feedparser items/s: {cold_ratio:.2f}x (target >= 2.0)")
    print(f"  against bare feedparser on two processes:   {(cold[2] / cold[0]) / (parse2[2] / parse2[0]):.2f}x "
          f"(which is {(parse2[2] / parse2[0]) / (parse[2] / parse[0]):.2f}x one process: this machine's ceiling for two)")
    print(f"warm poll wall time vs bare fetch loop:       {warm_ratio:.2f}x (target <= 1.2)")
    print(f"warm poll CPU vs bare fetch loop CPU:         {warm[1] / max(fetch[1], 1e-9):.2f}x")
    print(f"watcher's peak memory (its process and parser workers): {max(r['cold_peak'], r['warm_peak']):.0f} MB "
          f"(target <= 400)")
    return cold_ratio, warm_ratio


if __name__ == "__main__":
    main()
