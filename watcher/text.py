"""HTML fragments from feeds to the plain text that matching, dedup and review read.

Paragraph-level elements become "\\n\\n", <br> becomes "\\n", everything else is joined with single
spaces; scripts, styles and page furniture (nav, forms, iframes, ...) are dropped. Entities are
unescaped. Most feed titles and many summaries carry no markup at all, so those never reach
BeautifulSoup: parsing is the expensive part and this runs for every field of every entry.
"""

from __future__ import annotations

import html
import re
import threading

from bs4 import BeautifulSoup, CData, NavigableString, Tag
from bs4.builder import LXMLTreeBuilder  # type: ignore[attr-defined]  # registered at import, not declared
from lxml import etree

__all__ = ["html_to_text", "collapse"]

# Content that is not prose: dropped with everything inside it.
_JUNK = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "form", "button", "select", "option",
        "textarea", "input", "iframe", "object", "embed", "svg", "canvas", "head", "title", "meta",
        "link", "aside", "footer", "header", "menu", "dialog",
    }
)
# Elements that start a new paragraph.
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "main", "blockquote", "pre", "ul", "ol", "li", "dl", "dt",
        "dd", "table", "thead", "tbody", "tfoot", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "figure",
        "figcaption", "hr", "address", "details", "summary", "center", "body", "html",
    }
)
_BREAK = "\x00P"  # paragraph marker; no text node can contain NUL after the XML parser
_LINE = "\x00L"  # <br> marker
_LINES = re.compile(r" *\n *")


def collapse(text: str) -> str:
    """Collapse every run of white space (including non-breaking spaces) to one space, and strip."""
    # str.split() and re's \s agree on what white space is (both Py_UNICODE_ISSPACE); split is faster.
    return " ".join(text.split())


class _Builder(LXMLTreeBuilder):
    """bs4's lxml HTML tree builder, keeping its lxml parser from one fragment to the next.

    The stock builder creates an lxml parser per document, and lxml inspects the target's method
    signatures each time; for a feed's many short fragments that was a sixth of bs4's time. An lxml
    parser is reusable after close(); after an error the builder is dropped (its retry, as bs4 makes
    it, gets a fresh parser, and the next fragment a fresh builder). Attributes are not kept at all:
    this module never reads them.
    """

    def __init__(self) -> None:
        super().__init__(multi_valued_attributes=None)
        self._parsers: dict[str | None, etree.HTMLParser] = {}
        self._no_namespaces: dict[str, str] = dict(self.active_namespace_prefixes[-1])

    def default_parser(self, encoding: str | None) -> etree.HTMLParser:  # type: ignore[override]
        parser = self._parsers.get(encoding)
        if parser is None:
            parser = etree.HTMLParser(target=self, recover=True, huge_tree=self.huge_tree, encoding=encoding)
            self._parsers[encoding] = parser
        return parser

    # lxml's HTML parser reports no namespaces, and this module reads no attributes: bs4 gets the bare
    # tag (the stock start() rebuilds each attribute dict twice and looks for namespaces per tag).
    def start(self, tag: str, attrib: object, nsmap: object = None) -> None:  # type: ignore[override]
        self.soup.handle_starttag(tag, None, None, {}, namespaces=self._no_namespaces)

    def end(self, tag: str) -> None:  # type: ignore[override]
        self.soup.endData()
        self.soup.handle_endtag(tag, None)

    def feed(self, markup: str | bytes) -> None:  # type: ignore[override]
        try:
            super().feed(markup)
        except BaseException:
            self._parsers.clear()
            if getattr(_local, "builder", None) is self:
                _local.builder = None
            raise


_local = threading.local()  # a builder holds parse state: one per thread


def _soup(fragment: str) -> BeautifulSoup:
    builder = getattr(_local, "builder", None)
    if builder is None:
        builder = _local.builder = _Builder()
    return BeautifulSoup(fragment, builder=builder)


def html_to_text(fragment: str | None) -> str:
    """Clean text of an HTML fragment: paragraphs separated by a blank line, spaces collapsed."""
    if not fragment:
        return ""
    if "<" not in fragment:
        if "&" in fragment:
            fragment = html.unescape(fragment)
        return collapse(fragment)

    soup = _soup(fragment)
    out: list[str] = []
    # An explicit stack instead of recursion: hostile HTML can nest thousands of elements deep.
    stack: list[object] = [iter(soup.contents)]
    closers: list[str | None] = [None]
    while stack:
        node = next(stack[-1], None)  # type: ignore[call-overload]
        if node is None:
            stack.pop()
            closer = closers.pop()
            if closer:
                out.append(closer)
            continue
        if isinstance(node, Tag):
            name = node.name
            if name in _JUNK:
                continue
            if name == "br":
                out.append(_LINE)
                continue
            if name in _BLOCK:
                out.append(_BREAK)
                closers.append(_BREAK)
            else:
                closers.append(None)
            stack.append(iter(node.contents))
        elif type(node) is NavigableString or type(node) is CData:
            out.append(node)
        # Comments, doctypes, processing instructions: not text.
    # Source line breaks inside a paragraph are just spaces in HTML: every white space run of the text
    # becomes one space, in one pass over the whole text rather than one per text node (<br> is a
    # marker until then, so it survives as the one line break). Then paragraphs are the pieces
    # between block markers, and two line breaks in a row also end one; each is stripped, so the
    # white space around a block marker goes too.
    text = " ".join("".join(out).split()).replace(_LINE, "\n")
    parts = []
    for piece in text.split(_BREAK):
        for p in piece.split("\n\n") if "\n" in piece else (piece,):
            parts.append(_LINES.sub("\n", p).strip() if "\n" in p else p.strip())
    return "\n\n".join(p for p in parts if p)
