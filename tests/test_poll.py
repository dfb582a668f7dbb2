"""End to end: real feeds from a local HTTP server, through fetch, parse, match, dedup and store,
checked the way a user sees the result: `watcher status` and `watcher export`."""

from __future__ import annotations

import json
import threading
import time

import pytest

from util import rss, run_cli, write_config
from watcher import config as config_mod
from watcher import export, ingest, pipeline, store
from watcher.times import parse_iso

ON_TOPIC = {
    "guid": "t-1",
    "title": "US tightens export controls on Nvidia H20 chips bound for China",
    "link": "http://127.0.0.1/news/h20?utm_source=rss",
    "description": "The Commerce Department's BIS added new licence requirements for AI chips.",
    "pubDate": "Mon, 03 Nov 2025 08:00:00 GMT",
}
OFF_TOPIC = {
    "guid": "t-2",
    "title": "Local bakery wins regional bread award",
    "link": "http://127.0.0.1/news/bread",
    "description": "The sourdough was praised by judges.",
    "pubDate": "Mon, 03 Nov 2025 09:00:00 GMT",
}


def _export(cfg_path) -> list[dict]:
    return [json.loads(line) for line in run_cli(cfg_path, "export", "--format", "jsonl").stdout.splitlines()]


def _poll(cfg_path, **kw):
    cfg = config_mod.load(cfg_path)
    db = store.connect(cfg.db_path)
    return cfg, db, pipeline.poll(cfg, db, **kw)


def test_poll_stores_every_item_and_marks_the_relevant_one(feed_server, tmp_path):
    url = feed_server.add("/a.xml", rss([ON_TOPIC, OFF_TOPIC]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url, "language": "en"}])
    out = run_cli(cfg_path, "poll")
    assert "1 ok, 0 failed" in out.stdout and "2 new" in out.stdout
    rows = {r["guid"]: r for r in _export(cfg_path)}
    assert set(rows) == {"t-1", "t-2"}
    assert rows["t-1"]["relevant"] is True and rows["t-1"]["topics"] and rows["t-1"]["keywords"]
    assert rows["t-2"]["relevant"] is False
    assert rows["t-1"]["published"] == "2025-11-03T08:00:00+00:00"
    assert rows["t-1"]["canonical_link"].endswith("127.0.0.1/news/h20")  # tracking parameter gone
    assert rows["t-1"]["review_status"] == "new" and rows["t-2"]["review_status"] is None
    for field in export.FIELDS:
        assert field in rows["t-1"]


def test_second_poll_is_a_conditional_get_that_adds_nothing(feed_server, tmp_path):
    feed_server.add("/a.xml", rss([ON_TOPIC]))
    url = feed_server.add_behaviour("/a.xml", "conditional", etag='"v1"', last_modified="Mon, 03 Nov 2025 08:00:00 GMT")
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url}])
    run_cli(cfg_path, "poll")
    out = run_cli(cfg_path, "poll")
    assert "0 new, 0 updated" in out.stdout
    sent = feed_server.requests("/a.xml")[-1][1]
    assert sent.get("if-none-match") == '"v1"'
    cfg = config_mod.load(cfg_path)
    outcomes = [r[0] for r in store.connect(cfg.db_path).execute("SELECT outcome FROM fetches ORDER BY id")]
    assert outcomes == ["ok", "not_modified"]


def test_an_entry_corrected_in_place_stays_one_item_and_keeps_its_old_version(feed_server, tmp_path):
    url = feed_server.add("/a.xml", rss([ON_TOPIC]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url}])
    run_cli(cfg_path, "poll")
    corrected = dict(ON_TOPIC, title="CORRECTED: US tightens export controls on Nvidia H20 chips")
    feed_server.add("/a.xml", rss([corrected]))
    out = run_cli(cfg_path, "poll")
    assert "0 new, 1 updated" in out.stdout
    rows = _export(cfg_path)
    assert len(rows) == 1
    assert rows[0]["title"].startswith("CORRECTED") and rows[0]["version"] == 2
    assert rows[0]["duplicate_of"] is None
    shown = run_cli(cfg_path, "show", str(rows[0]["id"])).stdout
    assert "earlier version 1" in shown and ON_TOPIC["title"] in shown


