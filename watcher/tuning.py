"""The keyword tuning loop as data: per-term figures (`keywords report`) and what a candidate term or
list would change (`keywords test`). The CLI (watcher/cli/keywords.py) and the review page
(watcher/web) both format these; neither changes the store.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from . import store
from .errors import ConfigError
from .keywords import KeywordList, Rule, Term, check_keywords
from .match import Matcher
from .model import MatchResult
from .report import snippet as hit_snippet

CONTEXT_CHARS = 50  # shown either side of a matched term


@dataclass
class Row:
    id: int
    title: str
    summary: str
    content: str
    language: str | None
    published: str
    relevant: bool
    duplicate_of: str | None
    review_status: str | None


def stored_rows(db: sqlite_utils.Database, since: datetime | None = None) -> Iterator[Row]:
    """Every stored item (published on or after `since`), oldest first, with the text matching reads."""
    for i in store.iter_items(db, since=since, order="published"):
        yield Row(i.id, i.title, i.summary, i.content, i.language, store.iso(i.published), i.relevant,
                  i.duplicate_of, i.review_status)


def match_row(m: Matcher, r: Row) -> MatchResult:
    return m.match(r.title, r.summary, r.content, r.language)


def row_snippet(r: Row, result: MatchResult, terms: set[str] | None = None) -> str:
    """The first hit (of the given terms, if any) with some text either side, on one line."""
    for h in result.hits:
        if terms is None or h.term in terms:
            text = {"title": r.title, "summary": r.summary, "content": r.content}[h.field]
            return f"{h.field}: {hit_snippet(text, h.start, h.end, CONTEXT_CHARS)}"
    return ""


def check_term(text: str, lang: str) -> list:
    """Problems with one candidate term, checked exactly as a keyword list entry is."""
    body = (f"threshold: 1\ntopics:\n  candidate:\n    - weight: 1\n"
            f"      {lang}: [{json.dumps(text, ensure_ascii=False)}]\n")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "term.yaml"
        p.write_text(body, encoding="utf-8")
        _, problems = check_keywords(p)
    return [type(x)("--term", 0, x.message) for x in problems]


def with_term(kl: KeywordList, text: str, lang: str, weight: float | None) -> KeywordList:
    """The current list plus one term, in a topic of its own, weighing the threshold unless told.
    A term the list format would refuse (too short, no letters, a * in the middle) is a ConfigError."""
    problems = check_term(text, lang)
    if problems:
        raise ConfigError.from_problems(problems)
    term = Term(text=text, lang=lang, line=0)
    rule = Rule(topic="candidate", weight=weight if weight is not None else kl.threshold, terms=(term,), line=0)
    return KeywordList(threshold=kl.threshold, title_weight=kl.title_weight, context=kl.context,
                       ignore=kl.ignore, rules=kl.rules + (rule,), path=kl.path, topic_lines=kl.topic_lines)


@dataclass
class Trial:
    """What a candidate list would change over the stored items."""

    added: list[tuple[Row, MatchResult]] = field(default_factory=list)  # with the candidate's result
    dropped: list[tuple[Row, MatchResult]] = field(default_factory=list)  # with the current result
    kept: int = 0  # relevant under both


def trial(current: Matcher, candidate: Matcher, rows: Iterable[Row]) -> Trial:
    t = Trial()
    for r in rows:
        old, new = match_row(current, r), match_row(candidate, r)
        if new.relevant and not old.relevant:
            t.added.append((r, new))
        elif old.relevant and not new.relevant:
            t.dropped.append((r, old))
        elif new.relevant:
            t.kept += 1
    return t


def term_report(m: Matcher, rows: Iterable[Row]) -> tuple[list[dict], list[dict]]:
    """Per term of the list: hits, items it alone made relevant, last hit, accepted and rejected in
    review, precision (accepted / decided). Returns (terms that hit, most first; terms that never hit)."""
    kl = m.list
    stats: dict[tuple[str, str], dict] = {}
    for topic, t in kl.terms():
        stats.setdefault((topic, t.text), {"topic": topic, "term": t.text, "lang": t.lang, "line": t.line,
                                           "hits": 0, "alone": 0, "last_hit": None, "accepted": 0,
                                           "rejected": 0})
    for r in rows:
        res = match_row(m, r)
        contrib: dict[tuple[str, str], float] = {}
        for h in res.hits:
            value = h.weight * (kl.title_weight if h.field == "title" else 1.0)
            key = (h.topic, h.term)
            contrib[key] = max(contrib.get(key, 0.0), value)
        for key, value in contrib.items():
            s = stats.get(key)
            if s is None:
                continue
            s["hits"] += 1
            if res.relevant and res.score - value < kl.threshold:
                s["alone"] += 1
            if s["last_hit"] is None or r.published > s["last_hit"]:
                s["last_hit"] = r.published
            if r.review_status in ("accepted", "rejected"):
                s[r.review_status] += 1
    for s in stats.values():
        decided = s["accepted"] + s["rejected"]
        s["precision"] = round(s["accepted"] / decided, 3) if decided else None
    rows_ = list(stats.values())
    used = sorted((s for s in rows_ if s["hits"]), key=lambda s: (-s["hits"], s["topic"], s["term"]))
    never = [s for s in rows_ if not s["hits"]]
    return used, never
