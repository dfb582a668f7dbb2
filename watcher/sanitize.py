"""Make feed content safe to show: HTML through an allow-list, links http(s) only, Markdown escaped.

Feed content is hostile. feedparser's own sanitiser lets `<svg>`, `<form>`, `<input>`, `<math>` and
entity-encoded `javascript:` links through, and titles come back unescaped, so nothing here trusts the
parser: every fragment of feed HTML goes through nh3 (an allow-list: what is not listed is dropped),
every link is checked after decoding, and plain text is escaped by whoever renders it (Jinja's
autoescape for HTML, `md_text` for Markdown).
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

import nh3

# Enough to read a summary: paragraphs, emphasis, lists, quotes, links. No images (tracking pixels,
# and a digest is read offline), no tables, no styles, no forms, no embedded documents.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "em", "i", "li", "ol", "p", "pre", "q",
    "s", "small", "strong", "sub", "sup", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}}
URL_SCHEMES = {"http", "https"}

_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def clean_html(fragment: str | None) -> str:
    """Feed HTML reduced to the allow-list; links keep only http(s) and get rel=noopener."""
    if not fragment:
        return ""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        # Drop the *content* of these, not just the tags: script text shown as prose is still noise.
        clean_content_tags={"script", "style", "svg", "math", "template", "iframe", "object", "noscript"},
        strip_comments=True,
    )


def safe_url(url: str | None) -> str | None:
    """The link if it is an absolute http(s) URL, else None.

    Entities are decoded and control/invisible characters removed first, because that is what a
    browser does before it looks at the scheme: `jav&#x61;script:`, `java\\tscript:` and
    `\\x00javascript:` are all javascript: links to it.
    """
    if not url:
        return None
    text = _CONTROL.sub("", html.unescape(url.strip()))
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.netloc:
        return None
    # Characters that would end an attribute or a Markdown link are percent-encoded; the URL means the same.
    return quote(text, safe=":/?#[]@!$&'*+,;=%~-._")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
_SPACE = re.compile(r"\s+")


def md_text(text: str | None) -> str:
    """Plain text for one line of Markdown: whitespace collapsed, every Markdown/HTML character escaped.

    CommonMark lets any ASCII punctuation be backslash-escaped, so `\\<script>` renders as the text
    `<script>` and never as a tag, and `\\[x\\](y)` never as a link.
    """
    return md_inline(text).strip()


def md_inline(text: str | None) -> str:
    """`md_text` without trimming the ends, for pieces of one line that are joined together."""
    if not text:
        return ""
    return _MD_SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text))
