"""Topic matching: score an item's title, summary and content against the keyword list.

The whole list (terms, context words, exclusions, ignored phrases) is compiled once into one
Aho-Corasick automaton over *folded* text (normalize.fold), so one pass over each field finds every
candidate, whatever the number of terms. Each candidate is then checked at its edges, per script:

- Latin letters and digits: the neighbours must not be Latin letters or digits, so H20 is not H200 and
  "ban" is not "band"; an English plural (s, es) may follow, and a trailing * in the term allows any
  ending. Hyphens and punctuation are already spaces after folding ("H20-class" = "h20 class").
- Arabic: the rest of the word around the term may only be clitics: و ف before ب ك ل before ال
  ("والرقائق", "لضوابط التصدير", "للرقائق") and a short list of attached endings (pronouns, plural
  and nisba endings), so "رقائق" is found in "الرقائق" but a term is not found inside a longer word.
- Chinese: no boundaries (Chinese writes none); traditional script is folded to simplified first.

A rule's context (`with:`) and exclusions (`unless:`) are looked up in the same pass; `ignore:`
phrases hide the candidates they overlap ("casino chips" is not a chip).

Score: each distinct term that fires adds its rule's weight once, times title_weight when it fires in
the title. The item is relevant when the score reaches the list's threshold.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import ahocorasick

from . import errors, model
from .filememo import FileMemo
from .keywords import CREATE_HINT, KeywordList, Rule, Term, load_keywords
from .normalize import fold, fold_with_offsets

FIELDS = ("title", "summary", "content")
MAX_HITS_PER_TERM_FIELD = 3  # enough to show why; a long article can say "Nvidia" fifty times

# What may sit around an Arabic term inside the same word.
_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ك", "ل")
AR_PREFIXES = frozenset(
    c + ("لل" if p == "ل" and a else p + a) for c in _CONJ for p in _PREP for a in ("", "ال")
)
AR_SUFFIXES = frozenset(("", "ه", "ها", "هم", "هما", "هن", "نا", "كم", "ك", "ي", "ان", "ين", "ون", "ات",
                         "يه", "يين", "يون", "يات", "تين", "تان"))
EN_SUFFIXES = frozenset(("", "s", "es"))

TERM, CONTEXT, UNLESS, IGNORE = 0, 1, 2, 3
_LATIN, _ARABIC = 1, 2


def _script(c: str) -> int:
    o = ord(c)
    if o < 128:
        return _LATIN if c.isalnum() else 0
    if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0x08A0 <= o <= 0x08FF:
        return _ARABIC if c.isalpha() else 0
    if o < 0x0250 or 0x1E00 <= o <= 0x1EFF:
        return _LATIN if c.isalnum() else 0
    return 0


_SCRIPT = {chr(i): _script(chr(i)) for i in range(0x0800)}


def script_of(c: str) -> int:
    s = _SCRIPT.get(c)
    return _script(c) if s is None else s


def normalise_language(language: str | None) -> str | None:
    """'vi-VN', 'zh_TW', 'EN' -> 'vi', 'zh', 'en'; None stays None."""
    if not language:
        return None
    return language.replace("_", "-").split("-")[0].strip().lower() or None


def language_applies(term_lang: str, item_lang: str | None) -> bool:
    """Whether a term written for term_lang is looked for in an item in item_lang.

    Without accents Vietnamese words look like English ones ("bán", to sell, folds to "ban"), so
    English terms are not looked for in Vietnamese items, and Vietnamese terms only in Vietnamese
    ones. Arabic and Chinese have scripts of their own and apply everywhere, as do `any` terms.
    When the item's language is unknown, everything applies.
    """
    if item_lang is None or term_lang in ("any", "ar", "zh"):
        return True
    if term_lang == "vi":
        return item_lang == "vi"
    return item_lang != "vi"  # en


@dataclass(frozen=True)
class _Entry:
    kind: int
    ref: int  # rule index (TERM, UNLESS), context index (CONTEXT), or 0 (IGNORE)
    term: Term
    length: int  # of the folded key
    prefix: bool  # trailing *: any Latin ending
    left: int  # script of the first character (what the left edge check needs)
    right: int  # script of the last character
    vi_only: bool
    not_vi: bool
    folded: str  # the whole term folded: one term however many keys it has


class _Span:
    __slots__ = ("start", "end", "entry")

    def __init__(self, start: int, end: int, entry: _Entry):
        self.start, self.end, self.entry = start, end, entry


def _keys(term: Term) -> list[str]:
    """The folded strings to look for. Arabic: the article ال is taken off the first word, because the
    clitic check puts it back as one of the allowed prefixes (and accepts لل, وال, بال...)."""
    core = term.folded
    keys = [core]
    if script_of(core[0]) == _ARABIC and core.startswith("ال") and len(core.split(" ")[0]) > 3:
        keys = [core[2:]]
    out = []
    for k in keys:
        out.append(k)
        # ta marbuta (folded to ه) becomes ت before an attached ending: شريحة -> شريحتها, شريحتين
        if script_of(k[-1]) == _ARABIC and k.endswith("ه"):
            out.append(k[:-1] + "ت")
    return out


def _edges(text: str, start: int, end: int, e: _Entry) -> tuple[int, int] | None:
    """Check a candidate's edges; return the span of the whole word(s) it stands for (with the plural,
    clitics or ending it carries, so a hit shows "export controls" or "والرقائق"), or None."""
    n = len(text)
    lo, hi = start, end
    if e.left == _LATIN:
        if start > 0 and script_of(text[start - 1]) == _LATIN:
            return None
    elif e.left == _ARABIC:
        i = start
        while i > 0 and script_of(text[i - 1]) == _ARABIC:
            i -= 1
            if start - i > 4:
                return None
        if i != start and text[i:start] not in AR_PREFIXES:
            return None
        lo = i
    if e.right == _LATIN:
        j = end
        while j < n and script_of(text[j]) == _LATIN:
            j += 1
        if j != end and not e.prefix and text[end:j] not in EN_SUFFIXES:
            return None
        hi = j
    elif e.right == _ARABIC:
        j = end
        while j < n and script_of(text[j]) == _ARABIC:
            j += 1
            if j - end > 3:
                return None
        if j != end and text[end:j] not in AR_SUFFIXES:
            return None
        hi = j
    return lo, hi


_CJK_CHAR = re.compile("[\u3400-\u9fff]")
# The rest of a token from its first character that is not Chinese: one match per token that has one.
_NON_CJK_TOKEN = re.compile("[^\\s\u3400-\u9fff]\\S*")


def _words_between(text: str, a: _Span, b: _Span) -> int:
    """Words separating two spans (0 if they touch or overlap): each Chinese character is a word, and
    so is each white-space-separated token with anything else in it."""
    lo, hi = (a.end, b.start) if a.end <= b.start else (b.end, a.start)
    if hi <= lo:
        return 0
    return _count_words(text[lo:hi])


def _count_words(between: str) -> int:
    if between.isascii():
        return len(between.split())
    return len(_CJK_CHAR.findall(between)) + len(_NON_CJK_TOKEN.findall(between))


def _within(text: str, a: _Span, b: _Span, near: int) -> bool:
    """_words_between(text, a, b) <= near, without counting all the words of a long gap: the words of
    its first characters are no more than its words (a token cut at the end still counts one), so
    when they already pass `near` the answer is known."""
    lo, hi = (a.end, b.start) if a.end <= b.start else (b.end, a.start)
    if hi <= lo:
        return True
    head = 32 * (near + 1)
    if hi - lo > head and _count_words(text[lo:lo + head]) > near:
        return False
    return _count_words(text[lo:hi]) <= near


# Matchers compiled in this process (Matcher.load): compiling takes 10-20 ms.
_COMPILED: FileMemo["Matcher"] = FileMemo(keep=4)


class Matcher:
    """A compiled keyword list. Build once (`load` / `from_list`), then call `match` per item."""

    def __init__(self, kl: KeywordList):
        self.list = kl
        self.rules: tuple[Rule, ...] = kl.rules
        self.context_names: list[str] = list(kl.context)
        self._auto = ahocorasick.Automaton()
        table: dict[str, list[_Entry]] = {}

        def add(kind: int, ref: int, term: Term) -> None:
            for key in _keys(term):
                e = _Entry(kind, ref, term, len(key), term.prefix, script_of(key[0]), script_of(key[-1]),
                           term.lang == "vi", term.lang == "en", term.folded)
                table.setdefault(key, []).append(e)

        for ri, rule in enumerate(kl.rules):
            for t in rule.terms:
                add(TERM, ri, t)
            for t in rule.unless:
                add(UNLESS, ri, t)
        for ci, name in enumerate(self.context_names):
            for t in kl.context[name]:
                add(CONTEXT, ci, t)
        for t in kl.ignore:
            add(IGNORE, 0, t)
        for key, entries in table.items():
            self._auto.add_word(key, tuple(entries))
        self._auto.make_automaton()
        # Which items can have a term hit at all. An item with none scores 0 whatever its context
        # words, and the full scan (context words are common) is the costly part: these automata hold
        # the rules' term keys alone, and an item none of them occurs in is NO_MATCH at once.
        # In folded text that is all ASCII (most English and Vietnamese) the only characters are
        # [a-z0-9 ], so a term whose edges pass _edges stands between spaces (or the ends), with at
        # most "s" or "es" after it unless it is a prefix (*): padded, the text must hold " key ",
        # " keys ", " keyes " or, for a prefix, " key". "bill" in "billion" (four real items in ten
        # hold one) then no longer sends an item to the full scan. Other text: the bare keys.
        self._terms: ahocorasick.Automaton | None = None
        self._ascii_terms: ahocorasick.Automaton | None = None
        terms = {key: [e for e in entries if e.kind == TERM] for key, entries in table.items()}
        terms = {key: entries for key, entries in terms.items() if entries}
        if terms:
            self._terms = ahocorasick.Automaton()
            for key in terms:
                self._terms.add_word(key, None)
            self._terms.make_automaton()
            ascii_keys = [(key, any(e.prefix for e in entries)) for key, entries in terms.items() if key.isascii()]
            if ascii_keys:
                self._ascii_terms = ahocorasick.Automaton()
                for key, prefix in ascii_keys:
                    for variant in ([f" {key}"] if prefix else [f" {key} ", f" {key}s ", f" {key}es "]):
                        self._ascii_terms.add_word(variant, None)
                self._ascii_terms.make_automaton()

    @classmethod
    def from_list(cls, kl: KeywordList) -> "Matcher":
        return cls(kl)

    @classmethod
    def load(cls, path: Path) -> "Matcher":
        """The keyword list at `path`, compiled; the same Matcher again while the file is unchanged
        (watcher/filememo.py: `watcher run` loads it every poll). A Matcher is never changed once built."""
        path = Path(path)
        if not path.exists():
            raise errors.ConfigError(f"{path}: keyword list not found; {CREATE_HINT}",
                                     [errors.Problem(str(path), 0, f"keyword list not found; {CREATE_HINT}")])
        return _COMPILED.get(path, lambda: cls(load_keywords(path)))

    # -- the hot path ---------------------------------------------------------------------------------

    def _scan(self, text: str, item_lang: str | None) -> list[_Span]:
        spans: list[_Span] = []
        ignored: list[_Span] = []
        for end_idx, entries in self._auto.iter(text):
            end = end_idx + 1
            for e in entries:
                if item_lang is not None and ((e.vi_only and item_lang != "vi") or (e.not_vi and item_lang == "vi")):
                    continue
                span = _edges(text, end - e.length, end, e)
                if span is None:
                    continue
                (ignored if e.kind == IGNORE else spans).append(_Span(span[0], span[1], e))
        if ignored and spans:
            spans = [s for s in spans if not any(s.start < g.end and g.start < s.end for g in ignored)]
        return spans

    def _may_hold_term(self, folded: str) -> bool:
        """False only when no term of the list can pass its edge checks in this folded text."""
        if folded.isascii():
            if self._ascii_terms is None:
                return False
            return next(self._ascii_terms.iter(f" {folded} "), None) is not None
        assert self._terms is not None
        return next(self._terms.iter(folded), None) is not None

    def mentions(self, title: str, summary: str, language: str | None = None) -> bool:
        """Whether the title or teaser names a term of the list, before its rule's context (`with:`,
        `near:`) and `unless:` are applied. Used by watcher/fulltext: a teaser of 160 characters rarely
        holds a rule's context too ("smuggling" without "chip"), yet the article behind it may be the
        story. Context words alone ("China", "ban") do not count: on ordinary news they are in one
        item in five (bench/fulltext_cost.py)."""
        lang = normalise_language(language)
        for text in (title, summary):
            if text and any(s.entry.kind == TERM for s in self._scan(fold(text), lang)):
                return True
        return False

    def match(self, title: str, summary: str, content: str, language: str | None = None,
              folded_fields: Sequence[str] | None = None) -> model.MatchResult:
        """The item's score, topics and hits. folded_fields: normalize.fold of title, summary and
        content, when the caller has them (prepare.py folds an entry once for matching and dedup)."""
        lang = normalise_language(language)
        texts = {"title": title or "", "summary": summary or "", "content": content or ""}
        fts = [(f, fold(texts[f]) if folded_fields is None else folded_fields[i])
               for i, f in enumerate(FIELDS) if texts[f]]
        if self._terms is not None and not any(self._may_hold_term(ft) for _, ft in fts if ft):
            return model.NO_MATCH
        folded: dict[str, str] = {}
        by_field: dict[str, list[_Span]] = {}
        for f, ft in fts:
            spans = self._scan(ft, lang)
            if spans:
                folded[f] = ft
                by_field[f] = spans
        if not by_field:
            return model.NO_MATCH

        present: set[int] = set()  # context lists seen anywhere in the item
        blocked: set[int] = set()  # rules whose `unless` fired
        candidates = False
        for spans in by_field.values():
            for s in spans:
                k = s.entry.kind
                if k == CONTEXT:
                    present.add(s.entry.ref)
                elif k == UNLESS:
                    blocked.add(s.entry.ref)
                else:
                    candidates = True
        if not candidates:
            return model.NO_MATCH

        ctx_index = {name: i for i, name in enumerate(self.context_names)}
        fired: dict[tuple[int, str], list[tuple[str, _Span]]] = {}
        for f, spans in by_field.items():
            for s in spans:
                if s.entry.kind != TERM or s.entry.ref in blocked:
                    continue
                rule = self.rules[s.entry.ref]
                if rule.with_ and (any(ctx_index[n] not in present for n in rule.with_)
                                   or not self._context_ok(rule, s, f, by_field, folded, ctx_index)):
                    continue
                fired.setdefault((s.entry.ref, s.entry.folded), []).append((f, s))
        if not fired:
            return model.NO_MATCH
        fired = self._longest(fired)

        # One contribution per distinct term of a topic; the same term in two rules counts once.
        tw = self.list.title_weight
        best: dict[tuple[str, str], tuple[float, int]] = {}
        for (ri, key_text), occ in fired.items():
            rule = self.rules[ri]
            value = rule.weight * (tw if any(f == "title" for f, _ in occ) else 1.0)
            key = (rule.topic, key_text)
            if key not in best or value > best[key][0]:
                best[key] = (value, ri)
        topic_scores: dict[str, float] = {}
        for (topic, _), (value, _) in best.items():
            topic_scores[topic] = topic_scores.get(topic, 0.0) + value
        score = round(sum(topic_scores.values()), 3)

        hits = self._hits(texts, fired, dict(best))
        topics = sorted(topic_scores, key=lambda t: (-topic_scores[t], t))
        keywords: list[str] = []
        for h in hits:
            if h.term not in keywords:
                keywords.append(h.term)
        return model.MatchResult(relevant=score >= self.list.threshold, score=score, topics=topics,
                                 keywords=keywords, hits=hits)

    def _context_ok(self, rule: Rule, s: _Span, field: str, by_field: dict[str, list[_Span]],
                    folded: dict[str, str], ctx_index: dict[str, int]) -> bool:
        """Every context list the rule names has a word in the item (or near the term, with `near`),
        and not one that is part of the term itself: 国产芯片 does not supply its own 国产."""
        for name in rule.with_:
            ci = ctx_index[name]
            fields = [field] if rule.near is not None else list(by_field)
            ok = False
            for f in fields:
                for c in by_field[f]:
                    if c.entry.kind != CONTEXT or c.entry.ref != ci:
                        continue
                    if f == field and c.start < s.end and s.start < c.end:
                        continue
                    if rule.near is None or _within(folded[f], s, c, rule.near):
                        ok = True
                        break
                if ok:
                    break
            if not ok:
                return False
        return True

    def _longest(self, fired: dict[tuple[int, str], list[tuple[str, _Span]]]
                 ) -> dict[tuple[int, str], list[tuple[str, _Span]]]:
        """Within a topic, a term found inside a longer term's match is not counted again:
        "CloudMatrix 384" is one term, not also "CloudMatrix"."""
        spans: dict[tuple[str, str], list[_Span]] = {}
        for (ri, _), occ in fired.items():
            for f, s in occ:
                spans.setdefault((self.rules[ri].topic, f), []).append(s)
        out: dict[tuple[int, str], list[tuple[str, _Span]]] = {}
        for key, occ in fired.items():
            topic = self.rules[key[0]].topic
            kept = [(f, s) for f, s in occ
                    if not any(o.start <= s.start and s.end <= o.end and (o.end - o.start) > (s.end - s.start)
                               for o in spans[(topic, f)])]
            if kept:
                out[key] = kept
        return out

    def _hits(self, texts: dict[str, str], fired: dict[tuple[int, str], list[tuple[str, _Span]]],
              best: dict[tuple[str, str], tuple[float, int]]) -> list[model.Hit]:
        """Hits with offsets into the original field text. fold_with_offsets only runs for fields that hit."""
        offsets: dict[str, list[int]] = {}
        upto: dict[str, int] = {}  # per field, the last folded index a hit can need
        for occ in fired.values():
            for f, s in occ:
                upto[f] = max(upto.get(f, 0), s.end - 1)
        found: list[tuple[tuple[str, str], model.Hit]] = []
        for (ri, key_text), occ in fired.items():
            rule = self.rules[ri]
            if best[(rule.topic, key_text)][1] != ri:
                continue
            per_field: dict[str, int] = {}
            for f, s in occ:
                if per_field.get(f, 0) >= MAX_HITS_PER_TERM_FIELD:
                    continue
                per_field[f] = per_field.get(f, 0) + 1
                if f not in offsets:
                    offsets[f] = fold_with_offsets(texts[f], upto[f])[1]
                off = offsets[f]
                found.append(((rule.topic, key_text),
                              model.Hit(topic=rule.topic, term=s.entry.term.text, field=f, start=off[s.start],
                                        end=off[s.end - 1] + 1, weight=rule.weight)))
        order = {f: i for i, f in enumerate(FIELDS)}
        found.sort(key=lambda p: (order[p[1].field], p[1].start, p[1].topic))
        # The term's contribution goes on its first hit, so what `show` prints per hit adds up to the score.
        hits: list[model.Hit] = []
        for key, h in found:
            if key in best:
                h = dataclasses.replace(h, points=best.pop(key)[0])
            hits.append(h)
        return hits
