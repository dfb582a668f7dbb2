"""An article page (HTML) -> its title, date, language and main text, with trafilatura (measured best
of the extractors by the full-text issue, which shares it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import trafilatura

from ..parse import iso_utc


@dataclass(frozen=True)
class Article:
    title: str
    text: str
    published: datetime | None
    language: str | None


def extract(html: bytes, url: str) -> Article | None:
    """None when the page has no main text trafilatura can find."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    if doc is None:
        return None
    text = getattr(doc, "text", None) or ""
    if not text.strip():
        return None
    date = getattr(doc, "date", None)
    return Article(title=getattr(doc, "title", None) or "", text=text,
                   published=iso_utc(date) if isinstance(date, str) else None,
                   language=getattr(doc, "language", None))
