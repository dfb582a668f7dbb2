"""Issue 9, item 2: one item's absurd date stopped every digest.

An item dated `Fri, 31 Dec 9999 23:59:59 GMT` was stored as is; the digest in Asia/Ho_Chi_Minh then
converted it to local time and died with "OverflowError: date value out of range", every day.
Impossible or absurd dates are now treated as missing when an entry is stored (published = fetch
time, published_is_fetch_time true) and the row's `date_note` says what the feed said and why it
was not used; rows an older version stored are judged by the same rule when rendered.

Classes covered:
- the texts (fixtures/harden/dates.yaml): years 9999 and 0001, the 1970 epoch, dates that overflow
  when converted to UTC, days and times that do not exist, offsets no place has (+99:99, +0099,
  +15:00), and ordinary dates that must read as before;
- the range rule as a pure function of the date and `now`, at its bounds;
- where the date sits: RSS pubDate, Atom published, Atom updated alone, JSON Feed date_published;
- both parser paths (fastfeedparser, and feedparser forced) and the automatic choice;
- the whole way through a real local server: poll, export, show, and `watcher digest` in
  Asia/Ho_Chi_Minh and in a zone behind UTC;
- rows already stored by the old code with 9999-12-31 / 0001-01-01 dates: digest, show and export.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from util import run_cli, write_config
from watcher import config as config_mod
from watcher.dates import EARLIEST, FUTURE_SLACK, implausible, read_date
from watcher.ingest import publication_date
from watcher.parse import parse_feed, parse_with

DATES = yaml.safe_load((Path(__file__).parent / "fixtures" / "harden" / "dates.yaml").read_text("utf-8"))
NOW = datetime(2025, 11, 4, 12, 0, tzinfo=timezone.utc)  # the fetch time of every parse-level case

# (date text, a phrase the row's note must contain). Each is refused either when read or by the range rule.
BAD = [
    ("Fri, 31 Dec 9999 23:59:59 GMT", "days after"),
    ("9999-12-31T23:59:59Z", "days after"),
    ("Mon, 01 Jan 0001 00:00:00 GMT", "before 1990"),
    ("0001-01-01T00:00:00Z", "before 1990"),
    ("Thu, 01 Jan 1970 00:00:00 GMT", "before 1990"),
    ("1970-01-01T00:00:00Z", "before 1990"),
    ("Fri, 31 Dec 9999 23:59:59 -0500", "out of range"),
    ("9999-12-31T23:59:59-05:00", "out of range"),
    ("0001-01-01T00:00:00+05:00", "out of range"),
    ("Sun, 30 Feb 2025 10:00:00 GMT", "impossible date"),
    ("2025-02-30T10:00:00Z", "impossible date"),
    ("Mon, 10 Mar 2025 10:00:00 +9999", "offset"),
    ("2025-03-10T10:00:00+99:99", "offset"),
    ("Mon, 10 Mar 2025 10:00:00 +0099", "offset"),
    ("2025-03-10T10:00:00+15:00", "offset"),
    ("Tue, 10 Mar 2099 10:00:00 GMT", "days after"),
]
GOOD = ("Mon, 03 Nov 2025 15:00:00 +0700", datetime(2025, 11, 3, 8, 0, tzinfo=timezone.utc))


# ---------------------------------------------------------------- reading and the range rule

@pytest.mark.parametrize("case", DATES, ids=[c["text"] for c in DATES])
def test_read_date(case: dict[str, Any]) -> None:
    dt, why = read_date(case["text"])
    if "utc" in case:
        assert why is None and dt is not None and dt.isoformat() == case["utc"], (dt, why)
    elif "refuse" in case:
        assert dt is None and why is not None and case["refuse"] in why, (dt, why)
        assert case["text"] in why  # the note quotes what the feed said
    else:
        assert (dt, why) == (None, None)


@pytest.mark.parametrize("published,ok", [
    (EARLIEST, True),
    (EARLIEST - timedelta(seconds=1), False),
    (datetime(1970, 1, 1, tzinfo=timezone.utc), False),
    (datetime(1, 1, 1, tzinfo=timezone.utc), False),
    (NOW, True),
    (NOW - timedelta(days=3650), True),
    (NOW + FUTURE_SLACK, True),  # time zones and clocks a day off still pass
    (NOW + FUTURE_SLACK + timedelta(seconds=1), False),
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc), False),
])
def test_the_range_rule_is_a_pure_function_of_the_date_and_now(published: datetime, ok: bool) -> None:
    assert (implausible(published, NOW) is None) == ok
    # the same date is judged by the `now` it is given, not by the clock
    assert implausible(published, published) is None or published < EARLIEST


# ---------------------------------------------------------------- parse + the store's decision

def _rss(date: str, extra: str = "") -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>http://127.0.0.1/n/{i}</link><guid>g{i}</guid>"
        f"<description>Text {i}.</description><pubDate>{d}</pubDate></item>"
        for i, d in enumerate((GOOD[0], date, GOOD[0])))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel{extra}><title>t</title>'
            f"<link>http://127.0.0.1/</link>{items}</channel></rss>").encode()


def _atom(date: str, tags: tuple[str, ...]) -> bytes:
    def entry(i: int, d: str) -> str:
        dates = "".join(f"<{t}>{d}</{t}>" for t in tags)
        return (f"<entry><title>Story {i}</title><id>urn:g{i}</id><link href='http://127.0.0.1/n/{i}'/>"
                f"<summary>Text {i}.</summary>{dates}</entry>")
    good = "2025-11-03T15:00:00+07:00"
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            + "".join(entry(i, d) for i, d in enumerate((good, date, good))) + "</feed>").encode()


def _json(date: str) -> bytes:
    items = [{"id": f"g{i}", "url": f"http://127.0.0.1/n/{i}", "title": f"Story {i}", "content_text": f"Text {i}.",
              "date_published": d} for i, d in enumerate(("2025-11-03T15:00:00+07:00", date, "2025-11-03T15:00:00+07:00"))]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}).encode()


FORMATS = {
    "rss pubDate": lambda d: _rss(d),
    "rss pubDate, feedparser path (xml:base)": lambda d: _rss(d, ' xml:base="http://127.0.0.1/"'),
    "atom published+updated": lambda d: _atom(d, ("published", "updated")),
    "atom updated only": lambda d: _atom(d, ("updated",)),
    "json date_published": _json,
}


@pytest.mark.parametrize("parser", [None, "feedparser"])
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("text,why", BAD, ids=[b[0] for b in BAD])
def test_an_absurd_date_is_treated_as_missing_and_the_entry_says_why(text: str, why: str, fmt: str,
                                                                     parser: str | None) -> None:
    body = FORMATS[fmt](text)
    fd = parse_with(parser, body, {}, "http://127.0.0.1/feed") if not fmt.startswith("json") else (
        parse_feed(body, {}, "http://127.0.0.1/feed.json"))
    assert fd.failure is None, fd.failure
    decided = [publication_date(e, NOW) for e in fd.entries]
    assert len(decided) == 3
    # the neighbours keep their real date
    assert decided[0] == (GOOD[1], None) and decided[2] == (GOOD[1], None), decided
    published, note = decided[1]
    assert published is None, f"{text!r} in {fmt} was taken as {published}"
    assert note and why in note, note


def test_a_json_feed_with_an_overflowing_date_is_still_a_feed() -> None:
    # This one raised OverflowError out of the parser: the whole source was lost, not just a date.
    fd = parse_feed(_json("9999-12-31T23:59:59-05:00"), {}, "http://127.0.0.1/feed.json")
    assert fd.failure is None and len(fd.entries) == 3
    assert fd.entries[1].published is None and "out of range" in (fd.entries[1].date_problem or "")
    assert fd.problem and "dated by the fetch time" in fd.problem


# ---------------------------------------------------------------- the whole way, through a real server

TZ_EXTRA = 'digest: {{time: "07:00", timezone: "{tz}"}}'
# Three distinct relevant stories (dedup must keep them apart so each reaches the digest), then filler.
STORIES = [
    ("Hanoi", "US tightens export controls on Nvidia H20 chips bound for China",
     "The Commerce Department's BIS added new licence requirements for AI chips."),
    ("Cairo", "Huawei unveils Ascend 910C as Beijing pushes domestic AI chips",
     "SMIC makes the processor on its 7nm node despite Entity List restrictions."),
    ("Beijing", "Senators introduce ENFORCE Act to curb remote access to advanced GPUs",
     "The bill extends export control rules to cloud compute rented by Chinese firms."),
]


def _topical_rss(dates: list[str]) -> str:
    items = []
    for i, d in enumerate(dates):
        key, title, desc = STORIES[i] if i < len(STORIES) else (f"filler{i}", f"Local weather report {i}",
                                                                f"Rain expected in district {i}.")
        items.append(f"<item><title>{title}</title><link>http://127.0.0.1/story/{key}</link><guid>g-{key}</guid>"
                     f"<description>{desc}</description><pubDate>{d}</pubDate></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            "<link>http://127.0.0.1/</link>" + "".join(items) + "</channel></rss>")


def _in_digest(md: str, item_id: int) -> bool:
    return re.search(rf"· item {item_id}\b", md) is not None


def _export(cfg_path: Path) -> list[dict]:
    return [json.loads(x) for x in run_cli(cfg_path, "export", "--format", "jsonl").stdout.splitlines()]


@pytest.mark.parametrize("tz", ["Asia/Ho_Chi_Minh", "America/New_York"])
def test_a_polled_feed_with_absurd_dates_gives_fetch_times_notes_and_a_digest(feed_server, tmp_path, tz: str) -> None:
    dates = [t for t, _ in BAD] + [GOOD[0]]
    url = feed_server.add("/a.xml", _topical_rss(dates))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url, "language": "en"}], extra=TZ_EXTRA.format(tz=tz))
    out = run_cli(cfg_path, "poll")
    assert "1 ok, 0 failed" in out.stdout, out.stdout + out.stderr
    rows = {r["guid"]: r for r in _export(cfg_path)}
    assert len(rows) == len(dates)
    for r in rows.values():
        if r["published"].startswith("2025-11-03"):
            assert r["published_is_fetch_time"] is False and r["date_note"] is None
            continue
        assert r["published_is_fetch_time"] is True and r["published"] == r["fetched_at"], r
        assert r["date_note"] and "date" in r["date_note"], r
    bad = next(r for r in rows.values() if r["date_note"] and "9999" in r["date_note"])
    shown = run_cli(cfg_path, "show", str(bad["id"])).stdout
    assert "fetch time: " in shown and "9999" in shown
    digest = run_cli(cfg_path, "digest", check=False)
    assert digest.returncode == 0, digest.stdout + digest.stderr
    md = next((tmp_path / "state" / "digests").glob("*.md")).read_text("utf-8")
    assert _in_digest(md, rows["g-Hanoi"]["id"]) and "9999" not in md and "(fetch time)" in md


def _store_as_the_old_code_did(cfg_path: Path, bad: dict[str, str]) -> None:
    """Rewrite stored rows the way the old code left them: the feed's absurd date as `published`,
    published_is_fetch_time false, and no note."""
    cfg = config_mod.load(cfg_path)
    db = sqlite3.connect(cfg.db_path)
    note = ", date_note = NULL" if "date_note" in {r[1] for r in db.execute("PRAGMA table_info(items)")} else ""
    with db:
        for guid, published in bad.items():
            db.execute(f"UPDATE items SET published = ?, published_is_fetch_time = 0{note} WHERE guid = ?",
                       [published, guid])
    db.close()


@pytest.mark.parametrize("tz", ["Asia/Ho_Chi_Minh", "America/Los_Angeles"])
def test_rows_stored_by_the_old_code_with_absurd_dates_still_render(feed_server, tmp_path, tz: str) -> None:
    url = feed_server.add("/a.xml", _topical_rss([GOOD[0]] * 3))
    cfg_path = write_config(tmp_path, [{"name": "a", "url": url, "language": "en"}], extra=TZ_EXTRA.format(tz=tz))
    run_cli(cfg_path, "poll")
    _store_as_the_old_code_did(cfg_path, {"g-Hanoi": "9999-12-31T23:59:59+00:00",
                                          "g-Cairo": "0001-01-01T00:00:00+00:00"})
    digest = run_cli(cfg_path, "digest", check=False)
    assert digest.returncode == 0, digest.stdout + digest.stderr  # was: OverflowError: date value out of range
    md = next((tmp_path / "state" / "digests").glob("*.md")).read_text("utf-8")
    rows = {r["guid"]: r for r in _export(cfg_path)}
    assert all(_in_digest(md, rows[f"g-{key}"]["id"]) for key, _, _ in STORIES), md
    assert "9999" not in md and "0001-" not in md
    assert rows["g-Hanoi"]["published"].startswith("9999")  # the store keeps what it had; nothing is lost
    shown = run_cli(cfg_path, "show", str(rows["g-Hanoi"]["id"])).stdout
    assert "not a usable date" in shown and "days after" in shown
    csv_out = run_cli(cfg_path, "export", "--format", "csv")
    assert csv_out.returncode == 0 and "9999-12-31" in csv_out.stdout
