"""Issue 9, item 10: a feed that gives every entry a new guid on each poll.

Such a feed reported "new=40" on every poll and the store grew by 40 rows each time. Within a
source, a new guid with the same canonical link and the same text is the same item; with the same
link and new text, the link's only row, whose own guid has left the feed, is that item corrected.
Everything else stays what it was: a new item, and dedup decides whether it repeats another.

Classes covered, each through a real local server and `watcher poll`:
- how guids rotate: random per poll, a timestamp in a fragment of the link, a session URN, with the
  items reordered, in Atom; and twice the same story under two guids in one poll;
- rotation together with an edit: the correction is a new version of the one item;
- the non-cases: same link but different text while the first entry is still listed (a feed whose
  entries all link to one page); different links with the same text in one source; the same link
  and text in another source (cross-source dedup, unchanged); two new entries that could each
  claim the same old row (only one may).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from util import rss, run_cli, write_config
from watcher import config as config_mod

N = 40


def _items(poll: int, guid: Callable[[int, int], str], order: Callable[[list], list] = lambda x: x) -> list[dict]:
    items = [{"guid": guid(poll, i), "title": f"Story number {i} on chip export rules in region {i * 31 % 97}",
              "link": f"http://127.0.0.1/news/{i}?utm_source=rss", "description": f"Body of story {i}, word {i * 7}.",
              "pubDate": f"Mon, 03 Nov 2025 {i % 24:02d}:{i % 60:02d}:00 GMT"} for i in range(N)]
    return order(items)


def _atom(items: list[dict]) -> str:
    from xml.sax.saxutils import escape, quoteattr

    entries = "".join(
        f"<entry><id>{escape(it['guid'])}</id><title>{escape(it['title'])}</title><link href={quoteattr(it['link'])}/>"
        f"<summary>{escape(it['description'])}</summary><updated>2025-11-03T08:00:00Z</updated></entry>"
        for it in items)
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            f"<id>urn:feed</id><updated>2025-11-03T08:00:00Z</updated>{entries}</feed>")


ROTATIONS = {
    "random per poll": (lambda p, i: f"{(p * 7919 + i) * 104729:x}-{i}", rss),
    "timestamp fragment": (lambda p, i: f"http://127.0.0.1/news/{i}#t={1700000000 + p * 3600}", rss),
    "session urn": (lambda p, i: f"urn:session:{p}abc:{i}", rss),
    "reordered too": (lambda p, i: f"urn:poll{p}:{i}", rss),
    "atom ids": (lambda p, i: f"tag:example.org,2025:{p}-{i}", _atom),
}


def _poll(cfg_path: Path) -> tuple[int, int]:
    out = run_cli(cfg_path, "poll").stdout
    m = re.search(r"items: (\d+) new, (\d+) updated", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def _rows(cfg_path: Path) -> list[dict]:
    return [json.loads(x) for x in run_cli(cfg_path, "export", "--format", "jsonl").stdout.splitlines()]


def _serve(feed_server, path: str, body: str) -> str:
    return feed_server.add(path, body, content_type="application/atom+xml" if "<feed" in body else "application/rss+xml")


@pytest.mark.parametrize("name", list(ROTATIONS))
def test_a_feed_that_rotates_its_guids_adds_nothing_on_the_next_polls(feed_server, tmp_path, name: str) -> None:
    guid, render = ROTATIONS[name]
    order = (lambda xs: xs[::-1]) if name == "reordered too" else (lambda xs: xs)
    url = _serve(feed_server, "/r.xml", render(_items(1, guid)))
    cfg_path = write_config(tmp_path, [{"name": "rot", "url": url, "language": "en"}])
    assert _poll(cfg_path) == (N, 0)
    first_guids = {r["id"]: r["guid"] for r in _rows(cfg_path)}
    # Stored an hour earlier: times are kept to the second, and in-process polls follow within one.
    with sqlite3.connect(config_mod.load(cfg_path).db_path) as db:
        db.execute("UPDATE items SET fetched_at = '2000-01-01T00:00:00+00:00', last_seen = fetched_at")
    for poll in (2, 3):
        _serve(feed_server, "/r.xml", render(order(_items(poll, guid))))
        assert _poll(cfg_path) == (0, 0), f"poll {poll}"
    rows = _rows(cfg_path)
    assert len(rows) == N
    # The row keeps the guid it was first stored under: ids, reviews and digests point at it.
    assert {r["id"]: r["guid"] for r in rows} == first_guids
    cfg = config_mod.load(cfg_path)
    db = sqlite3.connect(cfg.db_path)
    seen = db.execute("SELECT count(DISTINCT last_seen) FROM items").fetchone()[0]
    assert seen == 1 and db.execute("SELECT max(last_seen) > min(fetched_at) FROM items").fetchone()[0] == 1


def test_a_rotated_guid_with_a_corrected_title_is_a_new_version_of_the_same_item(feed_server, tmp_path) -> None:
    guid = ROTATIONS["session urn"][0]
    url = feed_server.add("/r.xml", rss(_items(1, guid)))
    cfg_path = write_config(tmp_path, [{"name": "rot", "url": url}])
    _poll(cfg_path)
    items = _items(2, guid)
    items[5] = dict(items[5], title="CORRECTED: " + items[5]["title"])
    feed_server.add("/r.xml", rss(items))
    assert _poll(cfg_path) == (0, 1)
    rows = _rows(cfg_path)
    assert len(rows) == N
    fixed = next(r for r in rows if r["title"].startswith("CORRECTED"))
    assert fixed["version"] == 2 and fixed["guid"] == guid(1, 5)
    shown = run_cli(cfg_path, "show", str(fixed["id"])).stdout
    assert "earlier version 1" in shown and _items(1, guid)[5]["title"] in shown
    # and the next rotation leaves the corrected item alone
    feed_server.add("/r.xml", rss([dict(it, guid=guid(3, i)) for i, it in enumerate(items)]))
    assert _poll(cfg_path) == (0, 0)


def test_one_story_listed_twice_under_two_guids_in_one_poll_is_one_item(feed_server, tmp_path) -> None:
    items = _items(1, lambda p, i: f"g{i}")[:3]
    url = feed_server.add("/r.xml", rss(items + [dict(items[1], guid="another-guid-for-1")]))
    cfg_path = write_config(tmp_path, [{"name": "twice", "url": url}])
    assert _poll(cfg_path) == (3, 0)
    assert len(_rows(cfg_path)) == 3


# ---------------------------------------------------------------- what is still a different item

ONE_PAGE = "http://127.0.0.1/live"  # a feed whose entries all link to one page


def test_same_link_new_text_while_the_first_entry_is_still_listed_is_a_new_item(feed_server, tmp_path) -> None:
    a = {"guid": "a", "title": "Morning briefing on chip exports", "link": ONE_PAGE, "description": "First."}
    b = {"guid": "b", "title": "Evening briefing on GPU smuggling", "link": ONE_PAGE, "description": "Second."}
    url = feed_server.add("/r.xml", rss([a]))
    cfg_path = write_config(tmp_path, [{"name": "live", "url": url}])
    assert _poll(cfg_path) == (1, 0)
    feed_server.add("/r.xml", rss([b, a]))
    assert _poll(cfg_path) == (1, 0)
    assert sorted(r["title"] for r in _rows(cfg_path)) == sorted([a["title"], b["title"]])


def test_two_new_entries_cannot_both_be_the_one_old_item(feed_server, tmp_path) -> None:
    # The old entry left the feed and two new ones share its link: the first may be its correction,
    # the second is new. Every text stays somewhere: a row or an earlier version.
    a = {"guid": "a", "title": "Briefing one", "link": ONE_PAGE, "description": "One."}
    b = {"guid": "b", "title": "Briefing two", "link": ONE_PAGE, "description": "Two."}
    c = {"guid": "c", "title": "Briefing three", "link": ONE_PAGE, "description": "Three."}
    url = feed_server.add("/r.xml", rss([a]))
    cfg_path = write_config(tmp_path, [{"name": "live", "url": url}])
    _poll(cfg_path)
    feed_server.add("/r.xml", rss([b, c]))
    assert _poll(cfg_path) == (1, 1)
    rows = _rows(cfg_path)
    assert sorted(r["title"] for r in rows) == ["Briefing three", "Briefing two"]
    older = next(r for r in rows if r["version"] == 2)
    assert "Briefing one" in run_cli(cfg_path, "show", str(older["id"])).stdout


def test_different_links_with_the_same_text_in_one_source_are_two_items(feed_server, tmp_path) -> None:
    a = {"guid": "a", "title": "Nvidia H20 export licence rules tightened", "link": "http://127.0.0.1/x/1",
         "description": "The Commerce Department's BIS added licence requirements."}
    b = dict(a, guid="b", link="http://127.0.0.1/x/2")
    url = feed_server.add("/r.xml", rss([a, b]))
    cfg_path = write_config(tmp_path, [{"name": "s", "url": url}])
    assert _poll(cfg_path) == (2, 0)
    rows = sorted(_rows(cfg_path), key=lambda r: r["id"])
    assert len(rows) == 2
    # dedup, not identity, says the second repeats the first
    assert rows[1]["duplicate_of"] == f"item:{rows[0]['id']}"


def test_the_same_link_and_text_in_another_source_is_cross_source_dedup_as_before(feed_server, tmp_path) -> None:
    items = _items(1, lambda p, i: f"first-{i}")[:3]
    url1 = feed_server.add("/one.xml", rss(items))
    url2 = feed_server.add("/two.xml", rss([dict(it, guid=f"second-{i}") for i, it in enumerate(items)]))
    cfg_path = write_config(tmp_path, [{"name": "one", "url": url1}, {"name": "two", "url": url2}])
    run_cli(cfg_path, "poll", "--source", "one")
    assert _poll(cfg_path) == (3, 0)  # source two's three entries are its own items
    rows = _rows(cfg_path)
    assert len(rows) == 6
    ones = {r["link"]: r["id"] for r in rows if r["source"] == "one"}
    for r in rows:
        if r["source"] == "two":
            assert r["duplicate_of"] == f"item:{ones[r['link']]}" and r["dup_method"] == "link", r
