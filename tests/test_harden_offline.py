"""No network: when no source can be reached at all, the poll says so once, not once per source.

Nothing here leaves the machine. "Connection refused" comes from ports on 127.0.0.1 that nobody
listens on. "Does not resolve" comes from host names the C library refuses before asking any DNS
server (a label that starts with a hyphen is not a host name; checked with strace on glibc: no
packet is sent), and they are under `.invalid`, the TLD reserved never to resolve, so even a resolver
that did ask could get no answer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from feedserver import closed_port_url
from util import rss, run_cli, write_config
from watcher import config as config_mod
from watcher import pipeline, store
from watcher.config import Source

MESSAGE = "no source could be reached: is this machine online?"


def _dns(i: int) -> str:
    return f"http://-feeds{i}.invalid/rss.xml"


# (what the sources are, expected counts in the one line; None: the message must not appear)
CASES = {
    "all-refused": (["refused"] * 3, "3 connections failed"),
    "all-dns": (["dns"] * 3, "3 host names did not resolve"),
    "dns-and-refused": (["dns", "dns", "refused"], "2 host names did not resolve, 1 connections failed"),
    "one-reachable": (["refused", "refused", "ok"], None),
    "reachable-but-404": (["refused", "dns", "404"], None),  # a server answered: the network works
    "one-source-only": (["refused"], None),  # one dead server says nothing about the network
}


@pytest.mark.parametrize("name", list(CASES))
def test_no_source_reachable_is_said_once(name: str, tmp_path: Path, feed_server) -> None:
    kinds, expected = CASES[name]
    urls = []
    for i, kind in enumerate(kinds):
        if kind == "refused":
            urls.append(closed_port_url(f"/f{i}.xml"))
        elif kind == "dns":
            urls.append(_dns(i))
        elif kind == "ok":
            urls.append(feed_server.add(f"/f{i}.xml", rss([{"guid": "g", "title": "t"}])))
        else:
            urls.append(feed_server.add_behaviour(f"/f{i}.xml", "error", status=404))
    # Built in-process, so these URLs reach the poll whatever `check` thinks of them.
    cfg = config_mod.load(write_config(tmp_path, [{"name": "placeholder", "url": "http://127.0.0.1/"}]))
    cfg = dataclasses.replace(cfg, sources=tuple(Source(f"s{i}", u) for i, u in enumerate(urls)))
    summary = pipeline.poll(cfg, store.connect(cfg.db_path))
    if expected is None:
        assert summary.unreachable is None
    else:
        assert summary.unreachable is not None
        assert summary.unreachable.startswith(MESSAGE) and f"({expected};" in summary.unreachable


def test_the_cli_says_it_once_instead_of_a_line_per_source(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [{"name": f"s{i}", "url": closed_port_url(f"/f{i}.xml")} for i in range(5)])
    p = run_cli(cfg, "poll")  # exit 0: nothing is wrong with the config or the store
    assert p.stderr.count(MESSAGE) == 1, p.stderr
    assert "failed: s" not in p.stderr  # not five lines saying the same
    assert "sources: 0 ok, 5 failed" in p.stdout
    # Each source's own error is still recorded, for `watcher status`.
    assert run_cli(cfg, "status").stdout.count("connection refused") == 5
