"""Turn fetched feed bytes into text that is safe to hand to any XML parser.

Neither feedparser nor fastfeedparser is safe on hostile XML by itself: feedparser's loose
(sgmllib) fallback expands the internal entities that expat refused, so a 130 KB feed declaring one
big entity referenced many times grows into a gigabyte string, and lxml-based parsers are one flag
away from reading `SYSTEM "file:///etc/passwd"`. Instead of trusting parser flags, we take the
weapon away before any parser runs:

- the DOCTYPE (with its internal subset) and any stray <!ENTITY ...> declaration are removed, so
  nothing is ever declared;
- every entity reference that is not one of the five XML entities or a numeric reference is
  rewritten: HTML named entities (&nbsp; &eacute; ..., which real RSS uses without declaring) become
  numeric references, anything else becomes literal text (&amp;name;) so a reference to a removed
  entity shows up as "&name;" rather than expanding or failing the parse;
- a bare "&" (AT&T, unescaped query strings) becomes &amp;, and control characters XML 1.0 forbids
  are dropped, since either one sends feedparser into its slow loose mode for nothing.

CDATA sections and comments are left alone: their content is literal. Everything here is a linear
scan (str.find and non-backtracking regexes), so hostile input cannot make the scan itself slow.

`decode()` picks the text encoding (BOM, then whether the bytes are valid or mostly valid UTF-8, then
what the HTTP header and the XML declaration say) because a header that says iso-8859-1 over UTF-8
bytes is common and would otherwise garble Vietnamese or Chinese text, and one stray byte in a UTF-8
feed must cost one character, not the whole feed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.entities import html5, name2codepoint

__all__ = ["Neutralised", "decode", "neutralise", "prepare"]

_UTF8_DECL = '<?xml version="1.0" encoding="utf-8"?>'
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})

# An "&" that does not start one of the references XML itself understands. Numeric references are
# bounded in length so the lookahead stays cheap and absurd ones (&#99999999999;) get escaped.
# The name (if any) is captured so one pass both finds and rewrites the reference.
_BAD_AMP = re.compile(
    r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)(?:([A-Za-z][A-Za-z0-9._-]{0,63});)?"
)
# Characters XML 1.0 does not allow anywhere, not even as references; expat stops at them.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A numeric reference: each is checked against the characters XML allows (see _fix_char_ref).
_NUM_REF = re.compile(r"&#(?:([0-9]{1,7})|[xX]([0-9a-fA-F]{1,6}));")
_DECL_START = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL = re.compile(r"<\?xml[^>]{0,200}\?>")
_XML_DECL_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)


def _html_entity_ref(name: str) -> str | None:
    """The numeric reference(s) for an HTML named entity, or None if HTML does not know it."""
    cp = name2codepoint.get(name)
    if cp is not None:
        return f"&#{cp};"
    text = html5.get(name + ";")
    if text is not None:
        return "".join(f"&#{ord(c)};" for c in text)
    return None


@dataclass
class Neutralised:
    """The text to parse and what was changed to make it safe; `notes` go into FeedData.problem."""

    text: str
    notes: list[str] = field(default_factory=list)
    removed_declarations: int = 0
    unknown_entities: dict[str, int] = field(default_factory=dict)
    added_prefix: int = 0  # characters put in front of line 1 (error columns there shift by this)


def _declaration_end(text: str, start: int) -> int:
    """The index just past a <!DOCTYPE ...> or <!ENTITY ...> declaration starting at `start`.

    Quoted strings, an internal subset in [...] and comments inside it may all contain '>', so they
    are stepped over whole. An unterminated declaration runs to the end of the text.
    """
    n = len(text)
    i = start + 2
    depth = 0
    while i < n:
        ch = text[i]
        if ch == '"' or ch == "'":
            j = text.find(ch, i + 1)
            if j < 0:
                return n
            i = j + 1
            continue
        if ch == "<" and text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                return n
            i = j + 3
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == ">" and depth == 0:
            return i + 1
        # Jump to the next character that can matter instead of stepping one by one: an internal
        # subset can be 100s of KB of entity text.
        nxt = n
        for mark in ('"', "'", "<", "[", "]", ">"):
            k = text.find(mark, i + 1, nxt)
            if k >= 0:
                nxt = k
        i = nxt
    return n


def _fix_amp(match: re.Match[str], unknown: dict[str, int]) -> str:
    name = match.group(1)
    if name is None:
        unknown[""] = unknown.get("", 0) + 1  # counted under "": a bare ampersand
        return "&amp;"
    numeric = _html_entity_ref(name)
    if numeric is not None:
        return numeric
    unknown[name] = unknown.get(name, 0) + 1
    return "&amp;" + name + ";"


def _fix_char_ref(match: re.Match[str], unknown: dict[str, int]) -> str:
    """A reference to a character XML does not allow makes expat refuse the document and crashed
    feedparser's loose parser (`&#xD800;`: a lone surrogate cannot be encoded). A surrogate or a code
    point beyond Unicode stood for some character: it becomes U+FFFD. A control character or U+FFFE/
    U+FFFF is dropped, as the same character written literally is."""
    dec, hexa = match.group(1), match.group(2)
    cp = int(dec) if dec is not None else int(hexa, 16)
    if cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF:
        return match.group(0)
    unknown["#"] = unknown.get("#", 0) + 1  # counted under "#": a reference to a forbidden character
    return "&#xFFFD;" if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF else ""


def _neutralise_segment(seg: str, unknown: dict[str, int]) -> str:
    if "&" not in seg:
        return seg
    if "&#" in seg:
        seg = _NUM_REF.sub(lambda m: _fix_char_ref(m, unknown), seg)
    return _BAD_AMP.sub(lambda m: _fix_amp(m, unknown), seg)


# The characters _BAD_CHARS matches, as UTF-8: the control characters are single bytes that no other
# character's encoding contains, U+FFFE and U+FFFF three bytes each.
_BAD_BYTES = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_NONCHARS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def _has_bad_chars(text: str) -> bool:
    """_BAD_CHARS.search(text) is not None, several times faster on a long text: bytes.translate deletes
    bytes at C speed where the regex tests every character against its class."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _BAD_BYTES)) != len(data)
    data = text.encode("utf-8", "surrogatepass")
    return len(data.translate(None, _BAD_BYTES)) != len(data) or _NONCHARS[0] in data or _NONCHARS[1] in data