def test_a_feed_listing_one_guid_twice_gives_one_item_that_later_polls_leave_alone(feed_server, tmp_path):
    # Feeds list newest first: the first listing is the item. Storing both made each poll an "edit".
    corrected = dict(ON_TOPIC, title="CORRECTED: US tightens export controls on Nvidia H20 chips")
    url = feed_server.add("/a.xml", rss([corrected, OFF_TOPIC, ON_TOPIC]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url}])
    assert "2 new, 0 updated" in run_cli(cfg_path, "poll").stdout
    assert "0 new, 0 updated" in run_cli(cfg_path, "poll").stdout
    rows = {r["guid"]: r for r in _export(cfg_path)}
    assert len(rows) == 2 and rows["t-1"]["title"].startswith("CORRECTED") and rows["t-1"]["version"] == 1


@pytest.mark.parametrize(
    "behaviour,kw,kind",
    [
        ("rate_limited", {"retry_after": "120"}, "rate_limited"),
        ("unavailable", {"retry_after": "30"}, "rate_limited"),
        ("error", {"status": 500}, "http_5xx"),
        ("error", {"status": 404}, "http_4xx"),
        ("html", {}, "not_a_feed"),
        ("empty", {}, "not_a_feed"),
        ("redirect_loop", {}, "too_many_redirects"),
        ("gzip_bomb", {"size": 30_000_000}, "too_large"),
    ],
)
def test_a_failing_source_is_reported_and_does_not_stop_the_others(feed_server, tmp_path, behaviour, kw, kind):
    good = feed_server.add("/good.xml", rss([ON_TOPIC]))
    bad = feed_server.add_behaviour("/bad.xml", behaviour, **kw)
    cfg_path = write_config(tmp_path, [{"name": "bad", "url": bad}, {"name": "good", "url": good}],
                            extra="fetch:\n  max_bytes: 5000000")
    out = run_cli(cfg_path, "poll")
    assert "1 ok, 1 failed" in out.stdout
    assert f"failed: bad: {kind}" in out.stderr
    status = json.loads(run_cli(cfg_path, "status", "--format", "json").stdout)
    bad_row = next(r for r in status if r["name"] == "bad")
    assert bad_row["last_error_kind"] == kind and bad_row["failures"] >= 1
    assert bad_row["items"] == 0
    table = run_cli(cfg_path, "status").stdout
    assert "failing" in table and kind in table
    assert [r["source"] for r in _export(cfg_path)] == ["good"]
    # Backing off: a plain poll leaves it alone, --force tries it anyway (and --strict makes that exit 1).
    out = run_cli(cfg_path, "poll")
    assert "failed: bad" not in out.stderr
    out = run_cli(cfg_path, "poll", "--force", "--strict", check=False)
    assert out.returncode == 1 and "failed: bad" in out.stderr


def test_retry_after_is_honoured(feed_server, tmp_path):
    bad = feed_server.add_behaviour("/bad.xml", "rate_limited", retry_after="3600")
    cfg_path = write_config(tmp_path, [{"name": "bad", "url": bad}])
    run_cli(cfg_path, "poll")
    status = json.loads(run_cli(cfg_path, "status", "--format", "json").stdout)[0]
    hold = parse_iso(status["hold_until"])
    last = parse_iso(status["last_attempt"])
    assert 3500 <= (hold - last).total_seconds() <= 3700


def test_gone_disables_the_source_and_status_says_so(feed_server, tmp_path):
    url = feed_server.add_behaviour("/gone.xml", "gone")
    cfg_path = write_config(tmp_path, [{"name": "old", "url": url}])
    run_cli(cfg_path, "poll")
    table = run_cli(cfg_path, "status").stdout
    assert "disabled" in table and "410" in table
    assert "nothing to poll" in run_cli(cfg_path, "poll").stdout


def test_permanent_redirect_is_followed_and_shown(feed_server, tmp_path):
    feed_server.add("/new.xml", rss([ON_TOPIC]))
    url = feed_server.add_behaviour("/old.xml", "redirect", to="/new.xml", status=301)
    cfg_path = write_config(tmp_path, [{"name": "moved", "url": url}])
    run_cli(cfg_path, "poll")
    assert len(_export(cfg_path)) == 1
    table = run_cli(cfg_path, "status").stdout
    assert "moved permanently to" in table and "/new.xml" in table


def test_wrong_declared_encoding_still_gives_the_right_text(feed_server, tmp_path):
    url = feed_server.add_behaviour("/enc.xml", "wrong_charset")
    cfg_path = write_config(tmp_path, [{"name": "enc", "url": url}])
    run_cli(cfg_path, "poll")
    titles = [r["title"] for r in _export(cfg_path)]
    assert titles == ["Xuất khẩu chip Nvidia sang Trung Quốc 英伟达"]


