"""The same story in another language is flagged as a *possible* duplicate, and only then."""

from __future__ import annotations

import pytest

from dedup_helpers import SEEDS, decide_alone, seed_path
from watcher.config import DedupSettings
from watcher.dedup import SeedIndex
from watcher.dedup.crosslingual import anchors, script_language

# Written for this test: an English retelling of part of seed 000 (Vietnamese).
RETELLING = (
    "Former Bitcoin miner Derek Aw has built more than 300 servers with Nvidia H100 chips for a data centre "
    "in Brisbane, Australia, which began running AI workloads for a company in Beijing three weeks later. "
    "Renting remote computing is nothing new: many firms use Google Cloud, Microsoft Azure and AWS, but US "
    "rules bar them from serving Chinese companies. Buyers often go through subsidiaries in Singapore.")
OTHER_STORY = (
    "Nvidia said on Wednesday that sales to China fell sharply after Washington required licences for its "
    "H20 chip, and Huawei is expected to gain market share as Chinese cloud providers switch suppliers.")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return SeedIndex.load(SEEDS, tmp_path_factory.mktemp("xl") / "cache")


def test_retelling_in_another_language_is_a_possible_duplicate(seeds):
    d = decide_alone(seeds, DedupSettings(), title="Ex-bitcoin miners rent H100 servers to Chinese AI firms",
                     summary=RETELLING, language="en")
    assert (d.duplicate_of, d.method, d.possible) == (f"seed:{seed_path('000').name}", "crosslingual", True)
    assert d.score < 1.0


def test_other_story_sharing_topic_names_is_not_flagged(seeds):
    d = decide_alone(seeds, DedupSettings(), title="Nvidia China sales slump", summary=OTHER_STORY, language="en")
    assert d.duplicate_of is None


def test_flag_can_be_switched_off(seeds):
    d = decide_alone(seeds, DedupSettings(crosslingual=False), title="x", summary=RETELLING, language="en")
    assert d.duplicate_of is None


@pytest.mark.parametrize("text,lang", [
    ("Nhiều nhà phát triển AI của Trung Quốc đã tìm ra cách tiếp cận mới", "vi"),
    ("وبحسب صحيفة وول ستريت جورنال", "ar"),
    ("前比特币矿工在澳洲部署服务器", "zh"),
    ("Former bitcoin miners rent servers", "en"),
])
def test_script_language(text, lang):
    assert script_language(text) == lang


def test_anchors_survive_translation():
    zh = anchors("前比特币矿工在澳洲部署300台H100服务器，为北京AI公司提供算力，Derek Aw表示")
    assert {"300", "h100", "derek"} <= zh
    vi = anchors("Derek Aw, cựu thợ đào Bitcoin, đã xây dựng hơn 300 máy chủ với chip Nvidia H100.")
    assert {"300", "h100", "nvidia", "bitcoin"} <= vi and "cựu" not in vi and "chip" not in vi
