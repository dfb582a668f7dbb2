"""Issue 9, items 6 and 9, and the small display faults: what a person sees of feed text.

Classes of fault, each checked in every output a person reads (the digest's Markdown, HTML and Atom,
`watcher review list` and `watcher show`):
- spoofing text (bidi overrides, embeddings, isolates, invisible and control characters), from
  tests/fixtures/display/spoof_cases.yaml, in titles, summaries, source names and link text;
- characters right-to-left and other scripts need, which must survive;
- huge fields (1 MB titles with and without spaces, 1 MB summaries, 10k combining marks, huge links);
- names in the review table never cut.
The store keeps what the feed said in every case. `show`'s figures: test_harden_show_points.py; CSV
formulas: test_harden_csv_export.py.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import unicodedata
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import lxml.html
import pytest
import regex
import yaml
from click.testing import CliRunner

from test_digest import add_item, make_cfg, utc
from util import write_config
from watcher import display, store
from watcher.cli import cli
from watcher.digest import make_digest

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "display" / "spoof_cases.yaml").read_text("utf-8"))
SPOOF, KEPT = CASES["spoof"], CASES["kept"]
DAY = date(2026, 3, 1)
NOW = utc("2026-03-01T05:00:00")
# Everything display.clean removes; none of it may reach a person.
STRIPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u180e\u200b\u202a-\u202e\u2060-\u2064\u2066-\u206f"
                      "\ufeff\ufff9-\ufffb\ufffe\uffff\u2028\u2029\U000E0000-\U000E007F]")
ATOM = "{http://www.w3.org/2005/Atom}"


def _cli(cfg_path: Path, *args: str, columns: int | None = None) -> str:
    env = {"COLUMNS": str(columns)} if columns else {}
    r = CliRunner().invoke(cli, ["--config", str(cfg_path), *args], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def _project(tmp_path: Path) -> tuple[Path, object]:
    """A config on disk (for the CLI) and the store the digest and the CLI share."""
    cfg_path = write_config(tmp_path, [{"name": "wire", "url": "http://127.0.0.1:9/feed.xml"}])
    return cfg_path, store.connect(tmp_path / "state" / "watcher.db")


def _text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]*>", "", html))


def _md_text(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _outputs(tmp_path: Path, cfg_path: Path, db, columns: int | None = None) -> dict[str, str]:
    """Every place feed text reaches a person, as the text they read."""
    r = make_digest(make_cfg(tmp_path), db, DAY, now=NOW)
    out = tmp_path / "state" / "digests"
    try:  # strict XML: a control character in a title would make the feed unreadable
        feed = ET.parse(out / "feed.atom").getroot()
        atom_html = "".join(c.text or "" for c in feed.iter(f"{ATOM}content"))
    except ET.ParseError as e:
        atom_html = f"feed.atom is not XML: {e}"
    return {
        "markdown": _md_text((out / "2026-03-01.md").read_text("utf-8")),
        "html": _text_of((out / "2026-03-01.html").read_text("utf-8")),
        "atom": _text_of(atom_html),
        "mail text": _md_text(r.markdown),
        "review list": _cli(cfg_path, "review", "list", "--status", "all", columns=columns),
    }


# ---------------------------------------------------------------- spoofing (item 6)

@pytest.fixture(scope="module")
def spoofed(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("spoof")
    cfg_path, db = _project(tmp_path)
    cases = SPOOF + KEPT
    for i, c in enumerate(cases, start=1):
        text = c["text"]
        add_item(db, id=i, title=text, summary=text, summary_html=f"<p>{text}</p>", source=f"s{i} {text}")
        # A repost: the original's digest entry links it under its source name (link text).
        add_item(db, id=1000 + i, title=text, source=f"r{i} {text}", duplicate_of=f"item:{i}")
    outputs = _outputs(tmp_path, cfg_path, db, columns=250)
    outputs["review list (piped)"] = _cli(cfg_path, "review", "list", "--status", "all")
    shows = {i: _cli(cfg_path, "show", str(i)) for i in range(1, len(cases) + 1)}
    return db, outputs, shows


@pytest.mark.parametrize("case", SPOOF, ids=[c["name"] for c in SPOOF])
def test_spoofing_text_is_shown_in_logical_order_everywhere(spoofed, case: dict) -> None:
    db, outputs, shows = spoofed
    i = SPOOF.index(case) + 1
    want = case["shows"]
    for where, text in outputs.items():
        assert want in text, f"{where}: {want!r} not shown"
        assert f"s{i} {want}" in text, f"{where}: source name not shown as {f's{i} {want}'!r}"
    for where in ("markdown", "html", "atom"):
        assert f"r{i} {want}" in outputs[where], f"{where}: the 'also in' link text"
    assert want in shows[i] and f"s{i} {want}" in shows[i]
    assert not STRIPPED.search(shows[i].replace("\n", "")), f"show: {shows[i]!r}"
    # The store keeps what the feed said.
    assert db.execute("SELECT title FROM items WHERE id = ?", [i]).fetchone()[0] == case["text"]


def test_no_control_or_bidi_override_reaches_any_output(spoofed) -> None:
    _, outputs, shows = spoofed
    for where, text in [*outputs.items(), *((f"show {i}", t) for i, t in shows.items())]:
        text = re.sub("\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F", "", text)  # a flag is not smuggled text
        found = {f"U+{ord(m.group()):04X}" for m in STRIPPED.finditer(text.replace("\n", ""))}
        assert not found, f"{where} shows {sorted(found)}"


@pytest.mark.parametrize("case", KEPT, ids=[c["name"] for c in KEPT])
def test_marks_and_joiners_that_scripts_need_are_kept(spoofed, case: dict) -> None:
    _, outputs, shows = spoofed
    i = len(SPOOF) + KEPT.index(case) + 1
    for where, text in [*outputs.items(), ("show", shows[i])]:
        assert case["text"] in text, f"{where}: {case['text']!r} lost a character it needs"


def test_html_puts_each_feed_string_in_its_own_bidi_isolate(tmp_path: Path) -> None:
    """An Arabic source name next to Latin text, a failed source's error: each is isolated, so its
    direction cannot pull the neighbouring words (the dot, the language, the time) around."""
    cfg = make_cfg(tmp_path)
    db = store.connect(cfg.db_path)
    add_item(db, id=1, title="رقائق إنفيديا", language="ar", source="الجزيرة", summary="ملخص",
             summary_html="<p>ملخص</p>", keywords=["رقائق"])
    add_item(db, id=2, title="repost", source="مرآة", duplicate_of="item:1")
    db.execute("INSERT INTO sources (name, url, last_error_kind) VALUES ('مصدر', 'http://127.0.0.1:9/', 'http')")
    db.execute("INSERT INTO fetches (source, url, started_at, outcome, error) VALUES (?, ?, ?, ?, ?)",
               ["مصدر", "http://127.0.0.1:9/", "2026-03-01T01:00:00+00:00", "http_error", "HTTP 500 خطأ"])
    page = make_digest(cfg, db, DAY, now=NOW).html
    doc = lxml.html.fromstring(page)
    checked = 0
    for feed_text in ("الجزيرة", "مرآة", "رقائق إنفيديا", "ملخص", "رقائق", "مصدر", "HTTP 500 خطأ"):
        nodes = [t for t in doc.xpath("//text()") if feed_text in t and t.getparent().tag not in ("title",)]
        assert nodes, f"{feed_text!r} is not on the page"
        for t in nodes:
            el = t.getparent()
            chain = [el, *el.iterancestors()]
            assert any(a.tag == "bdi" or a.get("dir") for a in chain[:3]), \
                f"{feed_text!r} sits in <{el.tag}> without a bidi isolate"
            checked += 1
    assert checked >= 7


def test_clean_repairs_surrogates_and_bounds_combining_marks() -> None:
    # Lone surrogates cannot be stored by SQLite, but can come from a JSON feed's "\ud800" escape.
    assert display.clean("a\ud800b") == "a\ufffdb"
    assert display.clean("\ud83d\ude00 ok") == "\U0001F600 ok"  # a pair written as two halves
    zalgo = display.clean("H" + "\u0301\u0308" * 500 + "20")
    assert zalgo.startswith("H") and zalgo.endswith("20") and len(zalgo) == 3 + display.MAX_MARKS
    nfd = unicodedata.normalize("NFD", "Việt Nam")  # two marks on ệ: both stay
    assert display.clean(nfd) == nfd


# ---------------------------------------------------------------- huge fields (item 9)

MB = 1_000_000
VIET_NFD = unicodedata.normalize("NFD", "Việt ")  # e, combining dot below, combining circumflex
HUGE = [
    ("1 MB title with spaces", dict(title="word " * (MB // 5))),
    ("1 MB title without spaces", dict(title="x" * MB)),
    ("1 MB Chinese title", dict(title="芯片出口管制" * (MB // 6))),
    ("Vietnamese NFD title, spaces", dict(title=VIET_NFD * (MB // 7))),
    ("Vietnamese NFD title, no spaces", dict(title=VIET_NFD.strip() * (MB // 6))),
    ("10k combining marks", dict(title="H" + "\u0301" * 10_000 + "20 Nvidia")),
    ("1 MB of invisible characters, then the title", dict(title="\u200b\u202e" * (MB // 2) + "Nvidia H20 ban")),
    ("1 MB summary", dict(summary="Nvidia H20 " * (MB // 11), summary_html="<p>Nvidia <b>H20</b></p>" * (MB // 25))),
    ("1 MB unbroken summary", dict(summary="y" * MB, summary_html="<p>" + "y" * MB + "</p>")),
    ("1 MB link", dict(link="https://news.example/" + "a" * MB)),
]


def _columns(line: str) -> int:
    """Terminal columns a line takes: marks composed away (NFC), wide East Asian characters two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in unicodedata.normalize("NFC", line))


