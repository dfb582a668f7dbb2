"""Only what a reader can see is fingerprinted whole (issue 10): an item with a match score above zero
is fingerprinted, indexed and checked against the seeds (in its language and across languages) and
earlier items; an item that hits no keyword is checked against its canonical link and the seeds in
its own language only, and has no LSH rows. `rematch` fingerprints an item whose score rises above
zero and checks it as a poll would have.

Real parts: feeds served from 127.0.0.1, a real SQLite store, the poll and rematch through the CLI
entry point (in-process), the project's own seeds.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from util import ROOT, rss, run_cli, write_config
from watcher import store

# H20 is the only term at first; the second list adds Bitcoin, which the first seed (000) is about.
LIST = """
threshold: 3
topics:
  models:
    - weight: 3
      any: [H20]
"""
LIST_WITH_BITCOIN = LIST + """  mining:
    - weight: 3
      any: [Bitcoin]
"""

SEED = next((ROOT / "seeds").glob("000_*.txt"))

WIRE_TITLE = "Malaysia to require permits for exports of Nvidia H20 chips"
WIRE = ("Malaysia will require companies to obtain a trade permit before exporting or moving Nvidia H20 chips "
        "and other high-end US-made AI processors through the country, the trade ministry said on Monday, as "
        "Washington presses Kuala Lumpur to stop the processors reaching China. The rule takes effect at once "
        "and applies to any item listed in US export control rules. Firms must give 30 days notice before "
        "shipping such chips, and data centres in Johor that rent out computing power will be inspected.")
RICE_TITLE = "Rice exports rise as farmers in the delta bring in a record harvest"
RICE = ("Rice exports rose by a fifth in the first ten months of the year, the agriculture ministry said on "
        "Tuesday, as farmers in the Mekong delta brought in a record harvest and buyers in the Philippines and "
        "Indonesia placed larger orders than a year earlier. Prices for broken rice eased slightly while "
        "fragrant varieties held steady, and traders expect shipments to stay strong into the new year.")
# An English retelling of part of seed 000 (Vietnamese), as in test_dedup_crosslingual.py.
RETELL_TITLE = "Ex-bitcoin miners rent H100 servers to Chinese AI firms"
RETELL = (
    "Former Bitcoin miner Derek Aw has built more than 300 servers with Nvidia H100 chips for a data centre "
    "in Brisbane, Australia, which began running AI workloads for a company in Beijing three weeks later. "
    "Renting remote computing is nothing new: many firms use Google Cloud, Microsoft Azure and AWS, but US "
    "rules bar them from serving Chinese companies. Buyers often go through subsidiaries in Singapore.")
MINERS_TITLE = "Former Bitcoin miners rent out data centres to artificial intelligence firms"
MINERS = ("Former Bitcoin miners are turning their warehouses into data centres and renting them out to "
          "artificial intelligence developers, several operators said this week. Cheap power contracts signed "
          "for mining make the halls attractive, and some have already signed multi-year leases with cloud "
          "companies, while others are still looking for tenants after the latest halving cut their income.")


def _date(days_ago: float) -> str:
    return format_datetime(datetime.now(timezone.utc) - timedelta(days=days_ago))


@pytest.fixture
def project(tmp_path: Path, feed_server):
    """Two feeds: `a` carries the originals, `b` (published later) repeats them under other links."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for f in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(f, seeds / f.name)
    (seeds / "keywords.yaml").write_text(LIST, encoding="utf-8")
    seed_text = SEED.read_text(encoding="utf-8")
    feed_server.add("/a.xml", rss([
        {"guid": "a-wire", "link": "http://127.0.0.1/a/wire", "title": WIRE_TITLE, "description": WIRE,
         "pubDate": _date(3)},
        {"guid": "a-rice", "link": "http://127.0.0.1/a/rice", "title": RICE_TITLE, "description": RICE,
         "pubDate": _date(3)},
        {"guid": "a-miners", "link": "http://127.0.0.1/a/miners", "title": MINERS_TITLE, "description": MINERS,
         "pubDate": _date(3)},
        # The first seed, re-published, and retold in English: neither hits a keyword of the first list.
        {"guid": "a-seed", "link": "http://127.0.0.1/a/seed", "title": seed_text.splitlines()[0][:80],
         "description": seed_text, "pubDate": _date(3)},
        {"guid": "a-retell", "link": "http://127.0.0.1/a/retell", "title": RETELL_TITLE, "description": RETELL,
         "pubDate": _date(3)},
    ]))
    feed_server.add("/b.xml", rss([
        {"guid": "b-wire", "link": "http://127.0.0.1/b/wire", "title": WIRE_TITLE + " - Reuters",
         "description": WIRE, "pubDate": _date(1)},
        {"guid": "b-rice", "link": "http://127.0.0.1/b/rice", "title": RICE_TITLE, "description": RICE,
         "pubDate": _date(1)},
        # a's rice item under a tracking parameter: the same canonical link.
        {"guid": "b-rice-link", "link": "http://127.0.0.1/a/rice?utm_source=feed", "title": "Rice (syndicated)",
         "description": "Exports rose.", "pubDate": _date(1)},
        {"guid": "b-miners", "link": "http://127.0.0.1/b/miners", "title": MINERS_TITLE, "description": MINERS,
         "pubDate": _date(1)},
    ]))
    config = write_config(tmp_path, [{"name": "a", "url": feed_server.url("/a.xml")},
                                     {"name": "b", "url": feed_server.url("/b.xml"), "language": "en"}])
    text = config.read_text(encoding="utf-8").replace(str(ROOT / "seeds"), str(seeds))
    config.write_text(text, encoding="utf-8")
    run_cli(config, "poll")
    return config, seeds


