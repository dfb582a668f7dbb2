"""What a person sees of feed text: the one place that decides how a feed-supplied string is shown.

The store keeps exactly what a feed said, and `watcher export` gives it back whole. Everything a
person reads (the digest's Markdown, HTML and Atom, the mail made of them, the CLI tables and `show`)
goes through `clean`, and through `shorten` where space is limited:

- Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069) are removed. "\\u202egnp.exe"
  would otherwise read "exe.png", and an unterminated override reverses everything after it up to
  the end of the paragraph, our own text included. The HTML digest also isolates each feed string
  (`<bdi>`, or `dir` on its block), so a field's own direction cannot reorder its neighbours.
- Invisible characters whose only use in a headline is to hide or disguise text are removed: zero
  width space, word joiner, BOM, invisible operators, Mongolian vowel separator, the deprecated
  format controls U+206A-206F (they change how digits and mirrored brackets look), interlinear
  annotation controls (a renderer may hide the annotated text) and tag characters (invisible ASCII;
  kept only inside an emoji flag sequence such as Scotland's, where they are the flag).
- Kept on purpose: LRM, RLM and ALM (U+200E, U+200F, U+061C). They are ordinary characters of
  right-to-left writing: they open no embedding level and cannot reverse a run of letters, they only
  decide on which side a neighbouring bracket, number or full stop sits. Arabic headlines use them
  for exactly that, removing them would misplace the punctuation, and inside an isolated field they
  reach no further than the field. ZWJ and ZWNJ are kept too: they change letter shapes (Persian,
  Indic scripts, emoji sequences), never order.
- C0 and C1 control characters are removed: a terminal obeys ESC sequences, and XML 1.0 forbids
  most of them, so one in a title would make feed.atom unreadable. Line breaks and tabs become
  spaces in one-line text. Noncharacters (U+FFFE, U+FFFF, ...) go as well.
- A base character keeps at most MAX_MARKS combining marks. Real text uses up to about four
  (Vietnamese two); "Zalgo" text stacks hundreds to paint over the lines around it.
- Lone surrogates (a broken encoder's leftovers) become U+FFFD; a terminal cannot print them.

`shorten` cuts at a grapheme-cluster boundary (never between a letter and its marks, or inside an
emoji sequence or a flag), at a space when one is near, and marks the cut with an ellipsis. Cut text
before escaping it for HTML or Markdown, never after, so no entity or tag is cut in half.
"""

from __future__ import annotations

import re
import unicodedata

import regex  # \X (grapheme clusters) and \p{M}; the stdlib re has neither

from .sanitize import clean_html, safe_url

TITLE_CHARS = 300  # a headline in the digest and the CLI tables
SHOW_TITLE_CHARS = 2000  # `watcher show`: more, still bounded; `watcher export` has the whole
SUMMARY_CHARS = 1000  # a summary or excerpt
URL_CHARS = 2048  # longer links are not shown (no browser bar or mail client shows more either)
ERROR_CHARS = 300  # a fetch error, which may quote what a server said
MAX_MARKS = 8
ELLIPSIS = "…"

_DROPPED = [  # inclusive code point ranges
    (0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x84), (0x86, 0x9F),  # C0, C1 (tab, line breaks: see below)
    (0x180E, 0x180E), (0x200B, 0x200B), (0x2060, 0x2064), (0xFEFF, 0xFEFF),  # invisible: MVS, ZWSP, WJ, BOM
    (0x202A, 0x202E), (0x2066, 0x2069),  # bidi embeddings, overrides, isolates and their terminators
    (0x206A, 0x206F),  # deprecated format controls
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0xE0000, 0xE007F),  # tag characters
    (0xFDD0, 0xFDEF), *((p * 0x10000 + 0xFFFE, p * 0x10000 + 0xFFFF) for p in range(17)),  # noncharacters
]
# str.translate is ~20x faster than a regex over a 1 MB title. Emoji tag sequences (black flag, tag
# letters, cancel tag) are flags, though, so text with a black flag takes the slower, careful path.
_DROP_TABLE = dict.fromkeys(c for a, b in _DROPPED for c in range(a, b + 1))
_FLAG_START = "\U0001F3F4"
_DROP = regex.compile("(\U0001F3F4[\U000E0020-\U000E007E]{1,32}\U000E007F)|["
                      + "".join(f"{chr(a)}-{chr(b)}" for a, b in _DROPPED) + "]")