def test_entries_without_dates_get_the_fetch_time_and_say_so(feed_server, tmp_path):
    url = feed_server.add("/a.xml", rss([dict(OFF_TOPIC, pubDate="")]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url}])
    run_cli(cfg_path, "poll")
    row = _export(cfg_path)[0]
    assert row["published_is_fetch_time"] is True and row["published"] == row["fetched_at"]


class Boom(Exception):
    pass


def _poll_crashing_at_item(cfg, db, n: int, monkeypatch) -> None:
    """A poll that crashes (a bug, a kill) while storing its n-th new item."""
    real = ingest.repoint  # runs once per stored item, after the item is written
    calls = {"n": 0}

    def repoint_then_crash(*a, **k):
        calls["n"] += 1
        if calls["n"] == n:
            raise Boom(f"simulated crash at item {n}")
        return real(*a, **k)

    monkeypatch.setattr(ingest, "repoint", repoint_then_crash)
    with pytest.raises(Boom):
        pipeline.poll(cfg, db)
    monkeypatch.setattr(ingest, "repoint", real)


def test_a_crash_mid_source_leaves_nothing_half_written_and_the_next_poll_completes_it(feed_server, tmp_path,
                                                                                       monkeypatch):
    items = [dict(ON_TOPIC, guid=f"g{i}", link=f"http://127.0.0.1/n/{i}", title=f"Story {i} about H20 export controls")
             for i in range(5)]
    feed_server.add("/a.xml", rss(items))
    url = feed_server.add_behaviour("/a.xml", "conditional", etag='"e1"', last_modified="Mon, 03 Nov 2025 08:00:00 GMT")
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url}])
    cfg = config_mod.load(cfg_path)
    db = store.connect(cfg.db_path)
    _poll_crashing_at_item(cfg, db, 3, monkeypatch)  # after two items were stored
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 0
    assert db.execute("SELECT etag FROM sources WHERE name='a'").fetchone()[0] is None
    summary = pipeline.poll(cfg, db)
    assert summary.new == 5
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 5


def test_a_crash_in_a_poll_of_many_sources_leaves_each_whole_or_absent_and_the_next_poll_completes(
        feed_server, tmp_path, monkeypatch):
    # Sources that finish together are stored in one transaction (pipeline.BATCH_SECONDS); a crash in
    # one of them must still leave every source either wholly stored (with its validators) or absent.
    sources = []
    for n in range(4):
        items = [dict(ON_TOPIC, guid=f"{n}-{i}", link=f"http://127.0.0.1/{n}/{i}",
                      title=f"Feed {n} story {i}: H20 export rule number {n * 10 + i}",
                      description=f"Distinct text {n} {i} " + " ".join(f"w{n}{i}{k}" for k in range(40)))
                 for i in range(3)]
        feed_server.add(f"/{n}.xml", rss(items))
        url = feed_server.add_behaviour(f"/{n}.xml", "conditional", etag=f'"e{n}"',
                                        last_modified="Mon, 03 Nov 2025 08:00:00 GMT")
        sources.append({"name": f"s{n}", "url": url})
    cfg_path = write_config(tmp_path, sources)
    cfg = config_mod.load(cfg_path)
    db = store.connect(cfg.db_path)
    _poll_crashing_at_item(cfg, db, 8, monkeypatch)  # the second item of the third source stored
    for n in range(4):
        count = db.execute("SELECT count(*) FROM items WHERE source = ?", [f"s{n}"]).fetchone()[0]
        etag = db.execute("SELECT etag FROM sources WHERE name = ?", [f"s{n}"]).fetchone()[0]
        assert (count, etag) in ((0, None), (3, f'"e{n}"')), f"s{n} half-written: {count} items, etag {etag}"
    summary = pipeline.poll(cfg, db)
    assert not summary.failed
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 12