def _items(config: Path) -> dict[str, store.StoredItem]:
    db = store.connect(config.parent / "state" / "watcher.db")
    try:
        return {i.guid: i for i in store.iter_items(db)}
    finally:
        db.conn.close()


def _indexed(config: Path) -> dict[int, int]:
    """LSH rows per item id (dedup_keys), for every item with any."""
    db = store.connect(config.parent / "state" / "watcher.db")
    try:
        return {r[0]: r[1] for r in db.execute("SELECT item_id, count(*) FROM dedup_keys GROUP BY item_id")}
    finally:
        db.conn.close()


def test_a_repost_of_a_relevant_item_is_linked_to_its_original(project):
    config, _ = project
    items = _items(config)
    assert items["a-wire"].relevant and items["a-wire"].duplicate_of is None
    assert items["b-wire"].duplicate_of == f"item:{items['a-wire'].id}"
    assert items["b-wire"].review_status is None  # a repost does not enter the queue a second time
    assert _indexed(config).get(items["a-wire"].id, 0) > 0


def test_an_item_that_hits_no_keyword_has_no_lsh_rows_and_is_checked_by_link_and_seed_only(project):
    config, _ = project
    items = _items(config)
    indexed = _indexed(config)
    quiet = ["a-rice", "b-rice", "b-rice-link", "a-miners", "b-miners", "a-seed", "a-retell"]
    assert all(items[g].score == 0 for g in quiet)
    assert [g for g in quiet if g in {i.guid for i in items.values() if i.id in indexed}] == []
    assert set(indexed) == {items["a-wire"].id, items["b-wire"].id}
    # Dedup by canonical link still applies to every item.
    assert items["b-rice-link"].duplicate_of == f"item:{items['a-rice'].id}"
    assert items["b-rice-link"].dup_method == "link"
    # A copy of a seed is recognised whatever its score (it is the story the seeds tell)...
    assert items["a-seed"].duplicate_of == f"seed:{SEED.name}"
    assert items["a-seed"].dup_method in ("containment", "resemblance")
    # ...but not a repost of another item, nor a retelling of a seed in another language.
    assert items["b-rice"].duplicate_of is None and items["b-miners"].duplicate_of is None
    assert items["a-retell"].duplicate_of is None


def test_rematch_checks_an_item_that_gains_a_score_against_the_seeds_and_earlier_items(project):
    config, seeds = project
    (seeds / "keywords.yaml").write_text(LIST_WITH_BITCOIN, encoding="utf-8")
    out = run_cli(config, "rematch").stdout
    items = _items(config)
    assert all(items[g].relevant for g in ("a-seed", "a-retell", "a-miners", "b-miners"))
    # Against the seeds: the retelling is now a possible duplicate of the first seed (across languages),
    # and the copy of it still a certain one, kept out of the queue.
    assert (items["a-retell"].duplicate_of, items["a-retell"].dup_method, items["a-retell"].dup_possible) == (
        f"seed:{SEED.name}", "crosslingual", True)
    assert items["a-seed"].duplicate_of == f"seed:{SEED.name}" and not items["a-seed"].dup_possible
    assert items["a-seed"].review_status is None
    # Against earlier items: b's copy points at a's, which is queued once.
    assert items["a-miners"].duplicate_of is None and items["a-miners"].review_status == "new"
    assert items["b-miners"].duplicate_of == f"item:{items['a-miners'].id}"
    assert items["b-miners"].review_status is None
    # And they are in the index now, so a later repost of them is found as a poll would find it.
    indexed = _indexed(config)
    assert {items[g].id for g in ("a-seed", "a-retell", "a-miners", "b-miners")} <= set(indexed)
    assert items["a-rice"].id not in indexed
    assert "4 now checked for duplicates" in out and f"repeats seed:{SEED.name} (crosslingual, possible)" in out


def test_an_item_made_relevant_by_rematch_becomes_the_original_of_a_later_polled_repost(project, feed_server):
    config, seeds = project
    (seeds / "keywords.yaml").write_text(LIST_WITH_BITCOIN, encoding="utf-8")
    run_cli(config, "rematch")
    feed_server.add("/b.xml", rss([
        {"guid": "b-miners-2", "link": "http://127.0.0.1/b/miners-again", "title": MINERS_TITLE + " (update)",
         "description": MINERS, "pubDate": _date(0.5)}]))
    run_cli(config, "poll", "--force")
    items = _items(config)
    assert items["b-miners-2"].duplicate_of == f"item:{items['a-miners'].id}"


def test_a_dry_run_rematch_fingerprints_nothing(project):
    config, seeds = project
    before = _indexed(config)
    (seeds / "keywords.yaml").write_text(LIST_WITH_BITCOIN, encoding="utf-8")
    out = run_cli(config, "rematch", "--dry-run").stdout
    assert "4 would become relevant" in out
    assert _indexed(config) == before and _items(config)["a-retell"].duplicate_of is None
