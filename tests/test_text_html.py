"""html_to_text's rules on the markup feeds really carry, beyond tests/test_parse.py's basics.

The converter streams the parser's events (watcher/text.py); these pin what a reader sees for each
class of markup, including the shapes where a stream and a tree could disagree: elements left open,
end tags for elements never opened, content inside dropped elements, ruby annotations, very deep or
very long markup, and a parse error in the middle of a run of fragments.
"""

from __future__ import annotations

import pytest

from watcher.text import html_to_text

CASES = [
    # (what, html, text)
    ("unclosed block elements still end their paragraph", "<p>one<p>two<div>three", "one\n\ntwo\n\nthree"),
    ("an end tag for nothing open changes nothing", "a</p>b</div>c", "abc"),
    ("inline elements join with their neighbours", "<b>bold</b><i>it</i> <a href='/x'>link</a>", "boldit link"),
    ("a line break inside a heading", "<h2>first<br>second</h2>after", "first\nsecond\n\nafter"),
    ("two line breaks end a paragraph", "a<br><br>b", "a\n\nb"),
    ("junk inside a paragraph drops only the junk", "<p>keep <script>x()</script>this <style>p{}</style>text</p>",
     "keep this text"),
    ("blocks inside junk make no paragraph", "a<nav><p>menu</p><br></nav>b", "ab"),
    ("ruby annotations are not text", "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp>字</ruby>", "漢字"),
    ("comments, doctype and processing instructions are not text",
     "<!DOCTYPE html><?xml-stylesheet x?><p>a<!-- b --></p>", "a"),
    ("entities in markup", "<p>Tom &amp; Jerry&nbsp;&#8212; &lt;b&gt;</p>", "Tom & Jerry — <b>"),
    ("a byte order mark in front", "\ufeff<p>text</p>", "text"),
    ("a stray < is text", "1 < 2 <b>and</b> 3 > 2", "1 < 2 and 3 > 2"),
    ("white space runs inside and across elements", "<p>  a \n\t b  </p>\n\n<p> c </p>", "a b\n\nc"),
    ("only markup, no text", "<img src=x><hr><br>", ""),
]


@pytest.mark.parametrize("html, text", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_html_to_text_rules(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize("html, text", [
    ("<b>" * 100_000 + "unclosed", "unclosed"),  # never closed: no recursion when they all close at the end
    ("<div>" * 20_000 + "deep" + "</div>" * 20_000, "deep"),
    ("<span>x" * 20_000, "x" * 20_000),
    ("<p>x</p>" * 20_000, "\n\n".join(["x"] * 20_000)),
], ids=["100k unclosed", "20k nested blocks", "20k open inline", "20k paragraphs"])
def test_hostile_depth_and_length(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_a_failed_fragment_does_not_spoil_the_next() -> None:
    # A lone surrogate cannot be encoded for the parser: that fragment fails loudly, and the parser
    # state it leaves behind must not leak into the next fragment's text.
    with pytest.raises(UnicodeEncodeError):
        html_to_text("<p>open <b>bold \ud800")
    assert html_to_text("<p>fresh</p>") == "fresh"
    assert html_to_text("plain") == "plain"
