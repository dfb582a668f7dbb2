"""Whether to fetch an entry's article page: a pure decision, from the source's setting and the entry.

    never   the feed's text is all there is
    always  every entry with an http(s) link, however long its own text
    auto    (the default) only when both hold:
              - the entry's own text is short: a teaser, not the article (`SHORT_CHARS`), and
              - the item could matter: a term or context word of the keyword list is in its title or
                teaser, or the source is tagged with one of the list's topics (it is on the story, so
                even a bare headline of it may be).

Like Miniflux, which fetches the original only for entries that passed its filters: a feed of sports
news costs no page requests. What `auto` costs on real feeds is measured by bench/fulltext_cost.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..model import EntryData, MatchResult

SETTINGS = ("auto", "always", "never")

# Short means a teaser. Measured on ../shared/realdata/feeds (bench/fulltext_cost.py, 5,703 items of 82
# feeds): per feed, the median entry carries under 260 characters in 50 feeds (title and teaser), over
# 1,200 in 16 (the article), and 360-870 in the rest (a long summary: a paragraph or two). Under 600
# catches every teaser feed and leaves out what already has a paragraph or more, which holds enough
# words around a term for the keyword list's `near:` context to be seen. Moving it to 300 or 1,000
# changes the cost little (16.0 and 21.0 pages per 1,000 items, against 18.6): the keyword test does
# most of the filtering. Chinese says in 600 characters what English says in about 1,500, so a CJK
# character counts `CJK_WEIGHT` times.
SHORT_CHARS = 600
CJK_WEIGHT = 2.5


@dataclass(frozen=True)
class Thresholds:
    short_chars: int = SHORT_CHARS
    cjk_weight: float = CJK_WEIGHT


@dataclass(frozen=True)
class Decision:
    fetch: bool
    why: str  # said in `watcher show` and counted by the benchmark


# Kana, CJK ideographs (with extension A), Hangul syllables, compatibility ideographs. One regex over
# the text, not a Python test per character: this runs for every new entry in the storing process,
# and per character it was 8 of the 14 s that process spent on a 100-feed cold poll (bench/poll.py).
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def own_length(entry: EntryData, cjk_weight: float = CJK_WEIGHT) -> float:
    """How much text the feed itself gives for this entry, in Latin-character equivalents. The summary
    is often the start of the content, so the longer of the two, not their sum."""
    text = entry.content if len(entry.content) >= len(entry.summary) else entry.summary
    text = " ".join(text.split())
    cjk = len(_CJK.findall(text))
    return len(text) - cjk + cjk * cjk_weight


def decide(setting: str, entry: EntryData, match: MatchResult, mentions: Callable[[], bool],
           source_on_topic: bool, thresholds: Thresholds = Thresholds()) -> Decision:
    """Fetch this entry's page? `match` is the keyword match on the feed's own text; `mentions()` says
    whether its title or teaser names a term of the list (Matcher.mentions); `source_on_topic` whether
    the source is tagged with a topic of the keyword list.

    `mentions` is asked only when the answer depends on it (`auto`, a short text, no hit): it scans the
    text again, and computed up front for every new entry it was a fifth of the storing process's CPU
    in a cold poll (bench/poll.py), nearly all of it for entries whose answer was already known."""
    link = entry.link or ""
    if not link.lower().startswith(("http://", "https://")):
        return Decision(False, "no http(s) link")
    if setting == "never":
        return Decision(False, "fulltext: never")
    if setting == "always":
        return Decision(True, "fulltext: always")
    if own_length(entry, thresholds.cjk_weight) >= thresholds.short_chars:
        return Decision(False, "the feed gives the text")
    if match.hits or mentions():
        return Decision(True, "short text with a keyword")
    if source_on_topic:
        return Decision(True, "short text from a source tagged on topic")
    return Decision(False, "short text, nothing on topic")
