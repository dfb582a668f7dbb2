"""Deduplication: seeds re-published, reposts of earlier items, and the same story in another language.

No module here touches the store: the store finds neighbours and applies decisions.

    shingles.py      folded token n-grams, hashed
    fingerprint.py   Fingerprint of an item's text (shingles, lead, LSH keys, anchors); run in workers,
                     only for items with a match score above zero (worth_fingerprinting)
    index.py         MinHash LSH keys of a shingle set
    seeds.py         SeedIndex: seed shingles, cached by content hash
    crosslingual.py  anchors shared across languages
    decide.py        decide() -> DedupDecision, adopt_later() -> re-point intents; pure
"""

from .decide import Candidate, Repoint, adopt_later, decide, index_keys, indexable, seed_verdict, seed_verdicts
from .fingerprint import Fingerprint, fingerprint, worth_fingerprinting
from .seeds import SeedIndex

__all__ = ["Candidate", "Repoint", "adopt_later", "decide", "index_keys", "indexable", "Fingerprint",
           "fingerprint", "worth_fingerprinting", "SeedIndex", "seed_verdict", "seed_verdicts"]