def test_items_of_finished_sources_are_committed_while_a_slow_source_is_still_fetching(
        feed_server, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", 0.2)
    fast = feed_server.add("/fast.xml", rss([ON_TOPIC]))
    feed_server.add("/slow.xml", rss([OFF_TOPIC]))
    # The slow source answers only when the test lets it: after the fast item is seen, or after 4 s
    # (then the test fails), so the wait is as short as the commit and never races a timer.
    gate = threading.Event()
    slow = feed_server.add_behaviour("/slow.xml", "held", gate=gate)
    cfg_path = write_config(tmp_path, [{"name": "fast", "url": fast}, {"name": "slow", "url": slow}])
    cfg = config_mod.load(cfg_path)
    done = {}
    poller = threading.Thread(target=lambda: done.update(summary=pipeline.poll(cfg, store.connect(cfg.db_path))))
    poller.start()
    reader = store.connect(cfg.db_path)  # another connection: sees only what is committed
    seen_while_polling = False
    deadline = time.monotonic() + 4
    try:
        while time.monotonic() < deadline and poller.is_alive():
            if reader.execute("SELECT count(*) FROM items WHERE source = 'fast'").fetchone()[0]:
                seen_while_polling = poller.is_alive() and not gate.is_set()
                break
            time.sleep(0.02)
    finally:
        gate.set()
    poller.join(30)
    assert seen_while_polling, "the fast source's item was not visible until the slow source finished"
    assert done["summary"].new == 2


def test_unknown_source_name_is_a_clear_error(feed_server, tmp_path):
    cfg_path = write_config(tmp_path, [{"name": "a", "url": feed_server.add("/a.xml", rss([]))}])
    p = run_cli(cfg_path, "poll", "--source", "nope", check=False)
    assert p.returncode == 2 and "no source named 'nope'" in p.stderr and "Traceback" not in p.stderr


def test_export_csv_and_since(feed_server, tmp_path):
    old = dict(OFF_TOPIC, guid="old", pubDate="Mon, 06 Jan 2025 09:00:00 GMT")
    url = feed_server.add("/a.xml", rss([ON_TOPIC, old]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url}])
    run_cli(cfg_path, "poll")
    csv_text = run_cli(cfg_path, "export", "--format", "csv", "--since", "2025-06-01").stdout
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,source,guid,link")
    assert len(lines) == 2 and "t-1" in lines[1]


def test_show_explains_the_match_the_repost_and_the_review(feed_server, tmp_path):
    story = dict(ON_TOPIC, description=(
        "The Commerce Department's Bureau of Industry and Security said on Monday that exports of Nvidia's "
        "H20 accelerators to China will need a licence, closing a gap that let Chinese cloud providers buy "
        "the chips. The rule takes effect immediately and covers AMD's MI308 as well."))
    a = feed_server.add("/a.xml", rss([story]))
    b = feed_server.add("/b.xml", rss([dict(story, guid="wire-copy", link="http://127.0.0.1/other/h20-copy",
                                            pubDate="Mon, 03 Nov 2025 10:00:00 GMT")]))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": a}, {"name": "b", "url": b}])
    run_cli(cfg_path, "poll")
    rows = {r["source"]: r for r in _export(cfg_path)}
    original, repost = rows["a"], rows["b"]
    assert repost["duplicate_of"] == f"item:{original['id']}"
    run_cli(cfg_path, "review", "accept", str(original["id"]), "--note", "key story")
    shown = run_cli(cfg_path, "show", str(original["id"])).stdout
    assert "relevant: yes" in shown and "H20" in shown and "[" in shown  # a term with its context marked
    assert f"also in: b #{repost['id']}" in shown
    assert "-> accepted" in shown and "key story" in shown
    shown = run_cli(cfg_path, "show", str(repost["id"])).stdout
    assert f"duplicate of item:{original['id']}" in shown
    p = run_cli(cfg_path, "show", "999", check=False)
    assert p.returncode == 2 and "no item with id 999" in p.stderr


def test_a_trickling_server_is_cut_off_by_the_total_deadline(feed_server, tmp_path):
    good = feed_server.add("/good.xml", rss([ON_TOPIC]))
    slow = feed_server.add_behaviour("/slow.xml", "trickle", interval=0.3)
    cfg_path = write_config(tmp_path, [{"name": "slow", "url": slow}, {"name": "good", "url": good}],
                            extra="fetch:\n  total_timeout: 1\n  read_timeout: 30")  # 1 s: the least allowed
    out = run_cli(cfg_path, "poll")
    assert "1 ok, 1 failed" in out.stdout and "failed: slow: timeout" in out.stderr
    status = {r["name"]: r for r in json.loads(run_cli(cfg_path, "status", "--format", "json").stdout)}
    assert status["slow"]["last_error_kind"] == "timeout" and "total_timeout" in status["slow"]["last_error"]
    assert status["good"]["items"] == 1


def test_an_oversized_feed_is_refused_and_says_which_setting_to_raise(feed_server, tmp_path):
    big = feed_server.add_behaviour("/big.xml", "oversized", size=3_000_000, content_length=False)
    cfg_path = write_config(tmp_path, [{"name": "big", "url": big}], extra="fetch:\n  max_bytes: 1000000")
    out = run_cli(cfg_path, "poll")
    assert "failed: big: too_large" in out.stderr and "max_bytes" in out.stderr
    assert _export(cfg_path) == []