def neutralise(text: str) -> Neutralised:
    """Remove DOCTYPE/ENTITY declarations and make every entity reference harmless (see module doc)."""
    result = Neutralised(text="")
    if _has_bad_chars(text):
        count = len(_BAD_CHARS.findall(text))
        text = _BAD_CHARS.sub("", text)
        result.notes.append(f"dropped {count} control character(s) that XML does not allow")

    # Leading junk (whitespace, a stray byte, a PHP warning) before the first tag makes expat refuse
    # the whole document, so cut it.
    first = text.find("<")
    if first > 0:
        junk = text[:first]
        if junk.strip():
            result.notes.append(f"ignored {len(junk)} character(s) of text before the first tag: {junk.strip()[:40]!r}")
        text = text[first:]
    elif first < 0:
        result.text = text
        return result
    decl = _XML_DECL.search(text, 0, 4096)
    if decl is not None and decl.start() > 0:
        # "<?xml" must come first; anything ahead of it (often another stray tag or a blank) goes.
        result.notes.append("ignored content before the <?xml declaration")
        text = text[decl.start():]

    pieces: list[str] = []
    unknown: dict[str, int] = {}
    for kind, start, end in _sections(text):
        chunk = text[start:end]
        if kind == "text":
            pieces.append(_neutralise_segment(chunk, unknown))
        elif kind == "literal":
            pieces.append(chunk)
        else:
            result.removed_declarations += 1
    result.text = "".join(pieces)
    bare = unknown.pop("", 0)
    forbidden = unknown.pop("#", 0)
    result.unknown_entities = unknown
    if forbidden:
        result.notes.append(f"replaced {forbidden} reference(s) to characters XML does not allow"
                            " (lone surrogates, control characters)")
    if bare:
        result.notes.append(f"escaped {bare} bare '&' (should be &amp; in XML)")
    if result.removed_declarations:
        result.notes.append(
            f"removed {result.removed_declarations} DOCTYPE/ENTITY declaration(s); entities are never expanded"
        )
    if unknown:
        names = ", ".join(f"&{k};" for k in sorted(unknown)[:5])
        more = "" if len(unknown) <= 5 else f" and {len(unknown) - 5} more"
        result.notes.append(f"undefined entity reference(s) kept as text: {names}{more}")
    return result


