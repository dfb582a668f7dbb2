"""An article page's main text, date and language: decode the bytes, then trafilatura.

trafilatura with `favor_precision=True` measured best on ../shared/realdata/html_articles (issue 11;
bench/extract.py repeats the measurement): it keeps the article and drops navigation, "most read"
boxes, related links and footers, which is what keeps an off-topic article with on-topic headlines
beside it off-topic. Pure and CPU-bound: it runs in the pipeline's worker processes.

Decoding, because a page's declared charset is often wrong: bytes that are valid UTF-8 are UTF-8
whatever the page says (text in a single-byte charset with any accented letter is almost never valid
UTF-8, so this does not misread real Latin-1 pages); otherwise the declared charset (header, then
<meta>), strictly. Bytes that fit neither are refused with the reason, never turned into mojibake.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime, timezone

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HTML_LANG = re.compile(r"""<html[^>]*\blang\s*=\s*["']?\s*([A-Za-z]{2,3})""", re.I)
_SNIFF_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)", re.I | re.S)
MIN_TEXT_CHARS = 80  # less than a couple of sentences is a failed extraction, not an article


@dataclass(frozen=True)
class Extracted:
    text: str  # "" when there is none; then `status` says why
    status: str  # ok | encoding | not_html | no_text | extract_error
    note: str = ""
    date: datetime | None = None  # from the page's metadata, UTC midnight of its day
    language: str | None = None


def _charset(content_type: str, head: bytes) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip("\"'")
    m = _META_CHARSET.search(head)
    return m.group(1).decode("ascii") if m else None


def decode(content: bytes, content_type: str) -> tuple[str | None, str]:
    """The page as text, or (None, why not)."""
    try:
        return content.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    declared = _charset(content_type, content[:4096])
    if declared:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            return None, f"the page declares the charset {declared!r}, which does not exist"
        if codec != "utf-8":
            try:
                return content.decode(codec), ""
            except UnicodeDecodeError as e:
                return None, f"the page is not the {declared} it declares ({e.reason} at byte {e.start})"
    return None, ("the page declares UTF-8 but is not UTF-8" if declared else
                  "the page declares no charset and is not UTF-8") + "; its text cannot be read reliably"


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value[:10])
    except ValueError:
        return None
    return d.replace(tzinfo=timezone.utc)


def extract_page(content: bytes, content_type: str, url: str) -> Extracted:
    """The main text of one fetched page. Never raises for a bad page."""
    media = content_type.split(";")[0].strip().lower()
    if not media and not _SNIFF_HTML.match(content[:2048]):
        return Extracted("", "not_html", "the page sent no Content-Type and does not start like HTML")
    html, why = decode(content, content_type)
    if html is None:
        return Extracted("", "encoding", why)
    import trafilatura  # here: commands that never extract need not import it

    try:
        text = trafilatura.extract(html, url=url, favor_precision=True, include_comments=False) or ""
        meta = trafilatura.extract_metadata(html, default_url=url)
    except (RecursionError, ValueError, TypeError, AttributeError) as e:
        # lxml and trafilatura on hostile markup (deep nesting, broken trees); the item keeps the feed's text
        return Extracted("", "extract_error", f"the extractor could not read the page ({type(e).__name__})")
    text = text.strip()
    lang_m = _HTML_LANG.search(html[:4096])
    language = (getattr(meta, "language", None) if meta else None) or (lang_m.group(1).lower() if lang_m else None)
    date = _date(meta.date) if meta else None
    if len(text) < MIN_TEXT_CHARS:
        return Extracted("", "no_text", f"the page holds no article text the extractor could find "
                                        f"({len(text)} characters)", date, language)
    return Extracted(text, "ok", "", date, language)
