"""The full-text policy as a table (tests/fixtures/fulltext/policy_cases.yaml): which entries get their
article page fetched, and that the extra scan of the teaser (`mentions`) runs only when it decides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from watcher.fulltext.policy import decide
from watcher.model import NO_MATCH, EntryData, Hit, MatchResult

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "fulltext" / "policy_cases.yaml").read_text())
TEXT = {
    "short": "Nvidia H20 shipments to China paused, sources say.",
    "long": "Nvidia H20 shipments to China paused. " * 40,  # ~1,500 characters: the article itself
    "long_cjk": "英伟达H20芯片对华出口暂停。" * 20,  # 280 characters, 260 of them CJK: 650+ Latin-equivalent
}


def entry(link: str, text: str) -> EntryData:
    return EntryData(guid="g", guid_kind="guid", link=link, title="A headline", summary=text, content="",
                     summary_html=text, published=None, updated=None)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_policy(case: dict) -> None:
    asked: list[bool] = []

    def mentions() -> bool:
        asked.append(True)
        return case["mentions"]

    hit = MatchResult(relevant=True, score=1.0, topics=["chips"], keywords=["H20"],
                      hits=[Hit(topic="chips", term="H20", field="summary", start=0, end=3, weight=1.0)]) if case["hit"] else NO_MATCH
    d = decide(case["setting"], entry(case.get("link", "https://news.example.org/a"), TEXT[case["text"]]), hit,
               mentions, case.get("on_topic", False))
    assert d.fetch is case["fetch"], d.why
    assert bool(asked) is case["asked"], f"mentions() asked: {bool(asked)} ({d.why})"