_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_MARKS = regex.compile(rf"(\p{{M}}{{{MAX_MARKS}}})\p{{M}}+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_GRAPHEME = regex.compile(r"\X", regex.DOTALL)


def clean(text: str | None, *, multiline: bool = False, trim: bool = True) -> str:
    """Feed text as a person may see it (see the module docstring). One line unless `multiline`:
    then line breaks become "\\n" and tabs stay. `trim=False` keeps one space at either end, for
    pieces of a line that are shown side by side (a headline with its keywords highlighted)."""
    if not text:
        return ""
    if _SURROGATE.search(text):
        # Pairs written as two code points are joined; lone halves become U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if _FLAG_START in text:
        text = _DROP.sub(lambda m: m.group(1) or "", text)
    else:
        text = text.translate(_DROP_TABLE)
    if multiline:
        text = _LINE_BREAK.sub("\n", text)
    else:
        words = " ".join(text.split())
        if not trim and words:
            words = (" " if text[0].isspace() else "") + words + (" " if text[-1].isspace() else "")
        text = words if words or trim or not text else " "
    return _MARKS.sub(r"\1", text)


def cut_at(text: str, limit: int) -> int:
    """How much of `text` to keep to show at most `limit` characters: len(text) if it fits, else a
    grapheme-cluster boundary, moved back to a space if there is one in the last fifth."""
    if len(text) <= limit:
        return len(text)
    end = 0
    for m in _GRAPHEME.finditer(text):  # lazy: stops after about `limit` clusters, whatever the length
        if m.end() > limit:
            break
        end = m.end()
    if end == 0:  # one "character" longer than the limit (a chain of thousands of joined emoji)
        return limit
    if not text[end].isspace():
        space = text.rfind(" ", max(0, end - limit // 5), end)
        if space > 0:
            end = space
    return end


def boundary(text: str, pos: int) -> int:
    """The grapheme-cluster boundary at or before `pos` (for slicing raw text by offsets)."""
    if pos <= 0 or pos >= len(text):
        return max(0, min(pos, len(text)))
    start = max(0, pos - 64)  # clusters are short once marks are bounded; 64 code points is plenty
    best = start
    for m in _GRAPHEME.finditer(text, start):
        if m.end() > pos:
            break
        best = m.end()
    return best if best > start or start == 0 else pos


def raw_extent(text: str, limit: int) -> int:
    """How much of raw `text` must be cleaned to show `limit` characters of it: a prefix whose
    cleaned form is longer than `limit`, or all of it. Cleaning a 1 MB title to show 300 characters
    of it would cost a tenth of a second per output; the prefix grows only while the text is mostly
    invisible characters or blanks."""
    window = 4 * limit + 64
    while window < len(text):
        if len(clean(text[:window])) > limit:
            return window
        window *= 4
    return len(text)


def excerpt(text: str | None, limit: int, *, multiline: bool = False) -> tuple[str, bool]:
    """`clean`, then at most `limit` characters, cut where a reader expects it and marked with "…";
    and whether it was cut."""
    raw = text or ""
    t = clean(raw[: raw_extent(raw, limit)], multiline=multiline)
    if len(t) <= limit:
        return t, False
    return t[: cut_at(t, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS, True


def shorten(text: str | None, limit: int, *, multiline: bool = False) -> str:
    return excerpt(text, limit, multiline=multiline)[0]


def url(link: str | None) -> str | None:
    """A link fit to be a link: absolute http(s) (sanitize.safe_url) and not absurdly long. An
    over-long link cannot be shortened (it would lead elsewhere), so it is left out."""
    if link and len(link) > 4 * URL_CHARS:  # more than entity decoding could bring under the limit
        return None
    u = safe_url(link)
    return u if u is not None and len(u) <= URL_CHARS else None


# ---------------------------------------------------------------- terminals

def cells(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide characters two, combining marks none."""
    n = 0
    for c in text:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        n += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return n


def fit(text: str, width: int) -> str:
    """Already-clean one-line text cut to `width` terminal columns, with "…" when cut."""
    if cells(text) <= width:
        return text
    out, used = [], 0
    for m in _GRAPHEME.finditer(text):
        w = cells(m.group())
        if used + w > width - 1:
            break
        out.append(m.group())
        used += w
    return "".join(out).rstrip() + ELLIPSIS


def pad(text: str, width: int) -> str:
    """ljust by terminal columns rather than code points."""
    return text + " " * max(0, width - cells(text))


# ---------------------------------------------------------------- HTML

_TOKEN = re.compile(r'<(?:[^>"]|"[^"]*")*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|[^<&]+|[<&]')
_RAW_FACTOR = 16  # markup per character of text we are prepared to parse before cutting


def html_excerpt(fragment: str | None, limit: int) -> str:
    """Feed HTML sanitised (sanitize.clean_html) with at most about `limit` characters of text.

    The raw input is first bounded (at a point outside any tag or entity, so nothing is decoded
    into something else), then sanitised, then the sanitised markup is walked and cut in a text run,
    and sanitised once more, which closes the tags left open.
    """
    if not fragment:
        return ""
    raw = fragment
    bound = limit * _RAW_FACTOR
    if len(raw) > bound:
        raw = raw[:bound]
        tail = raw[-64:]
        lt, amp = tail.rfind("<"), tail.rfind("&")
        if lt != -1 and ">" not in tail[lt:]:
            raw = raw[: len(raw) - len(tail) + lt]
        elif amp != -1 and ";" not in tail[amp:] and len(tail) - amp <= 12:
            raw = raw[: len(raw) - len(tail) + amp]
    html = clean(clean_html(raw), multiline=True)
    out: list[str] = []
    budget = limit
    for m in _TOKEN.finditer(html):
        tok = m.group()
        if tok.startswith("<") and len(tok) > 1:
            out.append(tok)
            continue
        size = 1 if tok.startswith("&") else len(tok)
        if size <= budget:
            out.append(tok)
            budget -= size
            continue
        if not tok.startswith("&"):
            out.append(tok[: cut_at(tok, budget)].rstrip())
        out.append(ELLIPSIS)
        return clean_html("".join(out))
    return html
