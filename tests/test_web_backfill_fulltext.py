"""The review page since backfill (issue 12) and full text (issue 11) were merged: the queue's origin
filter and badge, coverage and deferred sources on the Sources page, where an item's text and date came
from on its page, and `dir`/`lang` on every element that shows an item's text. In process (Starlette's
TestClient over a real SQLite store); what a person sees in Chromium is in tests/test_web_browser.py."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import lxml.html
import pytest
from test_digest import add_item
from test_web import BASE, web  # noqa: F401  (the fixture)

from watcher.backfill import coverage, ledger
from watcher.backfill.plan import DateRange
from watcher.web import queries

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def _ids(client, query: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="item[^"]*" id="item-(\d+)"', client.get("/?" + query).text)]


def _backfilled(db, *ids: int) -> None:
    db.execute(f"UPDATE items SET origin = 'backfill' WHERE id IN ({','.join('?' * len(ids))})", list(ids))


# ------------------------------------------------------------------------------------ origin

def test_the_queue_filters_by_origin_and_badges_backfilled_rows(web):  # noqa: F811
    _, db, client = web
    for i in range(1, 7):
        add_item(db, id=i, fetched=f"2026-03-0{i}T01:00:00")
    _backfilled(db, 2, 5)
    assert _ids(client, "") == [6, 5, 4, 3, 2, 1]
    assert _ids(client, "origin=backfilled") == [5, 2]
    assert _ids(client, "origin=polled") == [6, 4, 3, 1]
    assert _ids(client, "origin=backfilled&status=all&since=2026-03-03") == [5]
    html = client.get("/").text
    badged = {int(m) for m in re.findall(r'id="item-(\d+)"[^>]*>(?:(?!</article>).)*?class="badge backfill"', html, re.S)}
    assert badged == {2, 5}
    # The filter's choice is kept in the form and in the next page's link.
    assert re.search(r"<option selected>backfilled</option>", client.get("/?origin=backfilled").text)


def test_paging_a_backfilled_queue_keeps_the_filter(web):  # noqa: F811
    _, db, client = web
    for i in range(1, 121):
        add_item(db, id=i, fetched=f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00")
    _backfilled(db, *range(1, 121, 2))  # 60 of them: more than a page
    seen, url = [], "/?origin=backfilled"
    while url:
        html = client.get(url).text
        seen += [int(x) for x in re.findall(r'<article class="item[^"]*" id="item-(\d+)"', html)]
        more = re.search(r'<a href="(/\?[^"]+)">older items', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert seen == list(range(119, 0, -2))


@pytest.mark.parametrize("value", ["backfill ", "poll", "BACKFILLED", "all", "'; DROP TABLE items; --"])
def test_an_unknown_origin_is_refused_with_the_two_that_exist(web, value):  # noqa: F811
    _, db, client = web
    add_item(db, id=1)
    r = client.get("/", params={"origin": value})
    if value.strip() in queries.ORIGINS:
        pytest.fail("the table holds only unknown values")
    assert r.status_code == 400 and "use polled or backfilled" in r.text
    assert db.execute("SELECT count(*) FROM items").fetchone() == (1,)


@pytest.mark.parametrize("query", [
    queries.QueueQuery(origin="backfill"),
    queries.QueueQuery(origin="poll"),
    queries.QueueQuery(origin="backfill", before=("2026-03-01T00:00:00+00:00", 99)),
])
def test_the_origin_filter_is_a_range_scan_of_its_index(web, query):  # noqa: F811
    """The statements the page runs (traced, not re-typed here) are served by items_queue_origin in
    order: no sort of every queued item, whatever the store's size."""
    _, db, _ = web
    ran: list[str] = []
    db.conn.set_trace_callback(ran.append)
    try:
        queries.queue_page(db, query)
        queries.queue_count(db, query)
    finally:
        db.conn.set_trace_callback(None)
    selects = [s for s in ran if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, ran
    for sql in selects:
        plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "items_queue_origin" in plan and "TEMP B-TREE" not in plan, (sql, plan)


# --------------------------------------------------------------------------------- the item page

TEXT_CASES = [
    ("the article page", dict(content_source="page", page_status="ok", page_fetched_at="2026-03-01T04:05:00+00:00",
                              content="The full article text."),
     ["from the article page (22 characters, fetched 2026-03-01 04:05)"]),
    ("no page considered", dict(), ["from the feed (no page considered"]),
    ("page skipped", dict(page_status="skipped", page_note="the feed's summary is long enough"),
     ["page not fetched: the feed", "summary is long enough"]),
    ("robots.txt", dict(page_status="robots", page_note="Disallow: /news/ for watcher"),
     ["fetching the page failed: robots.txt forbids it: Disallow: /news/ for watcher"]),
    ("a status this version does not know", dict(page_status="http_418", page_note=None),
     ["fetching the page failed: http_418"]),
    ("a hostile note", dict(page_status="not_html", page_note="<script>alert(1)</script>"),
     ["not an HTML page: &lt;script&gt;alert(1)&lt;/script&gt;"]),
]


def _item_with(db, columns: dict) -> None:
    """Item 1, with these stored columns set as a poll or an older watcher would have left them."""
    add_item(db, id=1)
    if columns:  # column names come from the tables above, never from input
        db.execute(f"UPDATE items SET {', '.join(f'{k} = ?' for k in columns)} WHERE id = 1", list(columns.values()))


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_the_item_page_says_where_its_text_came_from_as_show_does(web, case):  # noqa: F811
    _, db, client = web
    _, columns, says = case
    _item_with(db, columns)
    html = client.get("/items/1").text
    text = re.search(r'<dd class="text-origin">(.*?)</dd>', html, re.S).group(1)
    for phrase in says:
        assert phrase in text.replace("&#39;", "'"), text
    assert "<script>" not in html.split("</head>", 1)[1].replace('<script src="', "")


def test_a_hit_in_the_article_page_says_page_not_content(web):  # noqa: F811
    _, db, client = web
    hits = [{"topic": "export-controls", "term": "export control", "field": "content", "start": 4, "end": 18,
             "weight": 3, "points": 3}]
    add_item(db, id=1, hits=hits)
    db.execute("UPDATE items SET content = 'The export control rule.', content_source = 'page' WHERE id = 1")
    assert "<td>page</td>" in client.get("/items/1").text
    db.execute("UPDATE items SET content_source = 'feed' WHERE id = 1")
    assert "<td>content</td>" in client.get("/items/1").text


DATE_CASES = [
    ("the feed's date rejected", dict(published_is_fetch_time=1, date_note="the feed's date 2099-01-01 is more than 2 days after it was fetched"),
     "fetch time: the feed&#39;s date 2099-01-01 is more than 2 days after it was fetched"),
    ("no date in the feed", dict(published_is_fetch_time=1), "no date in the feed: fetch time"),
    ("an impossible stored date", dict(published="9999-12-31T00:00:00+00:00"),
     "not a usable date: the feed&#39;s date 9999-12-31T00:00:00+00:00 is more than"),
    ("a good date", dict(), None),
]


@pytest.mark.parametrize("case", DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_the_item_page_says_why_its_date_is_the_fetch_time(web, case):  # noqa: F811
    _, db, client = web
    _, columns, says = case
    _item_with(db, columns)
    html = client.get("/items/1").text
    note = re.search(r'<span class="date-note">(.*?)</span>', html)
    if says is None:
        assert note is None, note.group(1)
    else:
        assert note and note.group(1).startswith(says), html


def test_the_item_page_says_an_item_came_in_by_backfill(web):  # noqa: F811
    _, db, client = web
    add_item(db, id=1)
    add_item(db, id=2)
    _backfilled(db, 2)
    assert 'class="badge backfill"' in client.get("/items/2").text
    assert 'class="badge backfill"' not in client.get("/items/1").text


# ------------------------------------------------------------------------------------ dir, lang

MARK = "ZQXJ"  # in every text of the item: each place it shows must carry the item's lang and dir


@pytest.mark.parametrize("lang,direction", [("ar", "rtl"), ("vi", "auto"), ("zh", "auto")])
def test_every_element_showing_an_items_text_has_its_lang_and_dir(web, lang, direction):  # noqa: F811
    _, db, client = web
    hits = [{"topic": "export-controls", "term": "export control", "field": "summary", "start": 0, "end": 14,
             "weight": 3, "points": 3}]
    body = f"export control {MARK} " + "Nvidia chips and the rules on them. " * 5
    add_item(db, id=1, language=lang, title=f"Nvidia {MARK} headline", summary=body,
             summary_html=f"<p>{body}</p>", hits=hits)
    add_item(db, id=2, language=lang, title=f"Repost {MARK}", summary=body, duplicate_of="item:1")
    db.execute("UPDATE items SET duplicate_of = 'item:2', version = 2 WHERE id = 1")
    db.execute("INSERT INTO item_versions (item_id, version, title, summary, content, link, replaced_at) "
               f"VALUES (1, 1, 'Old {MARK}', 'Old text {MARK}.', '', NULL, '2026-03-01T04:00:00+00:00')")
    for path in ("/?status=all", "/items/1", "/items/2"):
        tree = lxml.html.fromstring(client.get(path).text)
        shown = [t for t in tree.xpath("//body//text()") if MARK in t]
        assert len(shown) >= (2 if path.startswith("/?") else 3), (path, shown)
        for t in shown:
            el = t.getparent()
            holder = el.xpath("ancestor-or-self::*[@lang][1]")[0]
            turned = el.xpath("ancestor-or-self::*[@dir][1]")
            where = lxml.html.tostring(holder, encoding="unicode")[:200]
            assert holder.get("lang") == lang, (path, where)
            assert turned and turned[0].get("dir") == direction and holder in turned[0].iter(), (path, where)


# ---------------------------------------------------------------------------------- sources page

def _run(db, source: str, since: str, until: str, status: str, error: str | None = None) -> int:
    run = ledger.start(db, source, DateRange(date.fromisoformat(since), date.fromisoformat(until)), "auto", NOW)
    ledger.choose(db, run, "feed", [], {"page": 2})
    ledger.finish(db, run, status, NOW, error=error)
    return run


def test_the_sources_page_has_no_coverage_until_a_backfill_ran(web):  # noqa: F811
    _, db, client = web
    add_item(db, id=1)
    html = client.get("/sources").text
    assert "No backfill has run" in html and 'class="coverage"' not in html
    assert '<td class="backfilled">-</td>' in html


def test_the_sources_page_shows_coverage_as_computed_for_watcher_coverage(web):  # noqa: F811
    cfg, db, client = web
    add_item(db, id=1, source="wire", published="2026-10-02T05:00:00")
    add_item(db, id=2, source="wire", published="2026-10-02T06:00:00")
    add_item(db, id=3, source="wire", published="2026-10-07T06:00:00")
    _run(db, "wire", "2026-10-01", "2026-10-03", "complete")
    _run(db, "wire", "2026-10-04", "2026-10-05", "complete")
    _run(db, "wire", "2026-10-06", "2026-10-09", "partial", error="stopped after 20 requests (--max-requests)")
    html = client.get("/sources").text
    text = lxml.html.fromstring(html).text_content()
    # The same lines `watcher coverage` prints, from the same computation.
    cli = coverage.render(db, ["wire"], None, None, NOW)
    for line in cli.splitlines()[-2:]:
        assert line.strip() in text, (line, text[-800:])
    assert "wire: covered 2026-10-01..2026-10-05" in text
    assert "run the same backfill again to continue" in text
    cells = dict(re.findall(r'<tr data-day="([\d-]+)"><th>[\d-]+</th><td class="[a-z]*">([^<]*)</td>', html))
    assert cells == {"2026-10-01": "0!", "2026-10-02": "2", "2026-10-03": "0!", "2026-10-04": "0!",
                     "2026-10-05": "0!", "2026-10-06": "~", "2026-10-07": "1~", "2026-10-08": "~", "2026-10-09": "~"}
    # The latest run, as `watcher status` notes it.
    assert re.search(r'<td class="backfilled">2026-11-20T12:00:00Z partial 2026-10-06..2026-10-09</td>', html)


def test_a_deferred_source_says_so_and_why_as_status_does(web):  # noqa: F811
    _, db, client = web
    add_item(db, id=1, source="wire")
    db.execute("UPDATE sources SET deferred = ? WHERE name = 'wire'",
               ["its host did not answer within the poll's deadline <b>"])
    html = client.get("/sources").text
    assert re.search(r'<tr class="state-deferred" data-source="wire">\s*<td><bdi>wire</bdi></td><td>deferred</td>', html)
    assert "was deferred by the last poll" in html and "deadline &lt;b&gt;" in html and "next poll tries it" in html