def _headline(page: str) -> str:
    h3 = lxml.html.fromstring(page).xpath("//h3")
    assert len(h3) == 1
    return h3[0].text_content()


def _assert_cut_between_clusters(shown: str, original: str) -> None:
    """What is shown is the start of the (cleaned) original, cut where no mark is torn off its letter."""
    clean = display.clean(original)
    body = shown.removesuffix(display.ELLIPSIS).rstrip()
    assert clean.startswith(body), "the shown text is not the start of the original"
    if len(body) < len(clean):
        assert not unicodedata.combining(clean[len(body)]), f"cut before a combining mark: {body[-6:]!r}"


@pytest.mark.parametrize("what,fields", HUGE, ids=[h[0] for h in HUGE])
def test_a_huge_field_is_shown_bounded_and_stored_whole(tmp_path: Path, what: str, fields: dict) -> None:
    cfg_path, db = _project(tmp_path)
    add_item(db, id=1, **fields)
    add_item(db, id=2, duplicate_of="item:1", source="mirror", **fields)
    outputs = _outputs(tmp_path, cfg_path, db, columns=160)
    out = tmp_path / "state" / "digests"
    for name in ("2026-03-01.md", "2026-03-01.html", "feed.atom"):
        size = (out / name).stat().st_size
        assert size < 200_000, f"{name} is {size:,} bytes for one item"
    page = (out / "2026-03-01.html").read_text("utf-8")
    headline = _headline(page)
    assert 0 < len(headline) <= display.TITLE_CHARS
    title = fields.get("title", "Nvidia H20 export rules")
    _assert_cut_between_clusters(headline, title)
    if len(display.clean(title)) <= display.TITLE_CHARS:
        assert headline == display.clean(title)
    assert not regex.search(rf"\p{{M}}{{{display.MAX_MARKS + 1}}}", headline), "a stack of marks paints over the page"
    assert all(len(h) <= display.URL_CHARS for h in re.findall(r'href="([^"]*)"', page))
    assert all(_columns(line) <= 160 for line in outputs["review list"].splitlines())
    shown = _cli(cfg_path, "show", "1")
    assert len(shown) < 20_000
    if len(display.clean(title)) > display.SHOW_TITLE_CHARS:
        assert "`watcher export` has it whole" in shown
    if "link" in fields:
        assert "character link; `watcher export` has it whole" in shown
    # Stored whole; export gives it back whole.
    row = db.execute("SELECT title, summary, link FROM items WHERE id = 1").fetchone()
    for k, v in zip(("title", "summary", "link"), row):
        if k in fields:
            assert v == fields[k]
    exported = json.loads(_cli(cfg_path, "export").splitlines()[0])
    assert exported["title"] == row[0]


