"""The dedup decision without a database: the YAML table decide_cases.yaml, run on the pure decider."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from dedup_helpers import T0
from watcher.config import DedupSettings
from watcher.dedup import Candidate, SeedIndex, adopt_later, decide, fingerprint
from watcher.links import canonical_link
from watcher.model import Neighbour, Neighbours

DATA = yaml.safe_load((Path(__file__).parent / "fixtures/dedup/decide_cases.yaml").read_text(encoding="utf-8"))
TEXTS = DATA["texts"]


def _text(name: str) -> tuple[str, str, str]:
    t = TEXTS[name]
    return t.get("title", ""), t.get("summary", ""), t.get("content", "")


def _epoch(hours: float) -> int:
    return int((T0 + timedelta(hours=hours)).timestamp())


def _neighbour(n: dict, indexed: bool) -> Neighbour:
    title, summary, content = _text(n["text"])
    return Neighbour(id=n["id"], published=_epoch(n["at"]), indexed_published=_epoch(n["at"]) if indexed else None,
                     title=title, summary=summary, content=content, duplicate_of=n.get("duplicate_of"),
                     dup_possible=bool(n.get("possible")),
                     original_published=_epoch(n["original_at"]) if "original_at" in n else None)


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_decide(case: dict) -> None:
    c = case["candidate"]
    settings = DedupSettings()
    candidate = Candidate(c.get("id"), T0 + timedelta(hours=c["at"]), fingerprint(*_text(c["text"]), "en"),
                          canonical_link(c.get("link")))
    nb = case.get("neighbours") or {}
    neighbours = Neighbours(by_link=[_neighbour(n, False) for n in nb.get("by_link", [])],
                            near=[_neighbour(n, True) for n in nb.get("near", [])])
    d = decide(candidate, neighbours, SeedIndex([]), settings)
    want = case["expect"]
    assert d.duplicate_of == want["duplicate_of"], d
    if "method" in want:
        assert d.method == want["method"], d
    if "score" in want:
        assert d.score == pytest.approx(want["score"]), d
    if "repoints" in case:
        got = adopt_later(c["id"], d, candidate, neighbours, settings)
        assert [[r.item_id, r.target, r.method] for r in got] == case["repoints"]
