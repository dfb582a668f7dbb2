"""What the shipped word lists and a word's shape say about a candidate keyword (`keywords derive`).

The lists live in watcher/data/ as plain text, one word or phrase a line, so they can be read and
extended without touching code:

- common_<lang>.txt (en, vi, ar, zh): ordinary words of the language, i.e. function words, pronouns,
  common verbs, dates and the vocabulary of any news story. A proposal never starts or ends with one.
- words_vi.txt: common Vietnamese words of two syllables, so a proposal never starts or ends inside
  one (syllables.py).
- given_names.txt and person_titles.txt: a given name ("Joe") or a title ("President", "ông") right
  before a capitalised word says that word is a person's name, and a person is not a topic term.

Every entry is folded (normalize.fold) when loaded, so case, accents and script variants never matter.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from .normalize import fold

DATA = Path(__file__).with_name("data")

_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.I)
_HEX = re.compile(r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}", re.I)  # ids, hashes, colours
_URLISH = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)|^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$|@", re.I)
_NUMBER = re.compile(r"[\d.,:/%+\-\s]+")  # 2025, 21/5, 3.5, 10:30, 70%
# An amount or a measure, not a model number: 70B, 8bn, 3nm, 16GB, 2.5GHz, 10x.
_QUANTITY = re.compile(r"\d+(?:[.,]\d+)?\s?(?:k|m|b|bn|mn|tn|t|kb|mb|gb|tb|pb|nm|mm|cm|km|kg|mhz|ghz|kw|mw|gw|"
                       r"kwh|mwh|gwh|x|pct|usd|eur)", re.I)
MAX_TOKEN = 40  # longer runs of letters and digits are hashes or glued text, not words


@lru_cache(maxsize=None)
def word_list(name: str, folded: bool = True) -> frozenset[str]:
    """A shipped list, folded (or only lower-cased, where accents tell words apart); empty if the file
    is absent (a language without one)."""
    path = DATA / name
    if not path.exists():
        return frozenset()
    lines = [line for line in path.read_text("utf-8").splitlines() if line.strip() and not line.startswith("#")]
    words = (fold(line) if folded else lower(line) for line in lines)
    return frozenset(w for w in words if w)


def lower(text: str) -> str:
    """Lower case, NFC, words separated by single spaces; accents kept."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def common_words(lang: str) -> frozenset[str]:
    return word_list(f"common_{lang}.txt")


def known_words(lang: str) -> frozenset[str]:
    """Words of two syllables (folded) that are never cut in two: the word list, and the common words."""
    return frozenset(w for w in word_list(f"words_{lang}.txt") | common_words(lang) if w.count(" ") == 1)


def given_names() -> frozenset[str]:
    return word_list("given_names.txt")


def person_titles() -> frozenset[str]:
    """Lower-cased, accents kept: compare with lexicon.lower(text)."""
    return word_list("person_titles.txt", folded=False)


def junk_shape(token: str) -> str | None:
    """Why a token cannot be a keyword by its shape alone, or None. The shape is enough: a UUID, a hash,
    a URL, a date or an amount is never what a person would watch for."""
    t = token.strip()
    if _URLISH.search(t):
        return "a URL or address"
    if _UUID.search(t) or _HEX.fullmatch(t.replace("-", "")) and len(t) >= 8:
        return "an identifier (hex)"
    if _NUMBER.fullmatch(t):
        return "a number"
    if _QUANTITY.fullmatch(t):
        return "an amount or measure"
    letters = sum(c.isalpha() for c in t)
    if letters <= 1 and not any(c.isdigit() for c in t) or len(t) == 1:
        return "a single letter"
    if max((len(w) for w in re.split(r"[\s\-]", t)), default=0) > MAX_TOKEN:
        return "too long for a word"
    return None
