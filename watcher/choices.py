"""A value typed on the command line that must name something that exists: a source, topic, language.

An unknown value is an error (exit 2) that names the closest known ones. Without it, a typo or a
shortened name (`--topic smuggling` for `smuggling-remote-compute`) filters everything out and reads
as "nothing matched", which is a wrong answer, not an empty one.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Sequence

from .errors import UsageError

LIST_AT_MOST = 20  # known values spelled out in the message; beyond that, say where to see them all


def close_matches(value: str, known: Sequence[str], n: int = 3) -> list[str]:
    """Known values the user probably meant, best first.

    Case aside: a name that contains what was typed (people shorten names: difflib alone rates
    "smuggling" against "smuggling-remote-compute" too low to suggest it), then a name whose start or
    one of whose words is spelt like it ("smugling"), then a name spelt like it as a whole.
    """
    typed = value.casefold().strip()
    folded: dict[str, str] = {}
    for k in known:
        folded.setdefault(k.casefold(), k)
    if not typed:
        return []

    def score(name: str) -> float:
        if name == typed:
            return 4.0
        if typed in name:
            return 2.0 + (name.startswith(typed))
        whole = difflib.SequenceMatcher(None, typed, name).ratio()
        parts = [name[: len(typed)], *re.split(r"[-_.\s]+", name)]
        part = max(difflib.SequenceMatcher(None, typed, p).ratio() for p in parts)
        return max(whole if whole >= 0.6 else 0.0, part if part >= 0.8 else 0.0)

    ranked = sorted(((score(f), f) for f in folded), key=lambda p: (-p[0], p[1]))
    return [folded[f] for s, f in ranked if s > 0][:n]


def unknown_message(kind: str, value: str, known: Iterable[str], *, option: str = "",
                    all_listed_by: str = "") -> str:
    """One line: no topic named 'x' (--topic); did you mean 'y'? known topics: ..."""
    names = sorted(set(known))
    where = f" ({option})" if option else ""
    close = close_matches(value, names)
    head = f"no {kind} named {value!r}{where}; "
    if close:
        head += "did you mean " + " or ".join(repr(c) for c in close) + "? "
    if not names:
        return head + f"there are no {kind}s yet"
    if len(names) <= LIST_AT_MOST or not all_listed_by:
        return head + f"known {kind}s: {', '.join(names)}"
    return head + f"{len(names)} known {kind}s ({all_listed_by} lists them)"


def require_known(kind: str, value: str, known: Iterable[str], *, option: str = "",
                  all_listed_by: str = "") -> str:
    """`value` itself when it is one of `known`; else UsageError (exit 2) with suggestions."""
    known = list(known)
    if value in known:
        return value
    raise UsageError(unknown_message(kind, value, known, option=option, all_listed_by=all_listed_by))
