"""The parser workers check an entry that hits no keyword against the seeds themselves and send the
storing process only the verdict, not the entry's shingles (issue 10: a worker's result was 1.8x the
feed's bytes, half of it those shingles). The verdict must be the one the storing process would reach,
and it must not outlive the text it was made on: when full text replaces a teaser with the article
page, the page is checked again.

Real parts: feeds and pages from 127.0.0.1, the real pipeline with its pool of two workers, a real store.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from util import ROOT, rss, write_config
from watcher import config as config_mod
from watcher import pipeline, store
from watcher.config import DedupSettings
from watcher.dedup import SeedIndex, decide, seed_verdicts
from watcher.dedup.decide import UNCHECKED, Candidate
from watcher.match import Matcher
from watcher.model import Neighbours
from watcher.prepare import prepare_feed
from watcher.times import utcnow

from test_fulltext import OFF_TOPIC_TEXT, furnished_page

SEED_NAME = "900_cycle_lane.txt"
OTHER = ("Rice exports rose by a fifth in the first ten months of the year, the agriculture ministry said on "
         "Tuesday, as farmers in the Mekong delta brought in a record harvest and buyers placed larger orders.")


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.load(ROOT / "seeds" / "keywords.yaml")


def test_a_worker_sends_the_verdict_and_not_the_shingles(matcher):
    seeds = SeedIndex.from_texts({SEED_NAME: OFF_TOPIC_TEXT})
    settings = DedupSettings()
    body = rss([{"guid": "copy", "title": "Council backs river cycle lane", "description": OFF_TOPIC_TEXT},
                {"guid": "other", "title": "Rice exports rise", "description": OTHER},
                {"guid": "chips", "title": "US tightens Nvidia H20 export controls to China",
                 "description": "The Commerce Department's BIS added rules on Nvidia H20 chips and the Entity List."}]).encode()
    check = functools.partial(seed_verdicts, seeds=seeds, settings=settings)
    here = {p.entry.guid: p for p in prepare_feed(matcher, body, {}, "http://127.0.0.1/f.xml", "en").entries}
    worker = {p.entry.guid: p for p in prepare_feed(matcher, body, {}, "http://127.0.0.1/f.xml", "en", check).entries}

    for guid in ("copy", "other"):
        assert worker[guid].match.score == 0
        assert worker[guid].fingerprint.full.size == 0 < here[guid].fingerprint.full.size  # no shingles sent
        # The verdict the storing process reaches from the carried answer is the one it reached itself.
        carried = decide(Candidate(None, here[guid].entry.published or utcnow(), worker[guid].fingerprint, None,
                                   seed=worker[guid].seed), Neighbours(), seeds, settings)
        itself = decide(Candidate(None, here[guid].entry.published or utcnow(), here[guid].fingerprint, None),
                        Neighbours(), seeds, settings)
        assert carried == itself
    assert worker["copy"].seed is not None and worker["copy"].seed.duplicate_of == f"seed:{SEED_NAME}"
    assert worker["other"].seed is None
    # An entry that hits a keyword is fingerprinted whole and decided by the store, as before.
    assert worker["chips"].match.score > 0 and worker["chips"].seed is UNCHECKED
    assert worker["chips"].fingerprint.full.size == here["chips"].fingerprint.full.size > 0


def _project(tmp_path: Path, feed_server, entries_a: list[dict]) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for f in (ROOT / "seeds").glob("*"):
        shutil.copy(f, seeds / f.name)
    (seeds / SEED_NAME).write_text(OFF_TOPIC_TEXT, encoding="utf-8")
    url_a = feed_server.add("/a.xml", rss(entries_a))
    url_b = feed_server.add("/b.xml", rss([{"guid": "b1", "title": "Rice exports rise", "description": OTHER}]))
    # Two sources and two workers: the feeds are prepared in the pool, as in any real poll.
    cfg = write_config(tmp_path, [{"name": "a", "url": url_a, "tags": ["export-controls"]}, {"name": "b", "url": url_b}],
                       "fetch: {total_timeout: 2, workers: 2}")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(ROOT / "seeds"), str(seeds)), encoding="utf-8")
    return cfg


def _stored(cfg_path: Path) -> dict[str, tuple]:
    cfg = config_mod.load(cfg_path)
    db = store.connect(cfg.db_path)
    try:
        pipeline.poll(cfg, db)
        return {r[0]: r[1:] for r in db.execute("SELECT guid, duplicate_of, dup_method, content_source, page_status, page_note FROM items")}
    finally:
        db.conn.close()


def test_a_seed_copy_that_hits_no_keyword_is_found_through_the_pool(feed_server, tmp_path):
    cfg = _project(tmp_path, feed_server, [
        {"guid": "copy", "title": "Council backs river cycle lane", "link": feed_server.url("/none/copy"),
         "description": OFF_TOPIC_TEXT}])
    got = _stored(cfg)
    assert got["copy"][0] == f"seed:{SEED_NAME}" and got["copy"][1] in ("containment", "resemblance")
    assert got["b1"][0] is None


def test_a_teaser_whose_article_page_copies_a_seed_is_checked_again_on_the_page(feed_server, tmp_path):
    # The teaser alone repeats nothing (the worker's verdict on it: no seed). Its source is tagged with a
    # topic, so its page is fetched; the page is the seed's text, and that is what the store must judge.
    feed_server.add("/a/lane.html", furnished_page("Council backs river cycle lane", OFF_TOPIC_TEXT, "nav"),
                    content_type="text/html")
    cfg = _project(tmp_path, feed_server, [
        {"guid": "teaser", "title": "Council backs river cycle lane", "link": feed_server.url("/a/lane.html"),
         "description": "The lane runs four kilometres."}])
    got = _stored(cfg)
    assert got["teaser"][2] == "page", got["teaser"]
    assert got["teaser"][0] == f"seed:{SEED_NAME}", got["teaser"]
