"""Issue 9, item 7: one bad byte must cost one character, not a whole feed.

A Vietnamese feed declared UTF-8 with a single stray byte in one item used to be read as
Windows-1252 from start to finish, so every title became mojibake ("Má»¹ siáº¿t") and no Vietnamese
keyword could match. Now bytes that are mostly UTF-8 are read as UTF-8 and only each broken sequence
becomes U+FFFD; text really in a legacy encoding keeps its codec.

Classes covered, each at the parse layer with both parsers and once through a real local server:
- where the broken bytes sit: title, description, a truncated multi-byte sequence at the end of a
  title and at the very end of the document, a UTF-8-encoded lone surrogate, several bad bytes;
- lone surrogates and other forbidden characters written as numeric references (&#xD800;, &#55296;,
  &#x110000;, &#1;), and as a JSON Feed escape ("\\ud800");
- what declares UTF-8: the HTTP header, the XML declaration, both, neither, or a habitual wrong label
  (iso-8859-1, windows-1252) over UTF-8 bytes;
- scripts: Vietnamese, Arabic, Chinese;
- no regression: feeds really in Windows-1252, GB2312/GBK, Big5, Windows-1256 and undeclared Latin-1
  still decode right, with and without a bad byte of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from util import run_cli, write_config
from watcher.parse import parse_feed, parse_with

VI = [
    ("Mỹ siết kiểm soát xuất khẩu chip AI sang Trung Quốc", "Bộ Thương mại Mỹ đưa thêm công ty vào Danh sách Thực thể."),
    ("Nvidia bị hạn chế bán chip H20", "Huawei Ascend và chip nội địa của Trung Quốc"),
    ("Trung Quốc đáp trả lệnh cấm xuất khẩu", "Bắc Kinh phản ứng mạnh."),
]
# The texts above avoid the five bytes Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) in their
# UTF-8 form, as the feed of the report did: with one of them the old fallback failed over to UTF-8 by
# luck, without them it read the whole feed as Windows-1252. The GBK and Big5 cases need real text.
AR = [
    ("الولايات المتحدة تشدد قيود تصدير الرقائق إلى الصين", "شركة هواوي"),
    ("هواوي تطلق رقائق أسند الجديدة", "قائمة الكيانات الأمريكية"),
    ("الصين ترد على ضوابط التصدير", "وزارة التجارة"),
]
ZH = [
    ("美国加强芯片管控", "英伟达 H20 芯片"),
    ("昇腾新芯片上市", "中芯国际 7纳米 工艺"),
    ("中国商务部回应", "商务部 新闻稿"),
]
FR = [
    ("Contrôle des exportations : « puces » Nvidia", "Washington durcit les règles – encore."),
    ("Huawei présente sa nouvelle puce", "Le marché réagit à l’annonce."),
    ("La Chine répond", "Pékin dénonce une « coercition »."),
]


def feed_bytes(items: list[tuple[str, str]], encoding: str = "utf-8", decl: str | None = "utf-8",
               hole: str | None = None, bad: bytes = b"", tail: bytes = b"") -> bytes:
    """An RSS feed of `items` encoded as `encoding`, with `bad` bytes put into the middle item's title
    or description (`hole`), and `tail` bytes after the document."""
    head = f'<?xml version="1.0" encoding="{decl}"?>\n' if decl else ""
    parts = [head.encode("ascii"), '<rss version="2.0"><channel><title>Feed</title><link>http://127.0.0.1/</link>\n'
             .encode(encoding)]
    for i, (title, desc) in enumerate(items):
        t, d = title.encode(encoding), desc.encode(encoding)
        if i == 1 and hole == "title":  # in the middle, between two characters
            k = len(title) // 2
            t = title[:k].encode(encoding) + bad + title[k:].encode(encoding)
        if i == 1 and hole == "title-end":
            t = t + bad
        if i == 1 and hole == "description":
            d = d + bad
        parts.append(b"<item><title>" + t + b"</title><link>http://127.0.0.1/n/" + str(i).encode()
                     + b"</link><description>" + d + b"</description></item>\n")
    parts.append(b"</channel></rss>\n" + tail)
    return b"".join(parts)


@dataclass
class Case:
    name: str
    items: list[tuple[str, str]]
    encoding: str = "utf-8"
    decl: str | None = "utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    hole: str | None = None
    bad: bytes = b""
    tail: bytes = b""

    def body(self) -> bytes:
        return feed_bytes(self.items, self.encoding, self.decl, self.hole, self.bad, self.tail)


CT = "content-type"
CASES = [
    # where the bad bytes sit (Vietnamese, declared UTF-8 in the XML declaration)
    Case("stray 0xff in a title", VI, hole="title", bad=b"\xff"),
    Case("stray 0xff in a description", VI, hole="description", bad=b"\xff"),
    Case("truncated multi-byte sequence ending a title", VI, hole="title-end", bad="ệ".encode()[:2]),
    Case("truncated multi-byte sequence ending the document", VI, tail="ệ".encode()[:2]),
    Case("a lone surrogate encoded as UTF-8 bytes", VI, hole="title", bad="\ud800".encode("utf-8", "surrogatepass")),
    Case("several bad bytes in one item", VI, hole="description", bad=b"\x80\xfe\xc0\xaf"),
    # what declares UTF-8
    Case("declared in the HTTP header only", VI, decl=None, headers={CT: "application/rss+xml; charset=utf-8"},
         hole="title", bad=b"\xff"),
    Case("declared in both", VI, headers={CT: "text/xml; charset=UTF-8"}, hole="title", bad=b"\xff"),
    Case("declared nowhere (XML's default is UTF-8)", VI, decl=None, hole="title", bad=b"\xff"),
    Case("HTTP says utf-8, the XML declaration windows-1252", VI, decl="windows-1252",
         headers={CT: "application/xml; charset=utf-8"}, hole="title", bad=b"\xff"),
    Case("a habitual iso-8859-1 label over UTF-8 with a bad byte", VI, decl="iso-8859-1",
         headers={CT: "application/rss+xml; charset=iso-8859-1"}, hole="description", bad=b"\xff"),
    # other scripts
    Case("Arabic with a bad byte", AR, hole="title", bad=b"\xff"),
    Case("Chinese with a truncated sequence", ZH, hole="title-end", bad="芯".encode()[:2]),
]
# Really in a legacy encoding: must decode exactly as before (their own bad byte, if any, is replaced).
LEGACY = [
    Case("windows-1252 in the XML declaration", FR, encoding="cp1252", decl="windows-1252"),
    Case("windows-1252 in the HTTP header only", FR, encoding="cp1252", decl=None,
         headers={CT: "application/rss+xml; charset=windows-1252"}),
    Case("HTTP windows-1252 over an XML declaration that says utf-8", FR, encoding="cp1252", decl="utf-8",
         headers={CT: "application/rss+xml; charset=windows-1252"}),
    Case("Windows-1252 declaring nothing", FR, encoding="cp1252", decl=None),
    Case("GB2312 declared, GBK bytes", ZH, encoding="gbk", decl="gb2312"),
    Case("GBK declared with a bad byte", ZH, encoding="gbk", decl="GBK", hole="title-end", bad=b"\xff"),
    Case("Big5 declared", [("美國收緊對華AI晶片出口管制", "輝達 H20 晶片"), ("華為發布昇騰", "中芯國際"),
                           ("中國回應實體清單", "商務部")], encoding="big5", decl="big5"),
    Case("windows-1256 Arabic declared", AR, encoding="cp1256", decl="windows-1256"),
]


def _titles_ok(titles: list[str], items: list[tuple[str, str]], broken: bool) -> None:
    want = [t for t, _ in items]
    assert len(titles) == 3, titles
    assert titles[0] == want[0] and titles[2] == want[2], titles  # the other items are untouched
    # The broken item loses only the broken character(s): remove the U+FFFDs and it reads as written.
    assert titles[1].replace("\ufffd", "") == want[1], titles[1]
    if broken:
        assert "\ufffd" in titles[1], titles[1]


@pytest.mark.parametrize("parser", [None, "feedparser"])
@pytest.mark.parametrize("case", CASES + LEGACY, ids=[c.name for c in CASES + LEGACY])
def test_a_bad_byte_costs_one_character_not_the_feed(case: Case, parser: str | None) -> None:
    fd = parse_with(parser, case.body(), case.headers, "http://127.0.0.1/feed.xml")
    assert fd.failure is None, fd.failure
    _titles_ok([e.title for e in fd.entries], case.items, broken=case.hole == "title" or case.hole == "title-end")
    summaries = [e.summary for e in fd.entries]
    assert summaries[0] == case.items[0][1] and summaries[2] == case.items[2][1]
    assert summaries[1].replace("\ufffd", "") == case.items[1][1]
    if case.bad or case.tail:
        # Whatever was replaced is said, so `watcher status` / fetches.parse_problem shows it.
        assert fd.problem and ("U+FFFD" in fd.problem or "replaced" in fd.problem), fd.problem


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#xDFFF;", "&#x110000;", "&#1114112;", "&#1;", "&#xFFFE;"])
@pytest.mark.parametrize("parser", [None, "feedparser"])
def test_a_reference_to_a_character_xml_forbids_costs_that_character(ref: str, parser: str | None) -> None:
    # feedparser's loose parser crashed outright on &#xD800; (UnicodeEncodeError): the whole source lost.
    items = [(t, d) for t, d in VI]
    body = feed_bytes(items).replace("chip H20".encode(), f"chip{ref} H20".encode())
    fd = parse_with(parser, body, {}, "http://127.0.0.1/feed.xml")
    assert fd.failure is None, fd.failure
    titles = [e.title for e in fd.entries]
    assert titles[0] == items[0][0] and titles[2] == items[2][0], titles
    # A character was meant where a surrogate or a code point beyond Unicode stands: U+FFFD. A control
    # character is dropped, as a literal one is.
    lost = "" if ref in ("&#1;", "&#xFFFE;") else "\ufffd"
    assert titles[1] == f"Nvidia bị hạn chế bán chip{lost} H20", titles[1]
    assert "not allow" in (fd.problem or ""), fd.problem


def test_a_json_feed_lone_surrogate_escape_becomes_a_replacement_character() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": str(i), "url": f"http://127.0.0.1/n/{i}", "title": t, "content_text": d} for i, (t, d) in enumerate(VI)]}
    text = json.dumps(doc, ensure_ascii=True).replace("chip H20", "chip \\ud800H20")
    fd = parse_feed(text.encode(), {CT: "application/feed+json"}, "http://127.0.0.1/feed.json")
    titles = [e.title for e in fd.entries]
    assert titles[1] == "Nvidia bị hạn chế bán chip \ufffdH20"
    for e in fd.entries:
        (e.title + e.summary + e.content).encode("utf-8")


@pytest.mark.parametrize("case", [c for c in CASES if c.name in (
    "stray 0xff in a title", "declared in the HTTP header only", "a habitual iso-8859-1 label over UTF-8 with a bad byte",
    "a lone surrogate encoded as UTF-8 bytes")], ids=lambda c: c.name)
def test_a_polled_feed_with_a_bad_byte_keeps_its_titles_and_its_vietnamese_matches(feed_server, tmp_path,
                                                                                   case: Case) -> None:
    headers = dict(case.headers)
    ctype = headers.pop(CT, "application/rss+xml")
    url = feed_server.add("/vi.xml", case.body(), content_type=ctype)
    cfg_path = write_config(tmp_path, [{"name": "vn", "url": url, "language": "vi"}])
    out = run_cli(cfg_path, "poll")
    assert "1 ok, 0 failed" in out.stdout and "3 new" in out.stdout, out.stdout
    rows = [json.loads(line) for line in run_cli(cfg_path, "export", "--format", "jsonl").stdout.splitlines()]
    _titles_ok([r["title"] for r in sorted(rows, key=lambda r: r["link"])], case.items, broken=case.hole == "title")
    first = next(r for r in rows if r["link"].endswith("/n/0"))
    # "kiểm soát xuất khẩu" + "chip AI" + "Trung Quốc" + "Danh sách Thực thể": only readable text matches.
    assert first["relevant"] is True, first
    assert any("kiểm soát xuất khẩu" in k.lower() for k in first["keywords"]), first["keywords"]
    status = run_cli(cfg_path, "status").stdout
    assert "vn" in status
