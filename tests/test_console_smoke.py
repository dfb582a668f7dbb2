"""Smoke tests of the installed console script (`watcher`, in a subprocess), the way a user runs it.

Every other CLI test runs in-process through the same entry point (util.run_cli); these prove the
script itself is installed and wired: a poll stores what a served feed carries, and a library error
is one line on stderr with its exit status.
"""

from __future__ import annotations

import json

from test_poll import OFF_TOPIC, ON_TOPIC
from util import rss, run_console, write_config


def test_the_console_script_polls_and_exports(feed_server, tmp_path):
    url = feed_server.add("/a.xml", rss([ON_TOPIC, OFF_TOPIC]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url, "language": "en"}])
    out = run_console(cfg_path, "poll")
    assert "1 ok, 0 failed" in out.stdout and "2 new" in out.stdout
    rows = [json.loads(line) for line in run_console(cfg_path, "export", "--format", "jsonl").stdout.splitlines()]
    assert sorted((r["guid"], r["relevant"]) for r in rows) == [("t-1", True), ("t-2", False)]


def test_a_library_error_is_one_line_and_an_exit_status(tmp_path):
    cfg_path = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    p = run_console(cfg_path, "show", "999", check=False)
    assert p.returncode == 2
    assert p.stderr.startswith("Error: no item with id 999") and len(p.stderr.strip().splitlines()) == 1