def _sections(text: str) -> Iterator[tuple[str, int, int]]:
    """Split text into ("text" | "literal" | "declaration", start, end) runs, in order.

    Literal runs are CDATA sections and comments (never rewritten); declaration runs are DOCTYPE and
    ENTITY declarations (dropped). The next position of each kind is cached and only searched again
    once passed, so many sections of one kind cannot make the others be searched over and over.
    """
    n = len(text)
    pos = 0
    nxt = {"cdata": -2, "comment": -2, "decl": -2}

    def find(kind: str) -> int:
        if nxt[kind] != -1 and nxt[kind] < pos:
            if kind == "cdata":
                nxt[kind] = text.find("<![CDATA[", pos)
            elif kind == "comment":
                nxt[kind] = text.find("<!--", pos)
            else:
                # Every declaration starts with "<!": try the pattern only there (a regex search
                # with IGNORECASE tests every character of the text). Text made of "<!" over and
                # over gets the regex search after a while, which does that in C.
                i = text.find("<!", pos)
                tries = 0
                while i >= 0 and _DECL_START.match(text, i) is None:
                    tries += 1
                    if tries > 256:
                        m = _DECL_START.search(text, i)
                        i = m.start() if m else -1
                        break
                    i = text.find("<!", i + 2)
                nxt[kind] = i
        return nxt[kind]

    while pos < n:
        found = [(find(k), k) for k in ("cdata", "comment", "decl")]
        found = [(p, k) for p, k in found if p >= 0]
        if not found:
            yield "text", pos, n
            return
        start, kind = min(found)
        if start > pos:
            yield "text", pos, start
        if kind == "cdata":
            end = text.find("]]>", start + 9)
            end = n if end < 0 else end + 3
            yield "literal", start, end
        elif kind == "comment":
            end = text.find("-->", start + 4)
            end = n if end < 0 else end + 3
            yield "literal", start, end
        else:
            end = _declaration_end(text, start)
            yield "declaration", start, end
        pos = end


