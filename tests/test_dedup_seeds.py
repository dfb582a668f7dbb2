"""Seed re-publications are found; different stories on the same topic are not (seed_cases.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dedup_helpers import SEEDS, apply_ops, decide_alone, seed_path
from watcher.config import DedupSettings
from watcher.dedup import SeedIndex
from watcher.dedup import seeds as seeds_mod

CASES = yaml.safe_load((Path(__file__).parent / "fixtures/dedup/seed_cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return SeedIndex.load(SEEDS, tmp_path_factory.mktemp("seeds") / "cache")


@pytest.mark.parametrize("case", CASES["seed_copies"], ids=lambda c: c["name"])
def test_seed_copy_is_found(seeds, case):
    text = apply_ops(seed_path(case["seed"]).read_text(encoding="utf-8"), case["ops"])
    # Feeds carry such copies as summary only, or as summary + content: both must be found.
    for summary, content in ((text, ""), (text[:200], text)):
        d = decide_alone(seeds, DedupSettings(), title=case["title"], summary=summary, content=content)
        assert d.duplicate_of == f"seed:{seed_path(case['expect']).name}", (case["name"], d)
        assert d.method in ("containment", "resemblance") and not d.possible
        assert 0 < d.score <= 1


@pytest.mark.parametrize("case", CASES["new_stories"], ids=lambda c: c["title"])
def test_new_story_on_the_same_topic_is_new(seeds, case):
    d = decide_alone(seeds, DedupSettings(), title=case["title"], summary=case["text"], language=case["lang"])
    assert d.duplicate_of is None, d


def test_seed_repeating_its_own_paragraph_counts_it_once(tmp_path):
    para = "Một đoạn văn dài về chip AI và kiểm soát xuất khẩu của Mỹ đối với Trung Quốc trong năm nay."
    other = "Đoạn thứ hai nói về một chuyện hoàn toàn khác, không liên quan gì đến đoạn đầu tiên cả."
    once = SeedIndex.from_texts({"s.txt": f"{para}\n{other}"})
    twice = SeedIndex.from_texts({"s.txt": f"{para}\n{para}\n{other}\n{para}"})
    assert once.seeds[0].shingles == twice.seeds[0].shingles


def test_cache_picks_up_changed_and_added_seeds(tmp_path):
    seeds, cache = tmp_path / "seeds", tmp_path / "cache"
    seeds.mkdir()
    (seeds / "keywords.yaml").write_text("not: a seed\n", encoding="utf-8")
    (seeds / "a.txt").write_text(seed_path("000").read_text(encoding="utf-8"), encoding="utf-8")
    first = SeedIndex.load(seeds, cache)
    assert first.names == ["a.txt"]
    assert len(list((cache / "seeds").glob("*.json"))) == 1
    seeds_mod.forget()  # as a new process: the shingles come from the cache files
    again = SeedIndex.load(seeds, cache)
    assert again.seeds[0].shingles == first.seeds[0].shingles and again.fingerprint == first.fingerprint
    (seeds / "a.txt").write_text(seed_path("001").read_text(encoding="utf-8"), encoding="utf-8")
    (seeds / "b.txt").write_text(seed_path("003").read_text(encoding="utf-8"), encoding="utf-8")
    changed = SeedIndex.load(seeds, cache)
    assert changed.names == ["a.txt", "b.txt"] and changed.fingerprint != first.fingerprint
    assert changed.seeds[0].shingles != first.seeds[0].shingles
    fresh = SeedIndex.load(seeds, tmp_path / "other-cache")
    assert [s.shingles for s in fresh.seeds] == [s.shingles for s in changed.seeds]


def test_damaged_cache_is_rebuilt(tmp_path):
    seeds, cache = tmp_path / "seeds", tmp_path / "cache"
    seeds.mkdir()
    (seeds / "a.txt").write_text(seed_path("002").read_text(encoding="utf-8"), encoding="utf-8")
    good = SeedIndex.load(seeds, cache)
    for f in (cache / "seeds").glob("*.json"):
        f.write_text("{broken", encoding="utf-8")
    seeds_mod.forget()  # as a new process, which reads the damaged file
    assert SeedIndex.load(seeds, cache).seeds[0].shingles == good.seeds[0].shingles


def test_seed_that_is_not_utf8_names_the_file(tmp_path):
    from watcher.errors import ConfigError

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "bad.txt").write_bytes("Tiếng Việt".encode("utf-16"))
    with pytest.raises(ConfigError, match="bad.txt.*UTF-8"):
        SeedIndex.load(seeds, tmp_path / "cache")


def test_shipped_seeds_load(tmp_path):
    idx = SeedIndex.load(SEEDS, tmp_path)
    assert len(idx.seeds) == len(list(SEEDS.glob("*.txt"))) >= 5


def _overlaps_by_hand(seeds: SeedIndex, item: list[int], min_shared: int) -> list[tuple[str, int]]:
    """Each seed's shared count, straight from its shingle set: what overlaps() must agree with."""
    found = [(s.name, len(s.shingles & set(item))) for s in seeds.seeds]
    return sorted((name, shared) for name, shared in found if shared >= min_shared and shared)


@pytest.mark.parametrize("min_shared", [1, 8, 40])
def test_overlaps_counts_every_seed_exactly(seeds, min_shared):
    # Items made of one seed's shingles, of several seeds', of shingles no seed has, and mixes, at
    # sizes around min_shared: the vectorised lookup (and its early "no seed can share enough") must
    # find exactly the seeds and counts a per-seed count finds.
    import random

    rng = random.Random(min_shared)
    pools = [sorted(s.shingles) for s in seeds.seeds]
    strangers = [rng.getrandbits(64) for _ in range(2000)]
    for trial in range(200):
        item: set[int] = set()
        for pool in rng.sample(pools, rng.randint(0, len(pools))):
            item.update(rng.sample(pool, min(len(pool), rng.randint(0, 2 * min_shared + 2))))
        item.update(rng.sample(strangers, rng.randint(0, 300)))
        got = sorted((o.name, o.shared) for o in seeds.overlaps(sorted(item), min_shared))
        assert got == _overlaps_by_hand(seeds, sorted(item), min_shared), trial


def test_overlaps_of_an_empty_item_or_index():
    assert SeedIndex([]).overlaps([1, 2, 3], 1) == []
    assert SeedIndex.from_texts({"a.txt": ""}).overlaps([1, 2, 3], 1) == []


def test_overlaps_of_many_items_at_once_are_each_items_own(seeds):
    import random

    import numpy as np

    rng = random.Random(7)
    pools = [sorted(s.shingles) for s in seeds.seeds]
    items = []
    for trial in range(300):
        item: set[int] = set()
        for pool in rng.sample(pools, rng.randint(0, 2)):
            item.update(rng.sample(pool, min(len(pool), rng.randint(0, 30))))
        item.update(rng.getrandbits(64) for _ in range(rng.randint(0, 40)))
        items.append(np.array(sorted(item), dtype=np.uint64))  # some empty, some all seed, some none
    for min_shared in (1, 8):
        assert seeds.overlaps_many(items, min_shared) == [seeds.overlaps(i, min_shared) for i in items]
    assert seeds.overlaps_many([], 8) == []
