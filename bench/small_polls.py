"""Where does a pool of parser workers start to pay? Cold polls of a few real feeds, parsed in the
polling process (`fetch.workers: 1`) and in a pool of two forked workers (`fetch.workers: 2`).

    .venv/bin/python bench/small_polls.py [--sizes 1,2,4,8,16,32] [--repeat 5] [--shared ../shared]

For each size N, N real feeds from ../shared/realdata/feeds/ (bench/poll.py's corpus) are served from
127.0.0.1 by a separate process, and each run polls them into a fresh store. It prints the median
wall time and the median CPU time (this process and its workers) of each way, and their ratio. With
`fetch.workers: 0` (one per core, the default), pipeline.POOL_FROM_SOURCES is the size from which a
poll forks its pool; this is the measurement behind that figure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH.parent / "tests"), str(BENCH)]

from poll import build_corpus, cpu_s, serve  # noqa: E402
from util import write_config  # noqa: E402

from watcher import config as config_mod  # noqa: E402
from watcher import pipeline, store  # noqa: E402


def one_poll(urls: list[str], workers: int) -> tuple[float, float]:
    """(wall s, CPU s) of one cold poll of `urls` into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        sources = [{"name": f"s{i}", "url": u, "fulltext": "never"} for i, u in enumerate(urls)]
        cfg = config_mod.load(write_config(Path(tmp), sources, f"fetch: {{workers: {workers}}}"))
        db = store.connect(cfg.db_path)
        c0, t0 = cpu_s(), time.perf_counter()
        summary = pipeline.poll(cfg, db)
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        db.conn.close()
        assert not summary.failed, [o.error for o in summary.failed]
        return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,2,4,8,16,32")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--shared", type=Path, default=BENCH.parents[1] / "shared")
    a = ap.parse_args()
    sizes = [int(n) for n in a.sizes.split(",")]

    bodies = build_corpus(a.shared, max(sizes))
    ctx = multiprocessing.get_context("spawn")  # the server's CPU is not ours
    ready_r, ready_w = ctx.Pipe(False)
    stop_r, stop_w = ctx.Pipe(False)
    proc = ctx.Process(target=serve, args=(bodies, ready_w, stop_r), daemon=True)
    proc.start()
    urls = ready_r.recv()
    one_poll(urls[:2], 2)  # imports, the seed cache, the compiled keyword list: not part of any figure

    print(f"{'feeds':>5}  {'here: wall':>10} {'CPU':>7}  {'pool: wall':>10} {'CPU':>7}  {'pool/here wall':>14} {'CPU':>6}")
    for n in sizes:
        runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
        for _ in range(a.repeat):
            for workers in (1, 2):  # interleaved, so drift in the machine's speed hits both alike
                runs[workers].append(one_poll(urls[:n], workers))
        here = [statistics.median(x) for x in zip(*runs[1])]
        pool = [statistics.median(x) for x in zip(*runs[2])]
        print(f"{n:5d}  {here[0] * 1000:8.0f}ms {here[1] * 1000:5.0f}ms  {pool[0] * 1000:8.0f}ms {pool[1] * 1000:5.0f}ms"
              f"  {pool[0] / here[0]:13.2f}x {pool[1] / here[1]:5.2f}x")
    stop_w.send(True)
    proc.join(5)


if __name__ == "__main__":
    main()
