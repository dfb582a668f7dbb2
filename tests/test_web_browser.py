"""The review page (`watcher serve`) as an analyst and an attacker meet it (issue 13).

Real parts only: feeds from the local feed server, a real `watcher poll` into a real SQLite store, the
real `watcher serve` command in a subprocess on 127.0.0.1, and real headless Chromium driven by
Playwright (the system's /usr/bin/chromium; Playwright's own browser download is never used). The
CSRF checks need no browser: they POST with httpx to the live server, as a hostile page's browser would.

Skips, saying why, without Chromium or the playwright package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# Commands run in this process (click's CliRunner). Playwright's sync API keeps an event loop running in
# this thread once the browser is up, and `watcher poll` and `backfill` start their own (asyncio.run
# refuses that), so `serving` fills the store before `browser` starts (the order of `page`'s arguments);
# the commands the tests run beside the browser (export, show, coverage, status) use no event loop.
from util import CHROMIUM_LOCAL_ONLY, SUBPROCESS_PYTHONPATH, rss, run_cli, write_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None
XSS = Path(__file__).parent / "fixtures" / "xss"
MARK = "document.documentElement.dataset.pwned=1"
REVIEWER = "analyst-under-test"

needs_browser = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="needs Chromium (apt-get install chromium) and playwright (pip install -e '.[test]')")

# One relevant item per language (the shipped keyword list finds each), newest first by pubDate.
FEEDS = {
    "wire-en": ("en", [
        ("Nvidia H20 chips face new US export controls", "Washington widens export controls on Nvidia chips sold to China.", "Mon, 16 Nov 2026 09:00:00 GMT"),
        ("BIS adds Chinese firms to the Entity List over AI chips", "The Commerce Department added firms to the Entity List.", "Mon, 16 Nov 2026 08:00:00 GMT"),
        ("Huawei Ascend 910C output rises as China pushes domestic AI chips", "Huawei Ascend chips gain share at home.", "Mon, 16 Nov 2026 07:00:00 GMT"),
    ]),
    "wire-ar": ("ar", [
        ("واشنطن تشدد ضوابط التصدير على رقائق إنفيديا إلى الصين", "فرضت الولايات المتحدة ضوابط التصدير على رقائق الذكاء الاصطناعي.", "Mon, 16 Nov 2026 06:00:00 GMT"),
        # Starts with a Latin word: dir="auto" would lay it out left to right; it must read right to left.
        ("Nvidia تواجه ضوابط التصدير الأمريكية الجديدة على رقائق H20", "فرضت الولايات المتحدة ضوابط التصدير على رقائق إنفيديا.", "Mon, 16 Nov 2026 03:30:00 GMT"),
    ]),
    "wire-vi": ("vi", [
        ("Mỹ siết kiểm soát xuất khẩu chip Nvidia sang Trung Quốc", "Bộ Thương mại Mỹ siết kiểm soát xuất khẩu chip bán dẫn.", "Mon, 16 Nov 2026 05:00:00 GMT"),
    ]),
    "wire-zh": ("zh", [
        ("美国收紧对英伟达芯片的出口管制", "美国商务部将更多中国企业列入实体清单，并加强芯片出口管制。", "Mon, 16 Nov 2026 04:00:00 GMT"),
    ]),
}
# Stored by a real `watcher backfill` (feed method) before the first poll: items with origin 'backfill'
# and a complete run in the coverage ledger for 2026-10-01..2026-10-31.
ARCHIVE = ("archive-en", "en", [
    ("Archive: US export controls on Nvidia A800 chips tightened", "The Commerce Department tightened export controls on Nvidia chips.", "Wed, 14 Oct 2026 09:00:00 GMT"),
    ("Archive: Huawei Ascend chips and the Entity List", "Huawei Ascend AI chips and the Entity List.", "Tue, 13 Oct 2026 09:00:00 GMT"),
    # Before the range: the feed reaches back past --since (so the feed method can cover the range),
    # and this one is left to the poll.
    ("Archive: BIS rule on AI chip exports to China", "BIS export controls on AI chips.", "Mon, 28 Sep 2026 09:00:00 GMT"),
])
IN_RANGE = [t for t, _, when in ARCHIVE[2] if " Oct " in when]
BACKFILL_RANGE = ("2026-10-01", "2026-10-31")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    port: int
    config: Path
    db_path: Path
    log: Path

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path)

    def reviews(self) -> list[tuple]:
        with self.db() as c:
            return c.execute("SELECT item_id, status, previous, who, origin FROM reviews ORDER BY id").fetchall()

    def statuses(self) -> dict[int, str]:
        with self.db() as c:
            return dict(c.execute("SELECT id, review_status FROM items WHERE review_status IS NOT NULL"))


@dataclass
class Starting:
    served: Served
    proc: subprocess.Popen


@pytest.fixture(scope="module")
def serving(tmp_path_factory) -> Iterator[Starting]:
    """A store filled by a real `watcher poll` of the feeds above and the hostile feed, and the real
    `watcher serve` on it, started but not waited for: `served` waits, after `browser` has launched
    Chromium meanwhile (the order of `page`'s arguments), so the two start-ups overlap."""
    from feedserver import FeedServer

    tmp = tmp_path_factory.mktemp("web")
    feeds = FeedServer().start()
    try:
        sources = []
        for name, (lang, items) in FEEDS.items():
            body = rss([{"guid": f"{name}-{i}", "title": t, "description": d, "pubDate": when,
                         "link": f"https://example.org/{name}/{i}"} for i, (t, d, when) in enumerate(items)])
            sources.append({"name": name, "url": feeds.add(f"/{name}.rss", body.encode()), "language": lang})
        hostile = re.sub(r"alert\([^)]*\)", MARK, (XSS / "hostile.rss").read_text(encoding="utf-8"))
        sources.append({"name": "hostile", "url": feeds.add("/hostile.rss", hostile.encode()), "language": "en"})
        name, lang, items = ARCHIVE
        body = rss([{"guid": f"{name}-{i}", "title": t, "description": d, "pubDate": when,
                     "link": f"https://example.org/{name}/{i}"} for i, (t, d, when) in enumerate(items)])
        # backfill_rate: the default 1 request/s would sleep a second between robots.txt and the feed.
        sources.append({"name": name, "url": feeds.add(f"/{name}.rss", body.encode()), "language": lang,
                        "backfill_rate": 20})
        cfg = write_config(tmp, sources, extra=f"reviewer: {REVIEWER}\ndigest: {{timezone: UTC}}")
        run_cli(cfg, "backfill", "--source", name, "--method", "feed", "--since", BACKFILL_RANGE[0],
                "--until", BACKFILL_RANGE[1])
        run_cli(cfg, "poll")
    finally:
        feeds.stop()
    port = _free_port()
    log = tmp / "serve.log"
    env = {**os.environ, "PYTHONPATH": SUBPROCESS_PYTHONPATH}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(cfg), "serve", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield Starting(Served(f"http://127.0.0.1:{port}", port, cfg, tmp / "state" / "watcher.db", log), proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def served(serving: Starting) -> Served:
    """`watcher serve` once it listens (it binds its socket before it announces the page)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", serving.served.port), timeout=0.5):
                return serving.served
        except OSError:
            if serving.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"watcher serve did not start: {serving.served.log.read_text()}") from None
            time.sleep(0.02)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or sync_playwright is None:
        pytest.skip("needs Chromium (apt-get install chromium) and playwright (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", *CHROMIUM_LOCAL_ONLY])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(serving, browser, served) -> Iterator[Page]:  # the store filled first: see the imports
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors
    try:
        yield pg
    finally:
        context.close()


@pytest.mark.parametrize("url", ["http://evil.example/", "https://evil.example/x", "http://192.0.2.1/"])
def test_the_test_browser_reaches_no_host_but_this_one(serving, browser, url: str) -> None:  # serving first: see the imports
    """The hostile fixtures frame and link other hosts on purpose; the guard every Chromium here runs with
    (util.CHROMIUM_LOCAL_ONLY) sends those requests to a dead local proxy, whatever the network."""
    context = browser.new_context()
    try:
        with pytest.raises(PlaywrightError) as e:
            context.new_page().goto(url, timeout=10_000)
        assert "ERR_PROXY_CONNECTION_FAILED" in str(e.value), str(e.value)
    finally:
        context.close()


def _ids(page: Page) -> list[int]:
    return [int(x) for x in page.locator("#queue article.item").evaluate_all("rs => rs.map(r => r.dataset.id)")]


def _status_on_page(page: Page, item_id: int) -> str:
    return page.locator(f"#item-{item_id}").get_attribute("data-status")


# What a payload needs to run, if it can: goto and set_content return at the load event, when every
# script has run and every image has loaded or failed (so an onerror has fired); two animation frames
# more take in what a rendering update does (autofocus, so an onfocus), and a task more what those
# queue. In this browser every payload of the hostile feed that runs at all (the unescaped control,
# each alert marked apart) has run by the load event already, and none more after 1.5 s.
SETTLE = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0))))"


def _settle(page: Page) -> None:
    page.evaluate(SETTLE)


def _wait_status(page: Page, item_id: int, status: str) -> None:
    page.wait_for_selector(f'#item-{item_id}[data-status="{status}"]', timeout=5000)


# ------------------------------------------------------------------------------------ the review

@needs_browser
def test_a_keyboard_review_is_recorded_like_the_cli_and_exported(page, served):
    page.goto(served.url + "/")
    ids = _ids(page)
    assert len(ids) >= 6, f"the queue should list the polled items: {ids}"
    before = served.statuses()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("a")  # accepts the second row and moves on to the third
    _wait_status(page, ids[1], "accepted")
    page.keyboard.press("r")  # rejects the third
    _wait_status(page, ids[2], "rejected")
    page.keyboard.press("u")  # undo: the third is new again
    _wait_status(page, ids[2], "new")
    assert _status_on_page(page, ids[0]) == "new"

    after = served.statuses()
    assert after[ids[1]] == "accepted" and after[ids[2]] == "new"
    assert {k: v for k, v in after.items() if k not in (ids[1], ids[2])} == \
        {k: v for k, v in before.items() if k not in (ids[1], ids[2])}
    # The same history the CLI writes: who is the config's reviewer, origin says where.
    reviews = served.reviews()
    assert (ids[1], "accepted", "new", REVIEWER, "web") in reviews
    assert [r for r in reviews if r[0] == ids[2]] == [(ids[2], "rejected", "new", REVIEWER, "web"),
                                                      (ids[2], "new", "rejected", REVIEWER, "web")]
    exported = {r["id"]: r for r in map(json.loads, run_cli(served.config, "export").stdout.splitlines())}
    assert exported[ids[1]]["review_status"] == "accepted" and exported[ids[1]]["review_version"] == 1
    assert exported[ids[2]]["review_status"] == "new" and exported[ids[2]]["review_version"] == 2
    shown = run_cli(served.config, "show", str(ids[1])).stdout
    assert REVIEWER in shown

    # Filter by language: "/" goes to the filters, choosing a language reloads the queue.
    page.keyboard.press("/")
    page.locator('#filters select[name="language"]').select_option("ar")
    page.wait_for_url(re.compile(r"language=ar"))
    titles = page.locator("#queue article.item h2").all_inner_texts()
    assert titles and all("ضوابط التصدير" in t for t in titles), titles

    # Open an item: its page says why it matched.
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/items/\d+$"))
    body = page.locator("main").inner_text()
    assert "Why it matched" in body and "ضوابط التصدير" in body and "threshold" in body
    assert page.errors == [], page.errors


@needs_browser
def test_a_selection_is_decided_at_once_and_undone_at_once(page, served):
    page.goto(served.url + "/?source=wire-en")
    ids = _ids(page)
    assert len(ids) >= 2, ids
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("R")
    for i in ids[:2]:
        _wait_status(page, i, "rejected")
    assert all(served.statuses()[i] == "rejected" for i in ids[:2])
    page.keyboard.press("u")
    for i in ids[:2]:
        _wait_status(page, i, "new")
    assert all(served.statuses()[i] == "new" for i in ids[:2])
    page.keyboard.press("?")
    assert page.locator("dialog#keys").is_visible()
    assert page.errors == [], page.errors


@needs_browser
def test_hostile_items_render_as_text_and_no_script_runs(page, served):
    # Control: the same payloads, unescaped, do run in this browser and mark the page.
    raw = (XSS / "hostile.rss").read_text(encoding="utf-8")
    cdata = "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", re.sub(r"alert\([^)]*\)", MARK, raw), flags=re.S))
    page.set_content(f"<html><body>{cdata}</body></html>")
    _settle(page)
    # Checked only after the same wait the real pages get below, so the control also shows that wait is
    # long enough for a payload to run in this browser.
    assert page.evaluate("document.documentElement.dataset.pwned") == "1", "the control must show a payload runs"

    page.goto(served.url + "/?status=all&source=hostile")
    _settle(page)
    text = page.locator("#queue").inner_text()
    assert "Ascend 910C" in text, "the hostile items did not reach the page, so this checks nothing"
    # What is left of the payloads after parsing (which keeps titles as plain text) shows as text.
    assert 'Nvidia H20 ">' in text
    assert page.evaluate("document.documentElement.dataset.pwned") is None
    for item_id in _ids(page):  # each item's own page, with the feed summary, too
        page.goto(f"{served.url}/items/{item_id}")
        _settle(page)
        assert page.evaluate("document.documentElement.dataset.pwned") is None, item_id
        hrefs = page.locator("a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert all(h.startswith(("http://", "https://", "/", "#")) for h in hrefs), hrefs
    assert not any("pwned" in e for e in page.errors)


@needs_browser
def test_arabic_reads_right_to_left_and_the_queue_is_screenshotted(page, served, tmp_path):
    page.goto(served.url + "/?status=all")
    # Every element that shows an item's text says its language and direction.
    bare = page.locator("#queue article.item :is(h2, .excerpt)").evaluate_all(
        "es => es.filter(e => !e.getAttribute('dir') || !e.hasAttribute('lang')).map(e => e.outerHTML)")
    assert bare == []

    def direction(lang: str, text: str) -> str:
        h2 = page.locator(f"#queue article.item h2[lang={lang}]", has_text=text)
        assert h2.count() == 1, (lang, text)
        return h2.evaluate("e => getComputedStyle(e).direction")

    assert direction("ar", "واشنطن تشدد") == "rtl"
    assert direction("ar", "Nvidia تواجه") == "rtl"  # a Latin first word does not turn it around
    assert direction("en", "Nvidia H20 chips") == "ltr"
    assert direction("vi", "kiểm soát") == "ltr"
    assert direction("zh", "出口管制") == "ltr"
    # Laid out right to left: the Latin first word is at the right-hand end of the line.
    box = page.locator("#queue article.item h2[lang=ar]", has_text="Nvidia تواجه").evaluate(
        """e => { const r = document.createRange();
                  const n = document.createTreeWalker(e, NodeFilter.SHOW_TEXT).nextNode();
                  r.setStart(n, 0); r.setEnd(n, Math.min(6, n.length));
                  const w = r.getBoundingClientRect(), b = e.getBoundingClientRect();
                  return [w.right, b.right, w.left, b.left]; }""")
    assert abs(box[0] - box[1]) < abs(box[2] - box[3]), box
    for lang, sample in (("ar", "ضوابط"), ("vi", "kiểm soát"), ("zh", "出口管制")):
        assert sample in page.locator(f"#queue article.item h2[lang={lang}]").first.inner_text()
    shot = tmp_path / "queue-ar-vi-zh.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Chinese must render as glyphs, not empty boxes: the CJK heading is as wide as its text needs.
    zh = page.locator("#queue article.item h2[lang=zh] a").first
    assert zh.evaluate("e => e.getBoundingClientRect().width") > 100


@needs_browser
def test_the_queue_filters_by_origin_and_marks_backfilled_items(page, served):
    page.goto(served.url + "/?status=all")
    everything = _ids(page)
    page.locator('#filters select[name="origin"]').select_option("backfilled")
    page.wait_for_url(re.compile(r"origin=backfilled"))
    rows = page.locator("#queue article.item")
    titles = rows.locator("h2").all_inner_texts()
    assert sorted(titles) == sorted(IN_RANGE), titles
    badges = rows.locator(".badge.backfill")
    assert badges.count() == rows.count() and all(b.is_visible() for b in badges.all())
    assert set(badges.all_inner_texts()) == {"backfill"}
    backfilled = _ids(page)

    page.locator('#filters select[name="origin"]').select_option("polled")
    page.wait_for_url(re.compile(r"origin=polled"))
    polled = _ids(page)
    assert page.locator("#queue article.item .badge.backfill").count() == 0
    assert sorted(polled + backfilled) == sorted(everything) and not set(polled) & set(backfilled)
    with served.db() as c:
        assert {i for (i,) in c.execute("SELECT id FROM items WHERE origin = 'backfill'")} == set(backfilled)

    # The item's own page says how it came in and where its text is from.
    page.goto(f"{served.url}/items/{backfilled[0]}")
    facts = page.locator("dl.facts").inner_text()
    assert "backfill" in facts and "from the feed" in facts, facts
    assert page.errors == [], page.errors


@needs_browser
def test_the_sources_page_shows_coverage_as_watcher_coverage_does(page, served):
    cli = run_cli(served.config, "coverage").stdout
    covered = next(line for line in cli.splitlines() if line.startswith(f"{ARCHIVE[0]}: covered"))
    assert covered == f"{ARCHIVE[0]}: covered {BACKFILL_RANGE[0]}..{BACKFILL_RANGE[1]}"
    page.goto(served.url + "/sources")
    assert covered in page.locator("ul.covered").inner_text()
    table = page.locator("table.coverage")
    assert table.is_visible()
    head = table.locator("thead th").all_inner_texts()
    assert head == ["day", ARCHIVE[0]], head  # only the sources a backfill ran for

    def cell(day: str) -> str:
        return table.locator(f"tbody tr[data-day='{day}'] td").inner_text()

    assert cell("2026-10-14") == "1" and cell("2026-10-13") == "1"
    assert cell("2026-10-02") == "0!"  # covered, and nothing published: worth a look
    last = page.locator(f"table.sources tr[data-source='{ARCHIVE[0]}'] td.backfilled")
    assert f"complete {BACKFILL_RANGE[0]}..{BACKFILL_RANGE[1]}" in last.inner_text()
    status = run_cli(served.config, "status").stdout
    assert f"note: {ARCHIVE[0]} last backfilled {last.inner_text()} " in status
    assert page.errors == [], page.errors


# ---------------------------------------------------------------------------------------- CSRF

def _token_and_cookie(served: Served) -> tuple[str, httpx.Cookies]:
    with httpx.Client(base_url=served.url) as c:
        r = c.get("/")
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', r.text).group(1)
        return token, c.cookies


@pytest.mark.parametrize("case", ["no token", "wrong token", "no cookie", "foreign Origin", "null Origin",
                                  "foreign Referer", "foreign Host"])
def test_a_post_from_elsewhere_is_refused_and_changes_nothing(served, case):
    token, cookies = _token_and_cookie(served)
    item_id = min(served.statuses())
    headers = {"X-CSRF-Token": token, "Origin": served.url}
    jar = cookies
    if case == "no token":
        del headers["X-CSRF-Token"]
    elif case == "wrong token":
        headers["X-CSRF-Token"] = "0" * 64
    elif case == "no cookie":
        jar = httpx.Cookies()
    elif case == "foreign Origin":
        headers["Origin"] = "http://evil.example"
    elif case == "null Origin":
        headers["Origin"] = "null"
    elif case == "foreign Referer":
        del headers["Origin"]
        headers["Referer"] = "http://evil.example/page"
    elif case == "foreign Host":  # DNS rebinding: evil.example resolves to 127.0.0.1
        headers["Host"] = f"evil.example:{served.port}"
        headers["Origin"] = f"http://evil.example:{served.port}"
    before = (served.statuses(), served.reviews())
    with httpx.Client(base_url=served.url, cookies=jar) as c:
        r = c.post(f"/items/{item_id}/decide", data={"status": "rejected"}, headers=headers)
    assert r.status_code == 403, r.text
    assert (served.statuses(), served.reviews()) == before


def test_a_foreign_host_cannot_read_the_queue_either(served):
    r = httpx.get(served.url + "/", headers={"Host": "evil.example"})
    assert r.status_code == 403 and "DNS rebinding" in r.text


def test_the_same_post_from_the_page_itself_is_recorded(served):
    """The control for the refusals above: with token, cookie and our own Origin, it goes through."""
    token, cookies = _token_and_cookie(served)
    item_id, now = min(served.statuses().items())
    wanted = "later" if now != "later" else "new"
    with httpx.Client(base_url=served.url, cookies=cookies) as c:
        r = c.post(f"/items/{item_id}/decide", data={"status": wanted},
                   headers={"X-CSRF-Token": token, "Origin": served.url})
    assert r.status_code == 200 and f'data-status="{wanted}"' in r.text
    assert served.statuses()[item_id] == wanted
    assert served.reviews()[-1] == (item_id, wanted, now, REVIEWER, "web")


def test_every_page_forbids_inline_script(served):
    for path in ("/", "/sources", "/digests", "/tuning", f"/items/{min(served.statuses())}"):
        r = httpx.get(served.url + path)
        assert r.status_code == 200, (path, r.text[-500:])
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path  # no inline <script> blocks
        assert not re.search(r"\son[a-z]+\s*=", r.text), path  # no inline event handlers