# Single-byte encodings that servers declare by habit; real UTF-8 bytes under such a label are far
# more likely than Latin-1 text that happens to be valid UTF-8.
_ALIASES = {
    "iso-8859-1": "cp1252",  # what browsers do: the C1 range is almost always Windows punctuation
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _sniff_utf16(content: bytes) -> str | None:
    if content.startswith(codecs.BOM_UTF32_LE) or content.startswith(codecs.BOM_UTF32_BE):
        return "utf-32"
    if content.startswith(codecs.BOM_UTF16_LE) or content.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    head = content[:4]
    if head[:2] == b"<\x00" and head[2:4] != b"\x00\x00":
        return "utf-16-le"
    if head[:2] == b"\x00<":
        return "utf-16-be"
    return None


def _utf8_share(content: bytes) -> tuple[str, int, int]:
    """The bytes read as UTF-8 with replacement, how many valid non-ASCII characters that read found,
    and how many invalid byte sequences it replaced (each became one U+FFFD)."""
    text = content.decode("utf-8", errors="replace")
    # A U+FFFD the feed really carried is three valid bytes; only the rest are replacements.
    bad = text.count("\ufffd") - content.count(b"\xef\xbf\xbd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return text, non_ascii - bad, bad


def decode(content: bytes, headers: dict[str, str]) -> tuple[str, list[str]]:
    """Bytes to text, and notes about any disagreement between what was declared and what was found.

    Order: a byte order mark (or UTF-16 without one); valid UTF-8; mostly valid UTF-8; the HTTP
    charset; the XML declaration; Windows-1252 (Latin text that declares nothing).

    "Mostly valid UTF-8" (at least as many valid multi-byte characters as broken sequences) is read as
    UTF-8 with each broken sequence replaced by U+FFFD, whatever was declared: one stray byte in one
    item must cost that character, not turn every title of the feed into mojibake by sending the whole
    document to Windows-1252. Text really in a legacy encoding (Windows-125x, GBK, Big5, Shift_JIS)
    almost never forms valid UTF-8 sequences, so it stays far below that share and keeps its own codec.
    """
    notes: list[str] = []
    sniffed = _sniff_utf16(content)
    if sniffed:
        return content.decode(sniffed, errors="replace"), notes

    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "") or ""
    m = _HTTP_CHARSET.search(ctype)
    http_cs = m.group(1) if m else None
    head = content[:1024].decode("ascii", errors="replace")
    decl = _XML_DECL.search(head)
    m = _XML_DECL_ENCODING.search(decl.group(0)) if decl else None
    xml_cs = m.group(1) if m else None
    declared = [c for c in (_codec(http_cs), _codec(xml_cs)) if c]

    def said(wrong: list[str]) -> str | None:
        return http_cs if _codec(http_cs) in wrong else xml_cs

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        wrong = [d for d in declared if d not in ("utf-8",) and not content.isascii()]
        if wrong:
            notes.append(f"declared encoding {said(wrong)!r} but the bytes are valid UTF-8; read as UTF-8")
        return text, notes

    text, good, bad = _utf8_share(content)
    if good >= bad:
        wrong = [d for d in declared if d != "utf-8"]
        where = f"declared encoding {said(wrong)!r} but the bytes are UTF-8 except for" if wrong else "UTF-8 with"
        notes.append(f"{where} {bad} invalid byte sequence(s); each replaced with U+FFFD, the rest kept")
        return text, notes

    for enc in declared:
        if enc == "utf-8":
            continue
        try:
            return content.decode(enc), notes
        except UnicodeDecodeError:
            continue
    for enc in declared:
        if enc != "utf-8":
            notes.append(f"bytes do not fully match the declared encoding {enc!r}; bad bytes replaced")
            return content.decode(enc, errors="replace"), notes
    what = "declared UTF-8 but most non-ASCII bytes are not UTF-8" if declared else (
        "not valid UTF-8 and no usable encoding declared")
    try:
        text = content.decode("cp1252")
        notes.append(f"{what}; read as Windows-1252")
        return text, notes
    except UnicodeDecodeError:
        notes.append(f"{what}; bad bytes replaced")
        return content.decode("utf-8", errors="replace"), notes


def prepare(content: bytes, headers: dict[str, str]) -> Neutralised:
    """decode() then neutralise(): the text every parser in watcher.parse receives.

    The XML declaration is rewritten to say UTF-8 because the text is re-encoded as UTF-8 before it
    reaches the parsers.
    """
    text, notes = decode(content, headers)
    text = text.lstrip("\ufeff")
    result = neutralise(text)
    decl = _XML_DECL.match(result.text)
    if decl is not None:
        result.text = _UTF8_DECL + result.text[decl.end():]
    elif result.text.startswith("<"):
        # Without one, feedparser adds a declaration and a line break, and its error line numbers
        # would be one off from the feed's.
        result.text = _UTF8_DECL + result.text
        result.added_prefix = len(_UTF8_DECL)
    result.notes[:0] = notes
    return result
