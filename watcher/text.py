"""HTML fragments from feeds to the plain text that matching, dedup and review read.

Paragraph-level elements become "\\n\\n", <br> becomes "\\n", everything else is joined with single
spaces; scripts, styles and page furniture (nav, forms, iframes, ...) are dropped, and so are ruby
annotations (<rt>, <rp>: the reading of a character, not more text). Entities are unescaped. Most feed
titles and many summaries carry no markup at all, so those never reach the parser: parsing is the
expensive part and this runs for every field of every entry.

The fragment goes through lxml's HTML parser (libxml2) with a parser target: the parser reports
start tags, text and end tags as it reads, and the target writes the text out as they come, keeping
only a stack of the open elements. No tree is built, and nothing recurses, so hostile HTML nested
thousands of elements deep costs no more than flat HTML. (Until issue 10 this built a BeautifulSoup
tree from the same parser's events and walked it: the same text, at three times the cost.)
"""

from __future__ import annotations

import html
import re
import threading

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
# Ruby annotations: their own text is dropped, their elements (a <br>, a <p>) still count.
_QUIET = frozenset({"rt", "rp"})
_BREAK = "\x00P"  # paragraph marker; no text node can contain NUL after the XML parser
_LINE = "\x00L"  # <br> marker
_LINES = re.compile(r" *\n *")

# What an open element does when it closes, and to the text inside it.
_INLINE, _PARA, _DROP, _MUTE = 0, 1, 2, 3


def collapse(text: str) -> str:
    """Collapse every run of white space (including non-breaking spaces) to one space, and strip."""
    # str.split() and re's \s agree on what white space is (both Py_UNICODE_ISSPACE); split is faster.
    return " ".join(text.split())


class _Text:
    """An lxml parser target: the text of one fragment, with paragraph and line markers.

    The parser's events always nest; should an end tag ever name an element that is not the innermost
    open one, the elements above it close too, and an end tag for no open element is ignored (as a
    tree builder would do).
    """

    __slots__ = ("out", "names", "kinds", "dropping", "muted")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.out: list[str] = []
        self.names: list[str] = []  # the open elements, outermost first
        self.kinds: list[int] = []
        self.dropping = 0  # open elements whose content is dropped (junk, <br>)
        self.muted = 0  # open <rt>/<rp>

    def start(self, tag: str, attrib: object) -> None:
        if self.dropping:
            kind = _DROP
        elif tag in _JUNK:
            kind = _DROP
        elif tag == "br":
            self.out.append(_LINE)
            kind = _DROP  # a <br> holds nothing; if a parser ever put something in one, it is not text
        elif tag in _BLOCK:
            self.out.append(_BREAK)
            kind = _PARA
        elif tag in _QUIET:
            kind = _MUTE
            self.muted += 1
        else:
            kind = _INLINE
        if kind == _DROP:
            self.dropping += 1
        self.names.append(tag)
        self.kinds.append(kind)

    def end(self, tag: str) -> None:
        names = self.names
        if names and names[-1] == tag:
            self._pop()
        elif tag in names:
            while self._pop() != tag:
                pass

    def _pop(self) -> str:
        kind = self.kinds.pop()
        if kind == _PARA:
            self.out.append(_BREAK)
        elif kind == _DROP:
            self.dropping -= 1
        elif kind == _MUTE:
            self.muted -= 1
        return self.names.pop()

    def data(self, text: str) -> None:
        if not self.dropping and not self.muted:
            self.out.append(text)

    # Comments, doctypes, processing instructions: not text.
    def comment(self, text: str) -> None:
        pass

    def pi(self, target: str, data: str) -> None:
        pass

    def doctype(self, name: str, pubid: str, system: str) -> None:
        pass

    def close(self) -> list[str]:
        while self.names:  # elements still open at the end close there
            self._pop()
        out = self.out
        self.reset()
        return out


class _Parser:
    """A reusable lxml HTML parser and its target, per encoding (None for str input).

    Creating an lxml parser costs more than parsing a short fragment (lxml inspects the target each
    time), and a parser is reusable after close(). After an error both are dropped and made anew."""

    def __init__(self) -> None:
        self.parsers: dict[str | None, tuple[etree.HTMLParser, _Text]] = {}

    def pieces(self, markup: str | bytes, encoding: str | None) -> list[str]:
        pair = self.parsers.get(encoding)
        if pair is None:
            target = _Text()
            pair = self.parsers[encoding] = (etree.HTMLParser(target=target, recover=True, huge_tree=False,
                                                              encoding=encoding), target)
        parser, target = pair
        try:
            parser.feed(markup)
            return parser.close()  # type: ignore[no-any-return]  # the target's close()
        except BaseException:
            self.parsers.clear()
            target.reset()
            raise


_local = threading.local()  # a parser holds parse state: one per thread


def _pieces(fragment: str) -> list[str]:
    """The fragment's text pieces and markers, in document order."""
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = _Parser()
    if fragment[0] == "\ufeff":  # lxml misreads a str that starts with a byte order mark
        fragment = fragment[1:]
    try:
        return p.pieces(fragment, None)
    except (UnicodeDecodeError, LookupError, etree.ParserError):
        # If lxml cannot take the str as it is, it can take its UTF-8.
        return p.pieces(fragment.encode("utf8"), "utf8")
    except BaseException:
        _local.parser = None
        raise


def html_to_text(fragment: str | None) -> str:
    """Clean text of an HTML fragment: paragraphs separated by a blank line, spaces collapsed."""
    if not fragment:
        return ""
    if "<" not in fragment:
        if "&" in fragment:
            fragment = html.unescape(fragment)
        return collapse(fragment)

    out = _pieces(fragment)
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
