"""Load and validate the keyword list (by default seeds/keywords.yaml).

The list is written by analysts, so validation reports every problem at once with file:line and what to
do, like sources.yaml. The format (documented at the top of the shipped seeds/keywords.yaml):

    threshold: 3           # an item is relevant when its score reaches this
    title_weight: 1.5      # a term found in the title counts this many times its weight
    context:               # named word lists that rules can require; they score nothing themselves
      chip: {en: [chip, semiconductor], vi: [chip], ar: [رقائق], zh: [芯片]}
    ignore: [potato chip, casino chip]   # text that looks like a term but is not: hides what it overlaps
    topics:
      export-controls:     # a topic is a list of rules
        - weight: 3
          en: [Entity List]
        - weight: 3
          en: [export control]
          with: [chip]     # counts only when the item also has a word from every list named here
          near: 12         # ... within 12 words of the term (optional; without it, anywhere in the item)
          unless: [rare earth]   # the rule does not count when any of these appear in the item

Terms sit under a language: en, vi, ar, zh, or any (names and model numbers written the same way in
every language). Matching rules per script live in watcher/match.py; this module only reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import errors
from .bounds import check_value
from .errors import Problem
from .filememo import FileMemo
from .normalize import fold
from .yamlcheck import Checker, read_mapping, scalar

TERM_LANGUAGES = ("en", "vi", "ar", "zh", "any")
TOP_KEYS = ("threshold", "title_weight", "context", "ignore", "topics")
RULE_KEYS = ("weight", *TERM_LANGUAGES, "with", "near", "unless")

CREATE_HINT = ("create it with `watcher keywords derive` and finish it by hand, copy the shipped "
               "seeds/keywords.yaml, or point the `keywords:` key in sources.yaml at your list")


@dataclass(frozen=True)
class Term:
    text: str  # as the analyst wrote it (shown in hits and reports)
    lang: str  # en | vi | ar | zh | any
    line: int  # where it is written, for messages

    @property
    def folded(self) -> str:
        return fold(self.text.rstrip("*"))

    @property
    def prefix(self) -> bool:
        """A trailing * matches any ending: "smuggl*" finds smuggling, smuggled, smugglers."""
        return self.text.endswith("*")


@dataclass(frozen=True)
class Rule:
    topic: str
    weight: float
    terms: tuple[Term, ...]
    with_: tuple[str, ...] = ()  # context list names; every one must be present
    near: int | None = None  # words between term and context; None = anywhere in the item
    unless: tuple[Term, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class KeywordList:
    threshold: float
    title_weight: float
    context: dict[str, tuple[Term, ...]]
    ignore: tuple[Term, ...]
    rules: tuple[Rule, ...]
    path: Path | None = None
    topic_lines: dict[str, int] = field(default_factory=dict)

    @property
    def topics(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rules:
            seen.setdefault(r.topic, None)
        return list(seen)

    def terms(self) -> list[tuple[str, Term]]:
        """Every scoring term with its topic, in file order."""
        return [(r.topic, t) for r in self.rules for t in r.terms]


def _number(ck: Checker, node: yaml.Node, key: str, what: str) -> float | None:
    """A number of the list, checked against its row in watcher/bounds.py (type, range and why)."""
    got, problem = check_value(f"keywords.{key}", scalar(node) if isinstance(node, yaml.ScalarNode) else None, what)
    if problem:
        ck.add(node, problem)
    return got


def _term(ck: Checker, node: yaml.Node, lang: str, where: str) -> Term | None:
    if not isinstance(node, yaml.ScalarNode):
        ck.add(node, f"{where}: each term is one piece of text; write a list like [H20, export control]")
        return None
    text = node.value.strip() if isinstance(node.value, str) else str(node.value)
    line = node.start_mark.line + 1
    core = text.rstrip("*")
    if "*" in core:
        ck.add(node, f"{where}: {text!r} has a * inside; a * may only end a term (\"smuggl*\")")
        return None
    folded = fold(core)
    if not folded:
        ck.add(node, f"{where}: {text!r} has no letters or digits, so it can never match; remove it")
        return None
    if len(folded) < 2 or (text.endswith("*") and len(folded) < 4):
        ck.add(node, f"{where}: {text!r} is too short and would match almost anything; write a longer term")
        return None
    if text.endswith("*") and not (folded[-1].isascii() and folded[-1].isalnum()):
        ck.add(node, f"{where}: {text!r}: a trailing * only works after Latin letters or digits")
        return None
    return Term(text=text, lang=lang, line=line)


def _term_list(ck: Checker, node: yaml.Node, lang: str, where: str) -> list[Term]:
    if isinstance(node, yaml.ScalarNode) and node.value not in (None, "", "~", "null"):
        nodes = [node]  # one term written without brackets: forgiving, it is unambiguous
    elif isinstance(node, yaml.SequenceNode):
        nodes = node.value
    elif isinstance(node, yaml.ScalarNode):
        return []  # `vi:` left empty: nothing for that language yet
    else:
        ck.add(node, f"{where} must be a list of terms, like [H20, export control]")
        return []
    out = []
    for n in nodes:
        t = _term(ck, n, lang, where)
        if t is not None:
            out.append(t)
    return out


def _by_language(ck: Checker, node: yaml.Node, where: str) -> list[Term]:
    """A mapping of language -> terms, or (for ignore/unless) a plain list meaning any language."""
    if isinstance(node, (yaml.SequenceNode, yaml.ScalarNode)):
        return _term_list(ck, node, "any", where)
    out: list[Term] = []
    for k, v in node.value:
        if k.value not in TERM_LANGUAGES:
            ck.unknown(k, TERM_LANGUAGES, where)
            continue
        out += _term_list(ck, v, k.value, f"{where} {k.value}")
    return out


def _rule(ck: Checker, node: yaml.Node, topic: str, index: int,
          context: dict[str, tuple[Term, ...]]) -> Rule | None:
    where = f"topic {topic!r} rule {index + 1}"
    if not isinstance(node, yaml.MappingNode):
        ck.add(node, f"{where} must be a mapping with `weight:` and terms under en/vi/ar/zh/any")
        return None
    weight: float | None = None
    terms: list[Term] = []
    with_: list[str] = []
    near: int | None = None
    unless: list[Term] = []
    seen: set[str] = set()
    for k, v in node.value:
        key = k.value
        if key not in RULE_KEYS:
            ck.unknown(k, RULE_KEYS, where)
            continue
        if key in seen:
            ck.add(k, f"{where}: {key!r} appears twice; keep one")
            continue
        seen.add(key)
        if key == "weight":
            weight = _number(ck, v, "weight", f"{where} weight")
        elif key in TERM_LANGUAGES:
            terms += _term_list(ck, v, key, f"{where} {key}")
        elif key == "with":
            names = [v] if isinstance(v, yaml.ScalarNode) else v.value if isinstance(v, yaml.SequenceNode) else None
            if names is None:
                ck.add(v, f"{where} with: must name context lists, like [chip, china]")
                continue
            for n in names:
                if not isinstance(n, yaml.ScalarNode) or n.value not in context:
                    known = ", ".join(context) or "none defined yet"
                    ck.add(n, f"{where} with: {getattr(n, 'value', n)!r} is not a list under `context:` "
                              f"(known: {known}); define it there or fix the name")
                else:
                    with_.append(n.value)
        elif key == "near":
            got = _number(ck, v, "near", f"{where} near:")
            near = None if got is None else int(got)  # bounds.py checks it is a whole number
        elif key == "unless":
            unless += _by_language(ck, v, f"{where} unless")
    if "weight" not in seen:
        ck.add(node, f"{where} has no `weight:`; add one (the file's threshold says how much is enough)")
    if not terms and not any(k.value in TERM_LANGUAGES for k, _ in node.value):
        ck.add(node, f"{where} has no terms; add some under en, vi, ar, zh or any")
    if near is not None and not with_:
        ck.add(node, f"{where}: near: needs a with: list to be near to")
    if weight is None or not terms:
        return None
    return Rule(topic=topic, weight=weight, terms=tuple(terms), with_=tuple(with_), near=near,
                unless=tuple(unless), line=node.start_mark.line + 1)


def check_keywords(path: Path) -> tuple[KeywordList | None, list[Problem]]:
    """Validate a keyword list. Returns the list (None if unusable) and every problem, with file:line."""
    path = Path(path)
    ck = Checker(path)
    top = read_mapping(ck, missing=CREATE_HINT, shape="`threshold:` and `topics:`", known=TOP_KEYS)
    if top is None:
        return None, ck.problems
    root = ck.root

    threshold = None
    if "threshold" in top:
        threshold = _number(ck, top["threshold"], "threshold", "threshold")
    else:
        ck.add(root, "no `threshold:`; add one, e.g. `threshold: 3` (an item is relevant when its score reaches it)")
    title_weight = 1.0
    if "title_weight" in top:
        title_weight = _number(ck, top["title_weight"], "title_weight", "title_weight") or 1.0

    context: dict[str, tuple[Term, ...]] = {}
    if "context" in top:
        node = top["context"]
        if not isinstance(node, yaml.MappingNode):
            ck.add(node, "context: must map names to word lists, like `chip: {en: [chip], zh: [芯片]}`")
        else:
            for k, v in node.value:
                name = str(k.value)
                if name in context:
                    ck.add(k, f"context list {name!r} is defined twice; merge them")
                    continue
                words = _by_language(ck, v, f"context {name!r}")
                if not words:
                    ck.add(k, f"context list {name!r} has no words; add some or remove it")
                context[name] = tuple(words)

    ignore: list[Term] = []
    if "ignore" in top:
        ignore = _by_language(ck, top["ignore"], "ignore")

    rules: list[Rule] = []
    topic_lines: dict[str, int] = {}
    if "topics" not in top:
        ck.add(root, "no `topics:`; add at least one topic with a rule")
    elif not isinstance(top["topics"], yaml.MappingNode) or not top["topics"].value:
        ck.add(top["topics"], "topics: must map topic names to lists of rules")
    else:
        for k, v in top["topics"].value:
            topic = str(k.value)
            if topic in topic_lines:
                ck.add(k, f"topic {topic!r} is defined twice (first at line {topic_lines[topic]}); merge them")
                continue
            topic_lines[topic] = k.start_mark.line + 1
            nodes = v.value if isinstance(v, yaml.SequenceNode) else [v]
            if not nodes:
                ck.add(k, f"topic {topic!r} has no rules; add one or remove the topic")
            for i, n in enumerate(nodes):
                r = _rule(ck, n, topic, i, context)
                if r is not None:
                    rules.append(r)
        _duplicates(ck, rules)

    ck.problems.sort(key=lambda p: p.line)
    if threshold is None or not rules:
        return None, ck.problems
    kl = KeywordList(threshold=threshold, title_weight=title_weight, context=context, ignore=tuple(ignore),
                     rules=tuple(rules), path=path, topic_lines=topic_lines)
    return kl, ck.problems


def _duplicates(ck: Checker, rules: list[Rule]) -> None:
    """The same term twice in one topic would count twice: almost always a copy-paste slip."""
    first: dict[tuple[str, str, str], int] = {}
    for r in rules:
        for t in r.terms:
            key = (r.topic, t.folded, t.lang)
            if key in first:
                ck.problems.append(Problem(str(ck.path), t.line,
                                           f"{t.text!r} is already a term of topic {r.topic!r} at line "
                                           f"{first[key]}; remove one copy"))
            else:
                first[key] = t.line


def load_keywords(path: Path) -> KeywordList:
    """Load a keyword list, or raise ConfigError listing every problem.

    A list loaded before in this process with the same bytes is not checked again (every command that
    polls loads it, and `watcher run` at every poll; checking takes about 7 ms): watcher/filememo.py."""
    path = Path(path)

    def check() -> KeywordList:
        kl, problems = check_keywords(path)
        if problems or kl is None:
            raise errors.ConfigError.from_problems(problems)
        return kl

    return _CHECKED.get(path, check)


_CHECKED: FileMemo[KeywordList] = FileMemo(keep=4)  # a process uses one list; tuning compares a few
