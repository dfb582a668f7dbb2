"""The review page in process (Starlette's TestClient over a real SQLite store): what each page says,
filters and paging, and the security checks as a table of cases. The browser tests are in
tests/test_web_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from test_digest import add_item
from util import ROOT
from watcher import config, store
from watcher.web import queries, security
from watcher.web.app import create_app

BASE = "http://127.0.0.1:8700"


@pytest.fixture
def web(tmp_path: Path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "bis-rule.txt").write_text(
        "The Commerce Department said on Monday that exports of Nvidia H20 chips to China now need a "
        "licence, widening the export controls announced last year.", encoding="utf-8")
    cfg_path = tmp_path / "sources.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "seeds": str(tmp_path / "seeds"), "state": str(tmp_path / "state"),
        "keywords": str(ROOT / "seeds" / "keywords.yaml"), "reviewer": "tester",
        "sources": [{"name": "wire", "url": "http://127.0.0.1:9/wire.xml"}]}), encoding="utf-8")
    cfg = config.load(cfg_path)
    db = store.connect(cfg.db_path)
    client = TestClient(create_app(cfg, db=db), base_url=BASE)
    return cfg, db, client


def _token(client: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/").text).group(1)


def test_paging_walks_the_whole_queue_once_newest_first(web):
    _, db, client = web
    for i in range(1, 121):
        add_item(db, id=i, title=f"Nvidia H20 item {i}", fetched=f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00")
    seen, url = [], "/"
    while url:
        html = client.get(url).text
        seen += [int(x) for x in re.findall(r'<article class="item[^"]*" id="item-(\d+)"', html)]
        more = re.search(r'<a href="(/\?[^"]+)">older items', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert seen == list(range(120, 0, -1))


@pytest.mark.parametrize("query,says", [
    ("topic=smuggling", "did you mean 'smuggling-remote-compute'"),
    ("source=wir", "wire"),
    ("language=fr", "language"),
    ("status=maybe", "status"),
    ("since=2026-13-01", "from '2026-13-01' is not a date"),
    ("until=yesterday", "to 'yesterday' is not a date"),
])
def test_a_filter_that_names_nothing_says_so_with_the_closest_names(web, query, says):
    _, db, client = web
    add_item(db, id=1)
    r = client.get("/?" + query)
    assert r.status_code == 400
    assert says in r.text.replace("&#39;", "'")


def test_filters_by_language_dates_and_status(web):
    _, db, client = web
    add_item(db, id=1, language="ar", title="رقائق H20", fetched="2026-03-01T01:00:00")
    add_item(db, id=2, language="en", fetched="2026-03-02T01:00:00")
    add_item(db, id=3, language="en", fetched="2026-03-03T01:00:00", review_status="accepted")

    def ids(q: str) -> list[int]:
        return [int(x) for x in re.findall(r'id="item-(\d+)"', client.get("/?" + q).text)]

    assert ids("") == [2, 1]
    assert ids("language=ar") == [1]
    assert ids("status=accepted") == [3]
    assert ids("status=all&since=2026-03-02") == [3, 2]
    assert ids("status=all&until=2026-03-01") == [1]


def test_the_item_page_shows_why_what_it_repeats_versions_and_reviews(web):
    cfg, db, client = web
    seed = (cfg.seeds_dir / "bis-rule.txt").read_text(encoding="utf-8")
    hits = [{"topic": "export-controls", "term": "export control", "field": "summary", "start": 0, "end": 14,
             "weight": 3, "points": 3}]
    add_item(db, id=1, summary="export control " + seed, hits=hits, duplicate_of="seed:bis-rule.txt")
    db.execute("UPDATE items SET dup_method = 'containment', dup_score = 0.91, version = 2 WHERE id = 1")
    db.execute("INSERT INTO item_versions (item_id, version, title, summary, content, link, replaced_at) "
               "VALUES (1, 1, 'Old headline', 'Exports need a licence. Old sentence here.', '', NULL, "
               "'2026-03-01T04:00:00+00:00')")
    add_item(db, id=2, source="repost", duplicate_of="item:1")
    token = _token(client)
    assert client.post("/items/1/decide", data={"status": "accepted", "note": "BIS rule"},
                       headers={"X-CSRF-Token": token, "Origin": BASE}).status_code == 200
    html = client.get("/items/1").text
    assert "export-controls" in html and "+3" in html and "threshold 3" in html.replace("threshold <", "threshold ")
    assert "seed bis-rule.txt" in html and "containment" in html and "0.910" in html
    assert html.count("<mark>") >= 3  # the hit, and the shared passage on both sides
    assert "version 1 → 2" in html and '<span class="ddel">- Old sentence here.' in html
    assert "tester" in html and "BIS rule" in html and ">web<" in html.replace("<bdi>web</bdi>", ">web<")
    assert 'href="/items/2"' in html  # also in


def test_a_decision_uses_the_review_code_and_answers_with_the_row(web):
    _, db, client = web
    add_item(db, id=1)
    token = _token(client)
    r = client.post("/items/1/decide", data={"status": "reject"}, headers={"X-CSRF-Token": token, "Origin": BASE})
    assert r.status_code == 200 and 'data-status="rejected"' in r.text and "<html" not in r.text
    assert db.execute("SELECT status, previous, who, origin FROM reviews").fetchall() == \
        [("rejected", "new", "tester", "web")]
    bad = client.post("/items/1/decide", data={"status": "delete"}, headers={"X-CSRF-Token": token, "Origin": BASE})
    missing = client.post("/items/99/decide", data={"status": "accepted"},
                          headers={"X-CSRF-Token": token, "Origin": BASE})
    assert (bad.status_code, missing.status_code) == (400, 404)
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1


def test_the_tuning_page_tries_a_term_and_reports_terms(web):
    _, db, client = web
    add_item(db, id=1, title="Harvest news", summary="A potato ban widens across the region.", relevant=False)
    html = client.get("/tuning").text
    assert "Terms that never hit" in html
    tried = client.get("/tuning", params={"term": "potato ban", "lang": "en"}).text
    assert "would add 1 item" in tried and 'href="/items/1"' in tried and "<mark>" in tried
    assert "too short" in client.get("/tuning", params={"term": "x", "lang": "en"}).text


def test_the_sources_page_charts_the_last_30_days(web):
    _, db, client = web
    now = store.utcnow()
    for i in range(3):
        add_item(db, id=i + 1, source="wire", fetched=now.strftime("%Y-%m-%dT%H:%M:%S"))
    html = client.get("/sources").text
    assert 'aria-label="3 items in the last 30 days"' in html
    assert f"{now.date().isoformat()}: 3" in html


def test_digests_are_listed_and_only_their_own_files_served(web):
    cfg, db, client = web
    folder = cfg.state_dir / "digests"
    folder.mkdir(parents=True)
    (folder / "2026-03-01.html").write_text("<html><body>digest one</body></html>", encoding="utf-8")
    (cfg.state_dir / "secret.html").write_text("secret", encoding="utf-8")
    assert 'href="/digests/2026-03-01.html"' in client.get("/digests").text
    r = client.get("/digests/2026-03-01.html")
    assert "digest one" in r.text and r.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    for name in ("..%2Fsecret.html", "secret.html", "2026-03-01.md"):
        assert "secret" not in client.get("/digests/" + name).text.replace("No such digest", "")


# --------------------------------------------------------------------------------------- security

T = security.Tokens(b"k" * 32)
SESSION = "s" * 43
GOOD = {"host": "127.0.0.1:8700", "origin": "http://127.0.0.1:8700", "cookie": f"watcher_session={SESSION}",
        "x-csrf-token": T.token(SESSION)}
ALLOWED = security.allowed_hosts("127.0.0.1", 8700)
CASES = yaml.safe_load("""
- {why: a page of ours, method: POST, change: {}, refused: false}
- {why: a GET from localhost, method: GET, change: {host: "localhost:8700", origin: null}, refused: false}
- {why: no Origin (an older browser) but the token, method: POST, change: {origin: null}, refused: false}
- {why: DNS rebinding, method: GET, change: {host: "evil.example:8700"}, refused: true}
- {why: rebinding with the right port only, method: POST, change: {host: "evil.example:8700", origin: "http://evil.example:8700"}, refused: true}
- {why: another port on this machine, method: POST, change: {origin: "http://127.0.0.1:9999"}, refused: true}
- {why: https origin we do not serve, method: POST, change: {origin: "https://127.0.0.1:8700"}, refused: true}
- {why: a null origin, method: POST, change: {origin: "null"}, refused: true}
- {why: no host, method: GET, change: {host: null}, refused: true}
- {why: no token, method: POST, change: {x-csrf-token: null}, refused: true}
- {why: a token for another session, method: POST, change: {cookie: "watcher_session=other"}, refused: true}
- {why: no cookie, method: POST, change: {cookie: null}, refused: true}
- {why: a malformed cookie, method: POST, change: {cookie: "\\"\\\\;;=="}, refused: true}
- {why: a foreign referer and no origin, method: POST, change: {origin: null, referer: "http://evil.example/x"}, refused: true}
- {why: DELETE is a change too, method: DELETE, change: {x-csrf-token: null}, refused: true}
""")


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_refusal_table(case):
    headers = {k: v for k, v in {**GOOD, **case["change"]}.items() if v is not None}
    assert (security.refusal(case["method"], headers, ALLOWED, T) is not None) == case["refused"]


def test_binding_beyond_loopback_warns_that_there_is_no_login():
    assert security.bind_warning("127.0.0.1", 8700, "lan") is None
    assert security.bind_warning("::1", 8700, "lan") is None
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        assert "no login" in security.bind_warning(host, 8700, "lan")


def test_every_response_carries_the_csp_and_a_strict_session_cookie(web):
    _, _, client = web
    r = client.get("/")
    assert r.headers["content-security-policy"] == security.CSP
    assert "SameSite=Strict" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    assert client.get("/", headers={"host": "evil.example"}).status_code == 403


def test_the_queue_page_uses_the_queue_index(web):
    _, db, _ = web
    plan = " ".join(r[3] for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM items WHERE review_status IS NOT NULL AND review_status = ? "
        "ORDER BY published DESC, id DESC LIMIT 50", ["new"]))
    assert "items_queue" in plan and "TEMP B-TREE" not in plan, plan
    assert queries.PAGE_SIZE == 50


def test_a_read_only_store_is_shown_and_a_decision_there_is_refused_not_lost(web, tmp_path):
    # `serve` over a backup (or a read-only folder) reads the store read-only: the queue shows, and a
    # decision answers 409 saying it was not saved, rather than a 500 or a silent loss.
    cfg, db, _ = web
    add_item(db, id=1)
    db.conn.close()
    before = cfg.db_path.read_bytes()
    client = TestClient(create_app(cfg, db=store.connect_readonly(cfg.db_path)), base_url=BASE)
    assert client.get("/").status_code == 200
    r = client.post("/items/1/decide", data={"status": "reject"},
                    headers={"X-CSRF-Token": _token(client), "Origin": BASE})
    assert r.status_code == 409 and "not saved" in r.text and "read-only" in r.text, r.text
    assert cfg.db_path.read_bytes() == before
