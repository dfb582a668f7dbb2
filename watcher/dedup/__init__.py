"""Deduplication: seeds re-published, reposts of earlier items, and the same story in another language.

    shingles.py      folded token n-grams, hashed
    seeds.py         SeedIndex: seed shingles, cached by content hash
    index.py         MinHash LSH candidate index in SQLite
    crosslingual.py  anchors shared across languages
    decide.py        Deduper.decide() -> DedupDecision, remember()/forget(), also_in()
"""

from .decide import Deduper, also_in
from .seeds import SeedIndex

__all__ = ["Deduper", "SeedIndex", "also_in"]
