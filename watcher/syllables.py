"""Where the words are in Vietnamese and Chinese text, from syllable statistics alone.

Vietnamese writes every syllable apart ("sử dụng chip": to use chips, "sử dụng" being one word), and
Chinese writes no spaces at all, so a phrase cut at a space can start or end inside a word ("dụng chip").
Here the text is split into words: two neighbouring syllables are one word when they stick together,
that is when most occurrences of each are in this pair (Dice coefficient 2·c(ab) / (c(a) + c(b))),
and each line is split so that the words found are as cohesive as possible in total (dynamic
programming, two syllables a word at most). Ties keep the earlier pair: in "ứng dụng chip" the word is
"ứng dụng". Two-syllable entries of the shipped common word list are words whatever the counts.

The statistics come from the text at hand (the seeds and the stored items in the language), so they
need no dictionary and follow whatever the corpus talks about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

MIN_PAIR = 3  # a pair seen once or twice says nothing about whether it is a word
MIN_COHESION = 0.5  # Dice below: two words that happen to meet ("chip Nvidia" is about 0.1)
KNOWN = 2.0  # a listed word: more than any statistics can say

Cohesion = dict[tuple[str, str], float]


def cohesion(lines: Iterable[list[str]], known: Iterable[str] = ()) -> Cohesion:
    """Pairs of folded syllables that form a word, with how strongly. `known` words (two syllables,
    space-separated, folded) always count, and count more than any pair the statistics find."""
    single: Counter = Counter()
    pairs: Counter = Counter()
    for toks in lines:
        single.update(toks)
        pairs.update(zip(toks, toks[1:]))
    out: Cohesion = {}
    for (a, b), n in pairs.items():
        if n >= MIN_PAIR:
            dice = 2 * n / (single[a] + single[b])
            if dice >= MIN_COHESION:
                # Between equally cohesive splits, the more frequent pair is the word.
                out[(a, b)] = dice + n * 1e-6
    for word in known:
        parts = word.split(" ")
        if len(parts) == 2:
            out[(parts[0], parts[1])] = KNOWN
    return out


def word_starts(toks: list[str], coh: Cohesion) -> list[bool]:
    """For each syllable, whether a word starts there; one more entry (True) for the end of the line."""
    n = len(toks)
    best = [0.0] * (n + 1)
    paired = [False] * (n + 1)  # best split of toks[:i] ends with the pair toks[i-2:i]
    for i in range(1, n + 1):
        best[i] = best[i - 1]
        if i >= 2:
            c = coh.get((toks[i - 2], toks[i - 1]))
            if c is not None and best[i - 2] + c > best[i]:
                best[i], paired[i] = best[i - 2] + c, True
    starts = [True] * (n + 1)
    i = n
    while i > 0:
        if paired[i]:
            starts[i - 1] = False
            i -= 2
        else:
            i -= 1
    return starts
