"""What `watcher show` says about where an item's text came from. Pure: takes the item's row."""

from __future__ import annotations

from .. import display

# page_status codes (store/fulltext.py) in words, for the short form; page_note has the details.
_FAILED = {"robots": "robots.txt forbids it", "not_html": "not an HTML page", "encoding": "unreadable encoding",
           "no_text": "no article text found", "extract_error": "the extractor failed",
           "deferred": "the host asked us to wait", "timeout": "timed out", "too_large": "too large",
           "bad_url": "not an http(s) address", "http_4xx": "refused (4xx)", "http_5xx": "server error (5xx)",
           "rate_limited": "rate limited"}


def text_origin(item: dict) -> str:
    status = item.get("page_status")
    note = display.shorten(item.get("page_note") or "", display.SUMMARY_CHARS)
    if item.get("content_source") == "page":
        when = (item.get("page_fetched_at") or "")[:16].replace("T", " ")
        return (f"from the article page ({len(item.get('content') or ''):,} characters, fetched {when}); "
                f"the feed's summary is kept for display")
    if status is None:
        return "from the feed (no page considered: stored before full text, or `fulltext` not run)"
    if status == "skipped":
        return f"from the feed (page not fetched: {note})"
    return f"from the feed; fetching the page failed: {_FAILED.get(status, status)}" + (f": {note}" if note else "")
