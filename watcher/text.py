"""HTML fragments from feeds to the plain text that matching, dedup and review read.

Paragraph-level elements become "\\n\\n", <br> becomes "\\n", everything else is joined with single
spaces; scripts, styles and page furniture (nav, forms, iframes, ...) are dropped. Entities are
unescaped. Most feed titles and many summaries carry no markup at all, so those never reach
BeautifulSoup: parsing is the expensive part and this runs for every field of every entry.
"""

from __future__ import annotations

import html
import re

from bs4 import BeautifulSoup, CData, NavigableString, Tag

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
_SPACE_RUN = re.compile(r"\s+")
_PARAS = re.compile(r"(?:\s*\x00P\s*)+")
_LINES = re.compile(r" *\n *")


def collapse(text: str) -> str:
    """Collapse every run of white space (including non-breaking spaces) to one space, and strip."""
    return _SPACE_RUN.sub(" ", text).strip()


def html_to_text(fragment: str | None) -> str:
    """Clean text of an HTML fragment: paragraphs separated by a blank line, spaces collapsed."""
    if not fragment:
        return ""
    if "<" not in fragment:
        if "&" in fragment:
            fragment = html.unescape(fragment)
        return collapse(fragment)

    soup = BeautifulSoup(fragment, "lxml")
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
                out.append("\n")
                continue
            if name in _BLOCK:
                out.append(_BREAK)
                closers.append(_BREAK)
            else:
                closers.append(None)
            stack.append(iter(node.contents))
        elif type(node) is NavigableString or type(node) is CData:
            # Source line breaks inside a paragraph are just spaces in HTML.
            out.append(_SPACE_RUN.sub(" ", str(node)))
        # Comments, doctypes, processing instructions: not text.
    text = "".join(out)
    text = text.replace("\xa0", " ")
    text = _PARAS.sub("\n\n", text)
    parts = [_LINES.sub("\n", _collapse_spaces(p)).strip() for p in text.split("\n\n")]
    return "\n\n".join(p for p in parts if p)


_HSPACE = re.compile(r"[^\S\n]+")


def _collapse_spaces(text: str) -> str:
    return _HSPACE.sub(" ", text)
