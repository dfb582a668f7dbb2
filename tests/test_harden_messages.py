"""What `watcher poll` says when there is nothing to poll, and what `poll -v` leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from util import rss, run_cli, write_config

FEED = rss([{"guid": "g-1", "title": "Nvidia H20 export licence rules tightened", "link": "http://127.0.0.1/1"}])


def test_poll_verbose_shows_our_line_per_source_not_httpx_request_lines(tmp_path: Path, feed_server) -> None:
    cfg = write_config(tmp_path, [{"name": "a", "url": feed_server.add("/a.xml", FEED)},
                                  {"name": "b", "url": feed_server.add("/b.xml", FEED)}])
    p = run_cli(cfg, "poll", "-v")
    assert "a: ok new=1" in p.stderr and "b: ok new=1" in p.stderr
    assert "HTTP Request" not in p.stderr and "GET" not in p.stderr, p.stderr


def _write(tmp_path: Path, sources: list[dict]) -> Path:
    cfg = write_config(tmp_path, sources or [{"name": "x", "url": "http://127.0.0.1/x"}])
    if not sources:  # an empty list, as a user writes it
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text[:text.index("sources:")] + "sources: []\n", encoding="utf-8")
    return cfg


@pytest.mark.parametrize("case, says", [
    ("no-sources", "sources.yaml has no sources; add one under `sources:`"),
    ("all-disabled", "all 2 sources in sources.yaml are disabled (`enabled: false`); enable one in"),
    ("one-disabled", "the one source in sources.yaml is disabled (`enabled: false`)"),
    ("gone", "every enabled source is held back by backoff, Retry-After or 410 Gone"),
    ("not-due", "no enabled source is due yet"),
])
def test_nothing_to_poll_says_why_and_where(case: str, says: str, tmp_path: Path, feed_server) -> None:
    ok = feed_server.add("/ok.xml", FEED)
    sources = {
        "no-sources": [],
        "all-disabled": [{"name": "a", "url": ok, "enabled": False}, {"name": "b", "url": ok + "?b", "enabled": False}],
        "one-disabled": [{"name": "a", "url": ok, "enabled": False}],
        "gone": [{"name": "a", "url": feed_server.add_behaviour("/gone.xml", "gone")}],
        "not-due": [{"name": "a", "url": ok}],
    }[case]
    cfg = _write(tmp_path, sources)
    args = ["poll"]
    if case == "gone":
        run_cli(cfg, "poll")  # 410: the source is disabled until its url changes
    if case == "not-due":
        run_cli(cfg, "poll")
        args.append("--due")  # polled a moment ago; its hour has not come round
    p = run_cli(cfg, *args)
    assert p.stdout.startswith("nothing to poll: ") and says in p.stdout, p.stdout
    if case in ("no-sources", "all-disabled", "one-disabled"):
        assert str(cfg) in p.stdout  # where to add or enable one
