"""Link canonicalisation, as a table (tests/link_cases.yaml): what stays and what goes."""

from pathlib import Path

import pytest
import yaml

from watcher.links import canonical_link

CASES = yaml.safe_load((Path(__file__).parent / "link_cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["canonical"], ids=lambda c: str(c["in"]))
def test_canonical(case):
    assert canonical_link(case["in"]) == case["out"], case.get("why", "")


@pytest.mark.parametrize("group", CASES["same"], ids=lambda g: g[0])
def test_same_article(group):
    keys = {canonical_link(u) for u in group}
    assert len(keys) == 1 and None not in keys, keys


@pytest.mark.parametrize("pair", CASES["differ"], ids=lambda p: " vs ".join(p))
def test_different_articles(pair):
    a, b = (canonical_link(u) for u in pair)
    assert a is not None and b is not None and a != b


@pytest.mark.parametrize("case", CASES["canonical"], ids=lambda c: str(c["in"]))
def test_idempotent(case):
    once = canonical_link(case["in"])
    assert canonical_link(once) == once
