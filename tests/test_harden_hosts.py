"""One unresponsive host does not hold the whole poll, and the poll says what it is waiting for.

A server that accepts connections and never answers costs a full timeout per request. After
fetch.HOST_TIMEOUTS_TO_DEFER timeouts in a row its remaining sources are deferred to the next poll
(not failed: no backoff), the poll as a whole has a deadline (fetch.poll_deadline), and while it waits
it prints what it waits for. `watcher status` says why a source was deferred.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedserver import FeedServer
from util import rss, run_cli, write_config
from watcher import config as config_mod
from watcher import pipeline, store
from watcher.config import Source
from watcher.fetch import HOST_TIMEOUTS_TO_DEFER

FEED = rss([{"guid": "ok-1", "title": "Nvidia H20 export licence rules tightened by BIS",
             "link": "http://127.0.0.1/news/ok-1"}])
N_HUNG = 20
PER_HOST = 2


@pytest.fixture
def other_server():
    """A second server: another host:port, which the hung one must not hold up."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


def _status(cfg: Path) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(run_cli(cfg, "status", "--format", "json").stdout)}


def test_a_host_that_never_answers_is_deferred_after_a_few_timeouts(tmp_path: Path, feed_server,
                                                                    other_server) -> None:
    hung = [{"name": f"hung{i}", "url": feed_server.add_behaviour(f"/h{i}.xml", "hang")} for i in range(N_HUNG)]
    # Last in the file, and on the same host name (127.0.0.1) as the hung server, so it queues for the
    # same per-host slots behind every hung source: the deferral is what lets it through.
    healthy = {"name": "healthy", "url": other_server.add("/ok.xml", FEED)}
    cfg = write_config(tmp_path, [*hung, healthy],
                       extra=f"fetch: {{connect_timeout: 1, read_timeout: 1, total_timeout: 2, per_host: {PER_HOST}}}")
    p = run_cli(cfg, "poll")
    key = f"127.0.0.1:{feed_server.port}"

    # Bounded: the silent server was asked only until it had timed out enough, not once per source.
    asked = sum(len(feed_server.requests(f"/h{i}.xml")) for i in range(N_HUNG))
    assert asked <= HOST_TIMEOUTS_TO_DEFER + PER_HOST - 1, asked
    n_deferred = N_HUNG - asked
    assert f"sources: 1 ok, {asked} failed, {n_deferred} deferred" in p.stdout
    # One line for all of them, naming the host and why; not one line per source.
    deferred_lines = [line for line in p.stderr.splitlines() if line.startswith("deferred:")]
    assert len(deferred_lines) == 1, p.stderr
    assert f"{n_deferred} sources" in deferred_lines[0]
    assert f"host {key} timed out {HOST_TIMEOUTS_TO_DEFER} times this poll" in deferred_lines[0]

    status = _status(cfg)
    assert status["healthy"]["items"] == 1 and status["healthy"]["deferred"] is None
    timed_out = [n for n, r in status.items() if r["last_error_kind"] == "timeout"]
    deferred = [n for n, r in status.items() if r["deferred"]]
    assert len(timed_out) == asked and len(deferred) == n_deferred
    for name in deferred:
        r = status[name]
        assert f"host {key} timed out" in r["deferred"]
        # Not its own failure: no failure counted, no backoff, due again at the next poll.
        assert r["failures"] == 0 and r["hold_until"] is None and r["last_error"] is None
    table = run_cli(cfg, "status").stdout
    assert f"note: {deferred[0]} was deferred by the last poll (host {key} timed out" in table

    # The server answers again: the next plain poll takes the deferred ones (never held back, unlike
    # the ones that timed out, which back off) along with healthy, and their deferral is cleared.
    for i in range(N_HUNG):
        feed_server.add(f"/h{i}.xml", FEED)
    p = run_cli(cfg, "poll")
    assert f"sources: {n_deferred + 1} ok, 0 failed;" in p.stdout
    assert not any(r["deferred"] for r in _status(cfg).values())


def test_the_poll_has_a_deadline_and_says_what_it_waits_for(tmp_path: Path, feed_server, other_server) -> None:
    # Timeouts far longer than the deadline: only the deadline can end these requests.
    hung = [{"name": f"hung{i}", "url": feed_server.add_behaviour(f"/h{i}.xml", "hang")} for i in range(3)]
    healthy = {"name": "healthy", "url": other_server.add("/ok.xml", FEED)}
    path = write_config(tmp_path, [healthy, *hung],
                        extra="fetch: {read_timeout: 600, total_timeout: 600, per_host: 4, poll_deadline: 1s}")  # 1 s: the least allowed
    cfg = config_mod.load(path)
    lines: list[str] = []
    summary = pipeline.poll(cfg, store.connect(cfg.db_path), progress=lines.append, progress_every=0.3)

    by_name = {o.name: o for o in summary.sources}
    assert by_name["healthy"].status == "ok" and by_name["healthy"].new == 1
    for i in range(3):
        o = by_name[f"hung{i}"]
        assert o.status == "deferred" and "fetch.poll_deadline: 1s" in o.error, o
    # What it waited for, while it waited: the count and the host.
    assert lines, "no progress while the poll waited"
    assert f"waiting on 3 (host 127.0.0.1:{feed_server.port}: 3)" in lines[-1], lines
    assert "1 of 4 sources done" in lines[-1]

    status = _status(path)
    for i in range(3):
        r = status[f"hung{i}"]
        assert "poll_deadline" in r["deferred"] and r["failures"] == 0 and r["hold_until"] is None


PROGRESS = [
    # (source urls, which are done, expected tail of the line)
    (["http://a.example/1", "http://a.example/2", "http://b.example:8080/x", "https://c.example/y"],
     [False, False, False, True], "1 of 4 sources done; waiting on 3 (host a.example: 2, host b.example:8080: 1)"),
    ([f"http://h{i}.example/" for i in range(5)] + ["http://a.example/"] * 2,
     [False] * 7, "0 of 7 sources done; waiting on 7 (host a.example: 2, host h0.example: 1, host h1.example: 1, "
     "3 more hosts)"),
]


@pytest.mark.parametrize("urls, done, tail", PROGRESS)
def test_the_progress_line_counts_what_is_left_by_host(urls: list[str], done: list[bool], tail: str) -> None:
    line = pipeline.progress_line([Source(f"s{i}", u) for i, u in enumerate(urls)], done, 12.4)
    assert line == f"still polling after 12s: {tail}"