def test_a_cut_title_ends_at_a_word_when_one_is_near(tmp_path: Path) -> None:
    words = "Nvidia resumes H20 sales to China after export licence talks " * 20
    shown = display.shorten(words, display.TITLE_CHARS)
    assert shown.endswith("…") and len(shown) <= display.TITLE_CHARS
    assert words.startswith(shown[:-1]) and words[len(shown) - 1] == " "


def test_the_summary_html_is_cut_between_tags_and_entities() -> None:
    html = "<p>AT&amp;T and <b>Nvidia &lt;H20&gt;</b> " + "chips " * 2000 + "</p>"
    cut = display.html_excerpt(html, 100)
    assert len(_text_of(cut)) <= 101 and cut.endswith("</p>") and "&amp;T" in cut and "&lt;H20&gt;</b>" in cut
    assert display.html_excerpt("<p>x &amp; " + "&amp;" * 50_000 + "</p>", 20).count("&amp;") <= 20


# ---------------------------------------------------------------- the review table

LONG_SOURCE = "bbc-vietnamese-business-desk"  # longer than the 14 characters the table used to keep
LONG_TOPIC = "smuggling-remote-compute"  # longer than 16


@pytest.mark.parametrize("columns", [None, 200, 100, 60], ids=["piped", "200 columns", "100 columns", "60 columns"])
def test_review_table_never_cuts_a_name_the_user_types_back(tmp_path: Path, columns: int | None) -> None:
    cfg_path, db = _project(tmp_path)
    add_item(db, id=1, source=LONG_SOURCE, topics=[LONG_TOPIC, "export-controls"], title="Nvidia chips " * 30)
    add_item(db, id=2, source="vnexpress", topics=["chinese-ai-chips"], title="Short one")
    listed = _cli(cfg_path, "review", "list", columns=columns)
    assert LONG_SOURCE in listed and f"{LONG_TOPIC},export-controls" in listed
    if columns:
        # A line wider than the terminal holds only names (the terminal wraps it); titles fit.
        for line in listed.splitlines():
            assert len(line) <= columns or "Nvidia" not in line, f"{columns} columns: {line!r}"
        assert any("Nvidia chips" in line for line in listed.splitlines())
    # Columns line up: every source starts in the same column.
    rows = {line.split()[0]: line for line in listed.splitlines() if line.lstrip()[:1].isdigit()}
    assert rows["1"].index(LONG_SOURCE) == rows["2"].index("vnexpress")
    # What the table shows can be typed back.
    again = _cli(cfg_path, "review", "list", "--source", LONG_SOURCE, "--topic", LONG_TOPIC)
    assert [line.split()[0] for line in again.splitlines() if line.lstrip()[:1].isdigit()] == ["1"]
