"""The daily digest: which items a date holds, each item once, reproducible rebuilds, and what it shows."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from watcher import store
from watcher.config import Config, DigestSettings
from watcher.digest import build, make_digest

HCM = "Asia/Ho_Chi_Minh"  # UTC+7, no DST


def make_cfg(tmp_path: Path, tz: str = HCM) -> Config:
    return Config(path=tmp_path / "sources.yaml", sources=(), seeds_dir=tmp_path / "seeds",
                  state_dir=tmp_path / "state", keywords_path=tmp_path / "keywords.yaml",
                  digest=DigestSettings(timezone=tz, title="Chips digest"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def add_item(db, *, id: int, title: str = "Nvidia H20 export rules", source: str = "wire",
             fetched: str = "2026-03-01T03:00:00", published: str | None = None, relevant: bool = True,
             duplicate_of: str | None = None, topics: list[str] | None = None, language: str = "en",
             summary: str = "", summary_html: str = "", link: str | None = None, hits: list[dict] | None = None,
             keywords: list[str] | None = None, review_status: str | None = "new") -> int:
    db.execute("INSERT OR IGNORE INTO sources (name, url) VALUES (?, ?)", [source, f"http://127.0.0.1/{source}"])
    db.execute(
        "INSERT INTO items (id, source, guid, guid_kind, link, title, summary, summary_html, language, published,"
        " fetched_at, last_seen, content_hash, relevant, topics, keywords, hits, duplicate_of, review_status)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [id, source, f"g{id}", "guid", link if link is not None else f"https://news.example/{id}", title, summary,
         summary_html, language, store.iso(utc(published or fetched)), store.iso(utc(fetched)),
         store.iso(utc(fetched)), "h", int(relevant), json.dumps(topics if topics is not None else ["chips"]),
         json.dumps(keywords or ["H20"]), json.dumps(hits or []), duplicate_of,
         review_status if relevant and not duplicate_of else None],
    )
    return id


def ids_in(db, day: str) -> set[int]:
    return {r[0] for r in db.execute("SELECT item_id FROM digest_items WHERE digest_date = ?", [day])}


@pytest.fixture
def env(tmp_path: Path):
    cfg = make_cfg(tmp_path)
    return cfg, store.connect(cfg.db_path)


# Which items go into the 2026-03-02 digest (Ho Chi Minh time: that day is 2026-03-01T17:00Z to
# 2026-03-02T17:00Z). Each case: item fields, and whether the digest holds it.
SELECTION = [
    ("relevant, new, fetched that morning", dict(fetched="2026-03-02T01:00:00"), True),
    ("fetched the evening before, local time", dict(fetched="2026-03-01T16:59:00"), True),
    ("not relevant", dict(relevant=False), False),
    ("repost of another item", dict(duplicate_of="item:999"), False),
    ("republished seed", dict(duplicate_of="seed:000_ebb55b1a1787a084.txt"), False),
    ("fetched after the local day ended", dict(fetched="2026-03-02T17:00:00"), False),
    ("rejected by a reviewer before the digest", dict(review_status="rejected"), False),
    ("accepted by a reviewer", dict(review_status="accepted"), True),
]


@pytest.mark.parametrize("what,fields,included", SELECTION, ids=[c[0] for c in SELECTION])
def test_which_items_a_date_holds(env, what: str, fields: dict, included: bool) -> None:
    cfg, db = env
    add_item(db, id=1, **fields)
    d = make_digest(cfg, db, date(2026, 3, 2), now=utc("2026-03-02T18:00:00")).digest
    assert (d.total == 1) is included, what
    assert (ids_in(db, "2026-03-02") == {1}) is included


def test_each_item_is_in_exactly_one_digest(env) -> None:
    cfg, db = env
    add_item(db, id=1, fetched="2026-03-01T03:00:00")
    add_item(db, id=2, fetched="2026-03-01T20:00:00")  # 03:00 on the 2nd, local
    make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T12:00:00"))
    make_digest(cfg, db, date(2026, 3, 2), now=utc("2026-03-02T00:00:00"))
    make_digest(cfg, db, date(2026, 3, 3), now=utc("2026-03-03T00:00:00"))
    assert ids_in(db, "2026-03-01") == {1}
    assert ids_in(db, "2026-03-02") == {2}
    assert ids_in(db, "2026-03-03") == set()


def test_rebuilding_a_date_reproduces_it(env) -> None:
    cfg, db = env
    add_item(db, id=1, fetched="2026-03-01T03:00:00")
    first = make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"))
    # An item that came in later the same local day belongs to the next digest, not this one.
    add_item(db, id=2, fetched="2026-03-01T09:00:00")
    again = make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T10:00:00"))
    assert again.digest.rebuilt
    assert again.markdown == first.markdown and again.html == first.html
    assert (cfg.state_dir / "digests" / "2026-03-01.md").read_text(encoding="utf-8") == first.markdown
    nxt = make_digest(cfg, db, date(2026, 3, 2), now=utc("2026-03-02T00:00:00"))
    assert nxt.digest.total == 1 and ids_in(db, "2026-03-02") == {2}


def test_dry_run_records_and_writes_nothing(env) -> None:
    cfg, db = env
    add_item(db, id=1)
    r = make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"), dry_run=True)
    assert r.digest.total == 1 and "Nvidia" in r.markdown
    assert db.execute("SELECT count(*) FROM digests").fetchone()[0] == 0
    assert ids_in(db, "2026-03-01") == set()
    assert not (cfg.state_dir / "digests").exists()


def test_entries_grouped_by_topic_newest_first_with_header_counts(env) -> None:
    cfg, db = env
    add_item(db, id=1, title="Old chip story", topics=["chips"], published="2026-03-01T01:00:00")
    add_item(db, id=2, title="New chip story", topics=["chips"], published="2026-03-01T02:00:00")
    add_item(db, id=3, title="Smuggling ring", topics=["smuggling"], language="vi")
    r = make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"))
    assert [(t, [e.id for e in es]) for t, es in r.digest.groups] == [("chips", [2, 1]), ("smuggling", [3])]
    assert r.markdown.index("New chip story") < r.markdown.index("Old chip story") < r.markdown.index("Smuggling")
    assert "chips 2" in r.markdown and "smuggling 1" in r.markdown
    assert "English 2" in r.markdown and "Vietnamese 1" in r.markdown
    assert "3 new items" in r.html


def test_entry_shows_script_direction_highlight_link_source_time_and_also_in(env) -> None:
    cfg, db = env
    summary = "قالت الحكومة إن رقائق إنفيديا H20 لن تباع"
    start = summary.index("H20")
    add_item(db, id=1, title="حظر رقائق H20", language="ar", source="aljazeera", summary=summary,
             published="2026-03-01T02:05:00", link="https://ar.example/h20",
             hits=[{"topic": "chips", "term": "h20", "field": "summary", "start": start, "end": start + 3,
                    "weight": 3}, {"topic": "chips", "term": "h20", "field": "title", "start": 10, "end": 13,
                                   "weight": 3}])
    add_item(db, id=2, title="repost", source="mirror", duplicate_of="item:1", link="https://mirror.example/x")
    add_item(db, id=3, title="late repost", source="late", duplicate_of="item:1",
             fetched="2026-03-02T03:00:00")  # after the cutoff: not in this digest's "also in"
    r = make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"))
    html = r.html
    assert '<h3 dir="rtl" lang="ar">' in html
    assert 'href="https://ar.example/h20"' in html
    assert "<mark>H20</mark> لن تباع" in html  # snippet highlighted in the original script
    assert "حظر رقائق <mark>H20</mark>" in html  # headline too
    # local time of the digest's zone; feed strings each in their own bidi isolate
    assert "<bdi>aljazeera</bdi> · <bdi>Arabic</bdi> · 2026-03-01 09:05 +07" in html
    assert "Also in:" in html and "https://mirror.example/x" in html and "late" not in html.split("Also in:")[1]
    assert "**H20**" in r.markdown and "<https://ar.example/h20>" in r.markdown


def test_empty_day_still_makes_a_digest_and_an_atom_entry(env) -> None:
    cfg, db = env
    add_item(db, id=1)
    make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"))
    r = make_digest(cfg, db, date(2026, 3, 2), now=utc("2026-03-02T05:00:00"))
    assert r.digest.total == 0
    out = cfg.state_dir / "digests"
    assert "Nothing new came in" in (out / "2026-03-02.md").read_text(encoding="utf-8")
    assert "Nothing new came in" in (out / "2026-03-02.html").read_text(encoding="utf-8")
    feed = ET.parse(out / "feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert titles == ["Chips digest 2026-03-02: nothing new", "Chips digest 2026-03-01: 1 new item"]
    ids = [e.findtext("a:id", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert len(set(ids)) == 2
    content = feed.find("a:entry/a:content", ns)
    assert content.get("type") == "html" and "Nothing new came in" in content.text


def test_header_notes_sources_that_failed_since_the_last_digest(env) -> None:
    cfg, db = env
    add_item(db, id=1, source="wire")
    db.execute("INSERT INTO sources (name, url, last_error_kind) VALUES ('broken', 'http://127.0.0.1/b', 'timeout')")
    make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T00:00:00"))

    def fetch(src: str, at: str, outcome: str, error: str | None = None) -> None:
        db.execute("INSERT INTO fetches (source, started_at, url, outcome, error) VALUES (?, ?, ?, ?, ?)",
                   [src, store.iso(utc(at)), "http://127.0.0.1/", outcome, error])

    fetch("broken", "2026-02-28T23:00:00", "timeout", "before the last digest")
    fetch("broken", "2026-03-01T06:00:00", "timeout", "read timed out")
    fetch("broken", "2026-03-01T07:00:00", "timeout", "read timed out again")
    fetch("wire", "2026-03-01T06:00:00", "ok")
    r = make_digest(cfg, db, date(2026, 3, 2), now=utc("2026-03-02T00:00:00"))
    assert [(f["source"], f["count"]) for f in r.digest.failures] == [("broken", 2)]
    assert "read timed out again" in r.html and "still failing" in r.html
    assert "before the last digest" not in r.html
    assert "broken: 2 failed polls" in r.markdown


def test_two_builders_of_one_date_record_it_once(env, tmp_path: Path) -> None:
    cfg, db = env
    add_item(db, id=1)
    other = store.connect(cfg.db_path)
    a = build(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"))
    b = build(cfg, other, date(2026, 3, 1), now=utc("2026-03-01T05:01:00"))
    assert not a.rebuilt and b.rebuilt and a.total == b.total == 1
    assert db.execute("SELECT count(*) FROM digest_items").fetchone()[0] == 1


# ---------------------------------------------------------------- hostile feed content

XSS = Path(__file__).parent / "fixtures" / "xss"
BAD_TAGS = {"script", "svg", "math", "form", "input", "iframe", "object", "embed", "style", "img", "base",
            "textarea", "button", "template", "noscript", "xmp", "frame", "frameset", "link", "applet", "video",
            "audio", "source", "select", "option", "meta"}


def _assert_safe_html(html: str, where: str) -> None:
    """No active content in the body: no dangerous element, no event handler, no style, links http(s)."""
    import lxml.html

    if html.lstrip().lower().startswith("<!doctype"):
        doc = lxml.html.document_fromstring(html)
        head = doc.find("head")
        # The head is ours alone: charset, viewport, the CSP, the title and the style sheet.
        assert [el.tag for el in head] == ["meta", "meta", "meta", "title", "style"], f"{where}: head changed"
        root = doc.find("body")
    else:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments
        tag = el.tag.lower()
        assert tag not in BAD_TAGS, f"{where}: <{tag}> survived: {lxml.html.tostring(el)[:200]!r}"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: handler {name}={value!r} on <{tag}>"
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "background", "cite"):
                assert value.startswith(("http://", "https://")), f"{where}: {name}={value!r} on <{tag}>"
            assert name.lower() != "style", f"{where}: style attribute {value!r} on <{tag}>"
        if tag == "details":  # ours, around the feed summary; a feed's own <details open ontoggle> is not
            assert not el.attrib, f"{where}: <details {dict(el.attrib)}>"
    assert "javascript:" not in " ".join(v.lower() for el in root.iter() if isinstance(el.tag, str)
                                         for v in el.attrib.values())


def _assert_safe_markdown(md: str, where: str) -> None:
    # Every unescaped < must open one of our own <http(s)://...> autolinks; every ]( is escaped.
    for m in re.finditer(r"(?<!\\)<([^>]*)>?", md):
        assert m.group(1).startswith(("http://", "https://")), f"{where}: raw markup {m.group(0)[:80]!r}"
    assert not re.search(r"(?<!\\)\]\(", md), f"{where}: a Markdown link survived"


def _assert_safe_outputs(out_dir: Path, day: str) -> None:
    _assert_safe_html((out_dir / f"{day}.html").read_text(encoding="utf-8"), f"{day}.html")
    _assert_safe_markdown((out_dir / f"{day}.md").read_text(encoding="utf-8"), f"{day}.md")
    feed = ET.parse(out_dir / "feed.atom").getroot()  # parses: nothing broke the XML
    ns = {"a": "http://www.w3.org/2005/Atom"}
    for content in feed.findall("a:entry/a:content", ns):
        _assert_safe_html(content.text, "feed.atom entry")
    for link in feed.iter("{http://www.w3.org/2005/Atom}link"):
        assert link.get("href").startswith("file://")


def _vectors() -> dict:
    import yaml

    return yaml.safe_load((XSS / "vectors.yaml").read_text(encoding="utf-8"))


def test_no_xss_vector_survives_into_any_digest_output(env) -> None:
    cfg, db = env
    v = _vectors()
    links = v["links"] + ["https://ok.example/fine"] * len(v["html"])
    for i, (vector, link) in enumerate(zip(v["html"] + v["html"][: len(v["links"])], links), start=1):
        add_item(db, id=i, title=f"H20 {vector}", summary=f"Nvidia H20 {vector} export", summary_html=vector,
                 link=link, source=f"src{vector[:20]}" if i % 5 == 0 else "wire",
                 hits=[{"topic": "chips", "term": "h20", "field": "title", "start": 0, "end": 3, "weight": 3}],
                 keywords=["H20", vector])
        add_item(db, id=1000 + i, title=vector, link=link, duplicate_of=f"item:{i}", source="mirror")
    r = make_digest(cfg, db, date(2026, 3, 1), now=utc("2026-03-01T05:00:00"))
    assert r.digest.total == len(links)
    _assert_safe_outputs(cfg.state_dir / "digests", "2026-03-01")
    # Escaped, not dropped: the reader still sees what the feed said, as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.html
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in r.markdown
    # Harmless markup in the summary is kept.
    assert '<a href="https://ok.example/" rel="noopener noreferrer nofollow">handler on a good link</a>' in r.html


def test_hostile_feed_carried_through_poll_to_the_digest(tmp_path: Path, feed_server) -> None:
    from util import run_cli, write_config

    url = feed_server.add("/hostile.rss", (XSS / "hostile.rss").read_bytes())
    cfg = write_config(tmp_path, [{"name": "hostile", "url": url}], extra="digest: {timezone: UTC}")
    run_cli(cfg, "poll")
    db = store.connect(tmp_path / "state" / "watcher.db")
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 3
    run_cli(cfg, "digest")
    day = datetime.now(timezone.utc).date().isoformat()
    shown = db.execute("SELECT count(*) FROM digest_items").fetchone()[0]
    assert shown >= 1, "no hostile item reached the digest, so this test checks nothing"
    _assert_safe_outputs(tmp_path / "state" / "digests", day)
