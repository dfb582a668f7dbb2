"""What one process keeps between polls (`watcher run` polls every few minutes; so does the suite):
the compiled keyword list, the seed index, the TLS settings. Each is reused only while its files are
unchanged, and an edit is seen by the very next load. Also when a poll forks its parser workers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from util import ROOT
from watcher import pipeline
from watcher.config import Config, FetchSettings
from watcher.dedup import SeedIndex
from watcher.errors import ConfigError
from watcher.match import Matcher

KEYWORDS = ROOT / "seeds" / "keywords.yaml"
STORY = "Regulators weigh a quokka export levy"


def test_an_unchanged_keyword_list_is_compiled_once_and_an_edit_is_seen_at_the_next_load(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    shutil.copy(KEYWORDS, path)
    first = Matcher.load(path)
    assert Matcher.load(path) is first
    assert not first.match(STORY, "", "").relevant
    text = path.read_text(encoding="utf-8")
    # A new rule, heavy enough alone: the analyst tunes the list while `watcher run` keeps polling.
    path.write_text(text.replace("\ntopics:\n", "\ntopics:\n  quokka:\n    - weight: 10\n      en: [quokka export]\n", 1),
                    encoding="utf-8")
    edited = Matcher.load(path)
    assert edited is not first and edited.match(STORY, "", "").relevant
    path.write_text(text, encoding="utf-8")  # and back: the first list again
    assert not Matcher.load(path).match(STORY, "", "").relevant
    # Broken by the next edit: refused with its line, though the same path loaded fine before.
    path.write_text(text.replace("threshold: 3", "threshold: [3", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        Matcher.load(path)
    assert str(path) in str(e.value)


def test_unchanged_seeds_give_the_same_index_and_every_state_folder_still_gets_its_cache(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    first = SeedIndex.load(seeds, tmp_path / "a")
    assert SeedIndex.load(seeds, tmp_path / "a") is first
    # Another store's state folder in the same process: same index, and the folder's own cache files.
    assert SeedIndex.load(seeds, tmp_path / "b") is first
    assert len(list((tmp_path / "b" / "seeds").glob("*.json"))) == len(first.seeds) > 0
    name = first.names[0]
    (seeds / name).write_text("Một bài hoàn toàn mới về chip và xuất khẩu.\n", encoding="utf-8")
    edited = SeedIndex.load(seeds, tmp_path / "a")
    assert edited is not first and edited.fingerprint != first.fingerprint
    assert edited.names == first.names and edited.seeds[0].sha256 != first.seeds[0].sha256


@pytest.mark.parametrize("workers,sources,expected", [
    (0, 1, 0), (0, 2, 0), (0, 7, 0),   # one per core, but a few feeds parse faster here than in a pool
    (0, 8, "cores"), (0, 500, "cores"),
    (2, 3, 2), (3, 2, 2),              # asked for: a pool, at most one worker per source
    (1, 50, 1),                        # one worker: parse here (make_pool makes none)
])
def test_a_pool_is_forked_for_many_sources_or_when_asked(workers: int, sources: int, expected: int | str) -> None:
    cores = os.cpu_count() or 1
    cfg = Config(path=Path("sources.yaml"), sources=(), seeds_dir=Path("seeds"), state_dir=Path("state"),
                 keywords_path=KEYWORDS, fetch=FetchSettings(workers=workers))
    want = min(cores, sources) if expected == "cores" else expected
    assert pipeline._worker_count(cfg, sources) == want
