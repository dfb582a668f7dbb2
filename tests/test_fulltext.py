"""Full text for summary-only feeds (issue 11): article pages fetched, extracted, matched and deduped on.

Real parts only: feeds and pages from tests/feedserver.py on 127.0.0.1, a real SQLite store, the real
pipeline (in this process, so the whole file runs in a few seconds).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from util import rss, write_config
from watcher import config as config_mod
from watcher import export, pipeline, store
from watcher.fulltext.explain import text_origin
from watcher.report import item_detail

HERE = Path(__file__).parent
HOSTILE = yaml.safe_load((HERE / "fixtures" / "fulltext" / "hostile_pages.yaml").read_text(encoding="utf-8"))

TEASER = "Officials said on Tuesday that new rules on Nvidia H20 chips could come soon."
ON_TOPIC_TEXT = (
    "The US Commerce Department added twelve Chinese companies to the Entity List on Tuesday, cutting them "
    "off from American chips. The Bureau of Industry and Security said the firms had helped route Nvidia "
    "H100 and H20 accelerators to China in breach of export controls. Officials said the smuggling network "
    "used shell companies in Singapore and Malaysia to buy the chips and ship them onward to data centres "
    "that train large AI models for Chinese developers. ")
OFF_TOPIC_TEXT = (
    "The city council approved a new cycling lane along the river on Tuesday after a year of debate. The "
    "lane will run for four kilometres and connect two parks, and the work is due to start in the spring. "
    "Shop owners along the route had asked for more parking, and the council agreed to add spaces in a "
    "side street. Cyclists' groups welcomed the decision and said it would make the commute safer for "
    "children who ride to the schools near the water. ")
ON_TOPIC_HEADLINES = [
    "US adds Chinese chip firms to Entity List over Nvidia H20 smuggling",
    "Export controls on Nvidia H100 and H20 tightened by BIS",
    "Huawei Ascend chips fill the gap left by US export controls",
    "Chip smuggling ring routed Nvidia GPUs through Singapore",
]


def furnished_page(title: str, body: str, furniture: str) -> str:
    """An article inside site furniture; `furniture` says where on-topic headlines sit."""
    links = "".join(f'<li><a href="/other/{i}.html">{h}</a></li>' for i, h in enumerate(ON_TOPIC_HEADLINES))
    paras = "".join(f"<p>{s.strip()}.</p>" for s in body.split(". ") if s.strip())
    article = f"<article><h1>{title}</h1><p class='byline'>By a reporter</p>{paras}"
    parts = {
        "most_read": (f"{article}</article><aside class='most-read'><h2>Most read</h2><ul>{links}</ul></aside>", ""),
        "related": (f"{article}<div class='related-links'><h3>Related</h3><ul>{links}</ul></div></article>", ""),
        "footer": (f"{article}</article>", f"<footer><h4>Top stories</h4><ul>{links}</ul></footer>"),
        "nav": (f"{article}</article>", ""),
    }[furniture]
    nav = f"<nav><ul>{links}</ul></nav>" if furniture == "nav" else "<nav><a href='/'>Home</a></nav>"
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<header>{nav}</header><main>{parts[0]}</main>{parts[1]}</body></html>")


def poll(cfg_path: Path) -> pipeline.PollSummary:
    cfg = config_mod.load(cfg_path)
    db = store.connect(cfg.db_path)
    try:
        return pipeline.poll(cfg, db)
    finally:
        db.conn.close()


def items(cfg_path: Path) -> dict[str, dict]:
    """Every stored item by guid, with the columns `show` reads."""
    cfg = config_mod.load(cfg_path)
    db = store.connect(cfg.db_path)
    try:
        ids = [r[0] for r in db.execute("SELECT id FROM items")]
        return {d["guid"]: d for d in (item_detail(db, i) for i in ids)}
    finally:
        db.conn.close()


FAST = "fetch: {total_timeout: 1, max_bytes: 2000000, workers: 1}"


def test_a_summary_only_entry_is_matched_on_its_article_page(feed_server, tmp_path):
    """The teaser alone is not relevant; the article page makes it so, and says where its text came from."""
    feed_server.add("/a/1.html", furnished_page("Twelve firms added", ON_TOPIC_TEXT, "most_read"), content_type="text/html")
    url = feed_server.add("/feed.xml", rss([{"guid": "g1", "title": "Commerce acts on chip firms",
                                             "link": feed_server.url("/a/1.html"), "description": TEASER}]))
    cfg = write_config(tmp_path, [{"name": "news", "url": url}], FAST)
    poll(cfg)
    it = items(cfg)["g1"]
    assert it["relevant"], it["hits"]
    assert it["content_source"] == "page" and "Entity List" in it["content"]
    assert it["summary"] == TEASER  # the feed's summary is kept for display
    assert text_origin(it).startswith("from the article page")
    row = next(r for r in export.rows(store.connect(config_mod.load(cfg).db_path)))
    assert row["content_source"] == "page" and row["page_status"] == "ok"


@pytest.mark.parametrize("furniture", ["most_read", "related", "footer", "nav"])
def test_on_topic_headlines_around_an_off_topic_article_do_not_make_it_relevant(feed_server, tmp_path, furniture):
    # The same furniture around the on-topic article: it is relevant, so the off-topic one is not
    # irrelevant merely because nothing was read.
    feed_server.add("/off.html", furnished_page("Council backs river cycle lane", OFF_TOPIC_TEXT, furniture),
                    content_type="text/html")
    feed_server.add("/on.html", furnished_page("Twelve firms added", ON_TOPIC_TEXT, furniture), content_type="text/html")
    url = feed_server.add("/feed.xml", rss([
        {"guid": "off", "title": "Council backs river cycle lane", "link": feed_server.url("/off.html"),
         "description": "The lane runs four kilometres."},
        {"guid": "on", "title": "Twelve firms added to a list", "link": feed_server.url("/on.html"),
         "description": "The department acted on Tuesday."}]))
    cfg = write_config(tmp_path, [{"name": "news", "url": url, "fulltext": "always"}], FAST)
    poll(cfg)
    got = items(cfg)
    assert got["off"]["content_source"] == "page" and "cycling lane" in got["off"]["content"]
    assert not got["off"]["relevant"], (furniture, got["off"]["hits"])
    assert not any(h in got["off"]["content"] for h in ON_TOPIC_HEADLINES)
    assert got["on"]["relevant"], furniture


def _serve_hostile(feed_server, case: dict, path: str) -> None:
    ctype = case.get("content_type", "text/html")
    if "behaviour" in case:
        feed_server.add_behaviour(path, case["behaviour"], content_type=ctype or "text/html", **case.get("kw", {}))
        return
    if "nested" in case:
        n = case["nested"]
        body = ("<html><body>" + "<div>" * n + f"<p>{ON_TOPIC_TEXT}</p>" + "</div>" * n + "</body></html>").encode()
    elif "body_hex" in case:
        body = bytes.fromhex(case["body_hex"])
    else:
        body = case["body"].encode()
    feed_server.add(path, body, content_type=ctype)


def test_hostile_pages_leave_the_item_as_the_feed_gave_it_with_the_reason(feed_server, tmp_path):
    entries = []
    for i, case in enumerate(HOSTILE):
        _serve_hostile(feed_server, case, f"/p/{i}.html")
        entries.append({"guid": f"h{i}", "title": f"Page {i}: Nvidia H20 export controls",
                        "link": feed_server.url(f"/p/{i}.html"), "description": TEASER})
    url = feed_server.add("/feed.xml", rss(entries))
    cfg = write_config(tmp_path, [{"name": "hostile", "url": url, "fulltext": "always"}], FAST)
    summary = poll(cfg)  # one poll for the whole class: it completes, and the source is ok
    assert [s.status for s in summary.sources] == ["ok"] and summary.new == len(HOSTILE)
    got = items(cfg)
    for i, case in enumerate(HOSTILE):
        it = got[f"h{i}"]
        want = case["status"] if isinstance(case["status"], list) else [case["status"]]
        assert it["page_status"] in want, (case["name"], it["page_status"], it["page_note"])
        assert case.get("note", "") in (it["page_note"] or ""), (case["name"], it["page_note"])
        assert it["content_source"] == "feed" and it["content"] == "", case["name"]
        assert it["summary"] == TEASER and it["title"].startswith(f"Page {i}:"), case["name"]
        assert "fetching the page failed" in text_origin(it), case["name"]


def test_script_in_the_body_never_reaches_the_text(feed_server, tmp_path):
    page = furnished_page("Council backs river cycle lane", OFF_TOPIC_TEXT, "nav").replace(
        "<p class='byline'>", "<script>document.title='Nvidia H20 Entity List export controls smuggling';</script>"
                              "<p class='byline'>")
    feed_server.add("/s.html", page, content_type="text/html")
    url = feed_server.add("/feed.xml", rss([{"guid": "s", "title": "Council backs lane",
                                             "link": feed_server.url("/s.html"), "description": "A lane."}]))
    cfg = write_config(tmp_path, [{"name": "news", "url": url, "fulltext": "always"}], FAST)
    poll(cfg)
    it = items(cfg)["s"]
    assert it["content_source"] == "page" and "cycling lane" in it["content"]
    assert "document.title" not in it["content"] and "Entity List" not in it["content"]
    assert not it["relevant"]


def test_robots_txt_that_disallows_the_path_means_no_fetch(feed_server, tmp_path):
    feed_server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    feed_server.add("/private/a.html", furnished_page("T", ON_TOPIC_TEXT, "nav"), content_type="text/html")
    feed_server.add("/public/b.html", furnished_page("T", ON_TOPIC_TEXT, "nav"), content_type="text/html")
    url = feed_server.add("/feed.xml", rss([
        {"guid": "a", "title": "Nvidia H20 rules", "link": feed_server.url("/private/a.html"), "description": TEASER},
        {"guid": "b", "title": "Nvidia H20 rules", "link": feed_server.url("/public/b.html"), "description": TEASER}]))
    cfg = write_config(tmp_path, [{"name": "news", "url": url}], FAST)
    poll(cfg)
    got = items(cfg)
    assert feed_server.requests("/private/a.html") == []
    assert got["a"]["page_status"] == "robots" and "disallows /private/a.html" in got["a"]["page_note"]
    assert got["a"]["content_source"] == "feed"
    assert got["b"]["content_source"] == "page"  # the same host's allowed path is fetched
    assert len(feed_server.requests("/robots.txt")) == 1  # once per host per poll


def test_a_re_poll_never_refetches_and_a_correction_refetches_only_for_a_new_link(feed_server, tmp_path):
    feed_server.add("/a/1.html", furnished_page("T", ON_TOPIC_TEXT, "most_read"), content_type="text/html")
    feed_server.add("/a/2.html", furnished_page("T", ON_TOPIC_TEXT, "most_read"), content_type="text/html")
    feed_server.add("/a/3.html", furnished_page("T", ON_TOPIC_TEXT, "most_read"), content_type="text/html")
    one = {"guid": "g1", "title": "Nvidia H20 rules", "link": feed_server.url("/a/1.html"), "description": TEASER}
    two = {"guid": "g2", "title": "Nvidia H20 curbs", "link": feed_server.url("/a/2.html"), "description": TEASER}
    url = feed_server.add("/feed.xml", rss([one, two]))
    # workers: 2, so this test also runs extraction in the worker processes, as a real poll does
    cfg = write_config(tmp_path, [{"name": "news", "url": url}], "fetch: {total_timeout: 2, workers: 2}")
    poll(cfg)
    poll(cfg)  # unchanged feed
    assert len(feed_server.requests("/a/1.html")) == 1 and len(feed_server.requests("/a/2.html")) == 1
    # g1 corrected under the same link; g2 corrected to a new link
    feed_server.add("/feed.xml", rss([dict(one, title="Nvidia H20 rules (corrected)"),
                                      dict(two, title="Nvidia H20 curbs", link=feed_server.url("/a/3.html"))]))
    poll(cfg)
    got = items(cfg)
    assert len(feed_server.requests("/a/1.html")) == 1
    assert len(feed_server.requests("/a/3.html")) == 1
    assert got["g1"]["title"].endswith("(corrected)") and got["g1"]["version"] == 2
    assert got["g1"]["content_source"] == "page" and got["g1"]["relevant"]  # the stored page text, reused
    assert got["g2"]["content_source"] == "page" and got["g2"]["page_link"].endswith("/a/3.html")


def test_a_source_switched_to_never_keeps_the_feeds_own_text_even_for_a_correction(feed_server, tmp_path):
    feed_server.add("/a/1.html", furnished_page("T", ON_TOPIC_TEXT, "most_read"), content_type="text/html")
    one = {"guid": "g1", "title": "Nvidia H20 rules", "link": feed_server.url("/a/1.html"), "description": TEASER}
    url = feed_server.add("/feed.xml", rss([one]))
    poll(write_config(tmp_path, [{"name": "news", "url": url}], FAST))
    assert items(tmp_path / "sources.yaml")["g1"]["content_source"] == "page"
    # The analyst turns pages off for this source; then the feed corrects the entry under the same link.
    cfg = write_config(tmp_path, [{"name": "news", "url": url, "fulltext": "never"}], FAST)
    feed_server.add("/feed.xml", rss([dict(one, title="Nvidia H20 rules (corrected)")]))
    poll(cfg)
    it = items(cfg)["g1"]
    assert it["version"] == 2 and it["title"].endswith("(corrected)")
    assert it["content_source"] == "feed" and "Entity List" not in it["content"] and it["summary"] == TEASER
    assert it["page_status"] == "skipped" and "never" in it["page_note"]
    assert len(feed_server.requests("/a/1.html")) == 1  # the first poll's, under auto


def test_auto_fetches_nothing_for_a_feed_off_the_topic_or_with_full_text(feed_server, tmp_path):
    feed_server.add("/a/1.html", furnished_page("T", OFF_TOPIC_TEXT, "nav"), content_type="text/html")
    sports = [{"guid": f"s{i}", "title": f"Team {i} wins the derby", "link": feed_server.url("/a/1.html"),
               "description": "A late goal settled it."} for i in range(5)]
    full = {"guid": "f", "title": "Nvidia H20 rules", "link": feed_server.url("/a/1.html"),
            "description": ON_TOPIC_TEXT * 2}
    url = feed_server.add("/feed.xml", rss([*sports, full]))
    never = feed_server.add("/never.xml", rss([{"guid": "n", "title": "Nvidia H20 rules",
                                                "link": feed_server.url("/a/1.html"), "description": TEASER}]))
    cfg = write_config(tmp_path, [{"name": "sport", "url": url}, {"name": "off", "url": never, "fulltext": "never"}],
                       FAST)
    poll(cfg)
    got = items(cfg)
    assert feed_server.requests("/a/1.html") == []
    assert got["s0"]["page_status"] == "skipped" and "nothing on topic" in got["s0"]["page_note"]
    assert got["f"]["page_status"] == "skipped" and "feed gives the text" in got["f"]["page_note"]
    assert got["n"]["page_status"] == "skipped" and "never" in got["n"]["page_note"]


def test_a_source_tagged_with_a_topic_has_its_short_items_fetched(feed_server, tmp_path):
    feed_server.add("/a/1.html", furnished_page("T", ON_TOPIC_TEXT, "nav"), content_type="text/html")
    url = feed_server.add("/feed.xml", rss([{"guid": "t", "title": "Washington acts again",
                                             "link": feed_server.url("/a/1.html"), "description": "More soon."}]))
    cfg = write_config(tmp_path, [{"name": "beat", "url": url, "tags": ["export-controls"]}], FAST)
    poll(cfg)
    it = items(cfg)["t"]
    assert it["content_source"] == "page" and it["relevant"]


def test_fulltext_setting_is_checked(tmp_path):
    cfg = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/feed.xml", "fulltext": "sometimes"}])
    _, problems = config_mod.check(cfg)
    assert any("fulltext" in p.message and "auto, always, never" in p.message for p in problems), problems


def test_a_store_from_before_full_text_keeps_working(tmp_path):
    """The migration adds the columns; old rows read as text from the feed."""
    import sqlite3

    path = tmp_path / "old.db"
    db = store.connect(path)
    db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://127.0.0.1/')")
    db.execute("INSERT INTO items (source, guid, guid_kind, title, published, fetched_at, last_seen, content_hash)"
               " VALUES ('a', 'g', 'guid', 't', '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00',"
               " '2025-01-01T00:00:00+00:00', 'h')")
    # Undo the step as if the store were older: drop the columns and forget the migration.
    for col in ("page_fetched_at", "page_note", "page_status", "page_link", "feed_content", "content_source"):
        db.execute(f"ALTER TABLE items DROP COLUMN {col}")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm034_fulltext'")
    db.conn.close()
    db = store.connect(path)
    row = item_detail(db, 1)
    assert row["content_source"] == "feed" and row["page_status"] is None
    assert json.loads(json.dumps(next(export.rows(db))))["content_source"] == "feed"
    sqlite3.connect(path).close()


def test_fulltext_command_fetches_stored_items_after_the_fact(feed_server, tmp_path):
    from click.testing import CliRunner

    from watcher.cli import cli

    feed_server.add("/a/1.html", furnished_page("T", ON_TOPIC_TEXT, "most_read"), content_type="text/html")
    url = feed_server.add("/feed.xml", rss([
        {"guid": "g1", "title": "Commerce acts on twelve firms", "link": feed_server.url("/a/1.html"),
         "description": "The department acted on Tuesday."},
        {"guid": "g2", "title": "Council backs a lane", "link": feed_server.url("/a/2.html"), "description": "x"}]))
    cfg = write_config(tmp_path, [{"name": "news", "url": url, "fulltext": "never"}], FAST)
    poll(cfg)
    assert not items(cfg)["g1"]["relevant"] and feed_server.requests("/a/1.html") == []
    # the source is switched to always: the command fetches what the poll did not
    cfg = write_config(tmp_path, [{"name": "news", "url": url, "fulltext": "always"}], FAST)
    run = CliRunner().invoke(cli, ["--config", str(cfg), "fulltext", "--missing", "--source", "news"])
    assert run.exit_code == 0, run.output
    assert "[2/2]" in run.stderr and "pages: 2 fetched, 1 with text, failed: 1 http_4xx" in run.stdout
    assert "1 items now relevant" in run.stdout
    got = items(cfg)
    assert got["g1"]["relevant"] and got["g1"]["content_source"] == "page" and got["g1"]["version"] == 1
    assert got["g1"]["review_status"] == "new"
    assert got["g2"]["page_status"] == "http_4xx" and got["g2"]["content_source"] == "feed"
    # --missing again: g1 has its page, so only g2 is tried again
    run = CliRunner().invoke(cli, ["--config", str(cfg), "fulltext", "--missing"])
    assert run.exit_code == 0 and len(feed_server.requests("/a/1.html")) == 1, run.output
    bad = CliRunner().invoke(cli, ["--config", str(cfg), "fulltext", "--source", "nope"])
    assert bad.exit_code != 0, (bad.output, bad.exception)


def test_a_host_that_asks_to_wait_gets_no_more_page_requests_this_poll():
    """Retry-After on a page: the host's other pages are deferred (not requested), other hosts go on."""
    import asyncio

    import httpx

    from watcher.config import FetchSettings
    from watcher.fetch import Fetcher
    from watcher.fulltext.fetchpage import PageFetcher

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if request.url.host == "busy.test":
            return httpx.Response(429, headers={"Retry-After": "600"})
        return httpx.Response(200, headers={"Content-Type": "text/html"},
                              stream=httpx.ByteStream(b"<html><p>hi</p></html>"))

    async def run() -> list:
        async with Fetcher(FetchSettings(), transport=httpx.MockTransport(answer)) as f:
            pages = PageFetcher(f, "watcher-test")
            return [await pages.fetch(u) for u in ("http://busy.test/a", "http://busy.test/b", "http://calm.test/c")]

    a, b, c = asyncio.run(run())
    assert a.status == "rate_limited" and b.status == "deferred" and c.status == "ok"
    assert "http://busy.test/b" not in seen and "--missing" in b.note


def test_a_feed_that_rotates_guids_does_not_cost_a_page_request_per_poll(feed_server, tmp_path):
    feed_server.add("/a/1.html", furnished_page("T", ON_TOPIC_TEXT, "nav"), content_type="text/html")
    entry = {"title": "Nvidia H20 rules", "link": feed_server.url("/a/1.html"), "description": TEASER}
    url = feed_server.add("/feed.xml", rss([dict(entry, guid="session-1")]))
    cfg = write_config(tmp_path, [{"name": "news", "url": url}], FAST)
    poll(cfg)
    for n in (2, 3):
        feed_server.add("/feed.xml", rss([dict(entry, guid=f"session-{n}")]))
        poll(cfg)
    assert len(feed_server.requests("/a/1.html")) == 1
    assert len(items(cfg)) == 1
