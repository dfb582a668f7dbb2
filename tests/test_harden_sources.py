"""One bad source is that source's failure: the others are polled and stored, and `run` keeps going.

The configs here are built in-process, so they reach the poll even where `watcher check` would refuse
them: the poll must hold on its own, whatever config it is handed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from util import rss, write_config
from watcher import config as config_mod
from watcher import pipeline, store
from watcher.config import Config, FetchSettings, Source
from watcher.fetch import Fetcher
from watcher.match import Matcher
from watcher.scheduler import Runner

FEED = rss([{"guid": "h-1", "title": "Nvidia H20 export licence rules tightened by BIS",
             "link": "http://127.0.0.1/news/h-1", "description": "The Entity List grows."},
            {"guid": "h-2", "title": "Bakery wins bread award", "link": "http://127.0.0.1/news/h-2"}])

# URLs a config can carry that no server can be asked for. Each one used to crash the whole poll
# (an ExceptionGroup from the socket layer, an IDNAError from the URL parser) or send a DNS query
# for a name no DNS server can have; each must be its own source's "bad_url" failure.
MALFORMED = {
    "port-too-big": "http://127.0.0.1:99999/x",
    "port-negative": "http://127.0.0.1:-1/x",
    "port-just-over": "http://127.0.0.1:65536/feed.xml",
    "port-zero": "http://127.0.0.1:0/feed.xml",
    "ipv6-port-too-big": "http://[::1]:70000/x",
    "ipv6-unclosed": "http://[::1/x",
    "bad-punycode": "http://xn--/x",
    "bad-punycode-2": "http://xn--a.example/x",
    "empty-label": "http://a..b.example/x",
    "percent-in-host": "http://%41%42.example/x",
    "backslash-in-host": "http://127.0.0.1\\x/feed",
    "no-host": "http:///x",
    "not-http": "ftp://127.0.0.1/feed.xml",
}


def _config(tmp_path: Path, healthy_url: str, bad: dict[str, str], **fetch: object) -> Config:
    """A config loaded from disk with one healthy source, then the bad ones added as check never
    would let them through."""
    cfg = config_mod.load(write_config(tmp_path, [{"name": "healthy", "url": healthy_url}]))
    extra = tuple(Source(name=name, url=url) for name, url in bad.items())
    return dataclasses.replace(cfg, sources=cfg.sources + extra,
                               fetch=dataclasses.replace(cfg.fetch, **fetch) if fetch else cfg.fetch)


def _rows(cfg: Config) -> dict[str, tuple]:
    db = store.connect(cfg.db_path)
    try:
        items = dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
        return {r[0]: (r[1], r[2], items.get(r[0], 0))
                for r in db.execute("SELECT name, last_error_kind, last_error FROM sources")}
    finally:
        db.conn.close()


def test_malformed_urls_fail_alone_and_the_healthy_source_is_stored(tmp_path: Path, feed_server) -> None:
    cfg = _config(tmp_path, feed_server.add("/ok.xml", FEED), MALFORMED)
    db = store.connect(cfg.db_path)
    summary = pipeline.poll(cfg, db)
    by_name = {o.name: o for o in summary.sources}
    assert by_name["healthy"].status == "ok" and by_name["healthy"].new == 2
    rows = _rows(cfg)
    assert rows["healthy"] == (None, None, 2)
    for name, url in MALFORMED.items():
        o = by_name[name]
        assert (o.status, o.error_kind) == ("failed", "bad_url"), (name, o)
        assert repr(url) in o.error and "fix" in o.error, o.error  # names the url and says what to do
        assert rows[name][0] == "bad_url" and rows[name][2] == 0  # recorded, for `watcher status`


def test_run_keeps_going_past_a_malformed_url(tmp_path: Path, feed_server) -> None:
    # `run` used to exit at once: its catch-up poll raised. Now it polls the healthy source, records
    # the bad ones, and plans every source's next poll.
    cfg = _config(tmp_path, feed_server.add("/ok.xml", FEED), MALFORMED)
    runner = Runner(cfg)
    runner.start()
    try:
        assert runner.scheduler is not None and runner.scheduler.running
        jobs = {j.id for j in runner.scheduler.get_jobs()}
        assert {f"poll:{name}" for name in ("healthy", *MALFORMED)} <= jobs
    finally:
        runner.shutdown()
    rows = _rows(cfg)
    assert rows["healthy"][2] == 2
    assert all(rows[name][0] == "bad_url" for name in MALFORMED)


def _fake_server(request: httpx.Request) -> httpx.Response:
    """A fetch layer where one URL meets a bug: an exception no transport should ever raise."""
    if request.url.host == "bug.example":
        raise {"key": KeyError, "zero": ZeroDivisionError, "type": TypeError}[request.url.path.strip("/")]("boom")
    # A stream, not content=: the fetcher reads the raw body itself, as from a network.
    return httpx.Response(200, stream=httpx.ByteStream(FEED.encode()), headers={"content-type": "application/rss+xml"})


@pytest.mark.parametrize("path, exc", [("key", "KeyError"), ("zero", "ZeroDivisionError"), ("type", "TypeError")])
def test_a_bug_met_while_fetching_one_source_is_that_sources_failure(path: str, exc: str) -> None:
    matcher = Matcher.load(Path(__file__).resolve().parents[1] / "seeds" / "keywords.yaml")

    async def both():
        async with Fetcher(FetchSettings(), transport=httpx.MockTransport(_fake_server)) as fetcher:
            parsers = pipeline.Parsers(None, matcher)
            return await asyncio.gather(
                pipeline.fetch_and_prepare(fetcher, parsers, Source("bug", f"http://bug.example/{path}"), None, None),
                pipeline.fetch_and_prepare(fetcher, parsers, Source("fine", "http://fine.example/f"), None, None))

    (bug, bug_prepared, _), (fine, fine_prepared, _) = asyncio.run(both())
    assert bug.failure is not None and bug.failure.kind.value == "internal" and bug_prepared is None
    assert exc in bug.failure.message and "http://bug.example" in bug.failure.message
    assert "report" in bug.failure.message
    assert fine.ok and len(fine_prepared.entries) == 2


def _children() -> list[int]:
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()
            if int(fields[1]) == me and fields[0] != "Z":
                out.append(int(entry.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_parser_worker_killed_mid_poll_costs_no_source_its_poll(tmp_path: Path, feed_server) -> None:
    # The system's OOM killer, or a crash inside the parser, ends a worker: the pool is then broken for
    # every feed after. The poll parses the rest itself.
    gate = threading.Event()
    urls = {}
    for i in range(4):
        feed_server.add(f"/f{i}.xml", rss([{"guid": f"g{i}", "title": f"Item {i}", "link": f"http://127.0.0.1/{i}"}]))
        urls[f"f{i}"] = feed_server.add_behaviour(f"/f{i}.xml", "held", gate=gate)
    cfg = config_mod.load(write_config(tmp_path, [{"name": n, "url": u} for n, u in urls.items()],
                                       extra="fetch: {workers: 2, per_host: 4}"))
    done: dict = {}

    def poll() -> None:
        try:
            done["summary"] = pipeline.poll(cfg, store.connect(cfg.db_path))
        except BaseException as e:  # the test's own assertion says what went wrong
            done["error"] = e

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        deadline = time.monotonic() + 60  # waits for events; the limit only turns a hang into a failure
        while not all(feed_server.requests(f"/f{i}.xml") for i in range(4)):
            assert time.monotonic() < deadline and poller.is_alive(), done
            time.sleep(0.05)
        workers = _children()
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        # The pool notices and ends its other worker too; then the feeds come in.
        while _children():
            assert time.monotonic() < deadline, _children()
            time.sleep(0.05)
    finally:
        gate.set()
        poller.join(60)
    assert "error" not in done, done.get("error")
    summary = done["summary"]
    assert [(o.name, o.status, o.new) for o in summary.sources] == [(n, "ok", 1) for n in urls]
