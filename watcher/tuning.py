"""Tuning the keyword list against what is stored: `keywords test` and `keywords report`.

Both are pure over the items given (the CLI reads them from the store and prints the result): what
a candidate list would add or drop, and per term how often it hit, how often it alone made an item
relevant, and what reviewers said of the items it hit. Nothing here writes.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import ConfigError, Problem
from .keywords import KeywordList, Rule, Term, check_keywords
from .match import Matcher
from .model import MatchResult
from .store import StoredItem
from .times import iso

__all__ = ["with_term", "Comparison", "compare", "TermStats", "term_report"]


def _check_term(text: str, lang: str) -> list[Problem]:
    body = f"threshold: 1\ntopics:\n  candidate:\n    - weight: 1\n      {lang}: [{json.dumps(text, ensure_ascii=False)}]\n"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "term.yaml"
        p.write_text(body, encoding="utf-8")
        _, problems = check_keywords(p)
    return [Problem("--term", 0, x.message) for x in problems]


def with_term(kl: KeywordList, text: str, lang: str, weight: float | None) -> KeywordList:
    """The current list plus one term, in a topic of its own, weighing the threshold unless told."""
    term = Term(text=text, lang=lang, line=0)
    # Validated the same way a list entry is: too short, no letters, a * in the middle.
    problems = _check_term(text, lang)
    if problems:
        raise ConfigError.from_problems(problems)
    rule = Rule(topic="candidate", weight=weight if weight is not None else kl.threshold, terms=(term,), line=0)
    return KeywordList(threshold=kl.threshold, title_weight=kl.title_weight, context=kl.context,
                       ignore=kl.ignore, rules=kl.rules + (rule,), path=kl.path, topic_lines=kl.topic_lines)


def _match(m: Matcher, item: StoredItem) -> MatchResult:
    return m.match(item.title, item.summary, item.content, item.language)


@dataclass
class Comparison:
    added: list[tuple[StoredItem, MatchResult]] = field(default_factory=list)  # the candidate's match
    dropped: list[tuple[StoredItem, MatchResult]] = field(default_factory=list)  # the current match
    kept: int = 0  # relevant under both

    def terms_behind_added(self, n: int) -> list[tuple[str, int]]:
        """Which terms bring the added items in, most first: a generic word shows at the top at once."""
        return Counter(k for _, res in self.added for k in res.keywords).most_common(n)


def compare(current: Matcher, candidate: Matcher, items: Iterable[StoredItem]) -> Comparison:
    """Which items the candidate list would make relevant, and which it would no longer."""
    out = Comparison()
    for item in items:
        old, new = _match(current, item), _match(candidate, item)
        if new.relevant and not old.relevant:
            out.added.append((item, new))
        elif old.relevant and not new.relevant:
            out.dropped.append((item, old))
        elif new.relevant:
            out.kept += 1
    return out


@dataclass
class TermStats:
    topic: str
    term: str
    lang: str
    line: int
    hits: int = 0
    alone: int = 0  # items it alone made relevant (without it, under the threshold)
    last_hit: str | None = None  # published, UTC ISO text
    accepted: int = 0
    rejected: int = 0


def term_report(matcher: Matcher, items: Iterable[StoredItem]) -> tuple[list[TermStats], list[TermStats]]:
    """(terms that hit, most hits first; terms that never hit, in list order)."""
    kl = matcher.list
    stats: dict[tuple[str, str], TermStats] = {}
    for topic, t in kl.terms():
        stats.setdefault((topic, t.text), TermStats(topic, t.text, t.lang, t.line))
    for item in items:
        res = _match(matcher, item)
        contrib: dict[tuple[str, str], float] = {}
        for h in res.hits:
            value = h.weight * (kl.title_weight if h.field == "title" else 1.0)
            key = (h.topic, h.term)
            contrib[key] = max(contrib.get(key, 0.0), value)
        for key, value in contrib.items():
            s = stats.get(key)
            if s is None:
                continue
            s.hits += 1
            if res.relevant and res.score - value < kl.threshold:
                s.alone += 1
            published = iso(item.published)
            if s.last_hit is None or published > s.last_hit:
                s.last_hit = published
            if item.review_status == "accepted":
                s.accepted += 1
            elif item.review_status == "rejected":
                s.rejected += 1
    rows = list(stats.values())
    used = sorted((s for s in rows if s.hits), key=lambda s: (-s.hits, s.topic, s.term))
    return used, [s for s in rows if not s.hits]
