"""Reposts of stored items: found through the LSH index, verified, linked to the earliest original."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from dedup_helpers import T0, Store, also_in
from watcher.config import DedupSettings
from watcher import store
from watcher.dedup import SeedIndex
from watcher.model import Neighbours

STORIES = yaml.safe_load((Path(__file__).parent / "fixtures/dedup/seed_cases.yaml").read_text(encoding="utf-8"))[
    "new_stories"]

WIRE_TITLE = "Malaysia to require permits for exports of US-made AI chips"
WIRE_SUMMARY = ("Malaysia will require companies to obtain a trade permit before exporting or moving high-end "
                "US-made AI chips through the country, the trade ministry said on Monday, as Washington presses "
                "Kuala Lumpur to stop processors reaching China.")
WIRE_CONTENT = WIRE_SUMMARY + "\n" + (
    "The rule takes effect immediately and applies to any item listed in US export control rules, the ministry "
    "said in a statement. Firms must give 30 days notice before shipping such chips.\n"
    "Data centres in Johor have grown fast in the past two years, drawing investment from US and Chinese "
    "cloud companies alike, and officials say they want to keep that business without becoming a route for "
    "smuggling.")


@pytest.fixture
def st(tmp_path):
    return Store(tmp_path, seeds=SeedIndex([]))


def test_same_story_in_another_feed_points_at_the_first(st):
    first, d1 = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT)
    assert d1.duplicate_of is None
    later = T0 + timedelta(hours=3)
    second, d2 = st.add(source="scmp", title=WIRE_TITLE + " - SCMP", summary=WIRE_SUMMARY, content=WIRE_CONTENT,
                        published=later)
    assert d2.duplicate_of == f"item:{first}" and d2.method in ("resemblance", "containment")
    assert d2.score >= DedupSettings().resemblance
    assert [r["id"] for r in also_in(st.db, first)] == [second]
    assert also_in(st.db, second) == []


def test_summary_only_repost_of_a_full_item(st):
    first, _ = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT)
    _, d = st.add(source="aggregator", title=WIRE_TITLE, summary=WIRE_SUMMARY, published=T0 + timedelta(days=2))
    assert d.duplicate_of == f"item:{first}" and d.method == "containment"


def test_full_text_after_a_teaser_is_a_repost_of_the_teaser(st):
    first, _ = st.add(source="aggregator", title=WIRE_TITLE, summary=WIRE_SUMMARY)
    _, d = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT,
                  published=T0 + timedelta(hours=1))
    assert d.duplicate_of == f"item:{first}"


@pytest.mark.parametrize("days,found", [(13, True), (15, False)])
def test_window(st, days, found):
    first, _ = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT)
    _, d = st.add(source="scmp", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT,
                  published=T0 + timedelta(days=days))
    assert (d.duplicate_of == f"item:{first}") is found


def test_window_is_configurable(tmp_path):
    st = Store(tmp_path, settings=DedupSettings(window_days=30), seeds=SeedIndex([]))
    first, _ = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT)
    _, d = st.add(source="scmp", title=WIRE_TITLE, summary=WIRE_SUMMARY, published=T0 + timedelta(days=20))
    assert d.duplicate_of == f"item:{first}"


def test_earlier_published_item_stays_the_original(st):
    late, _ = st.add(source="scmp", title=WIRE_TITLE, summary=WIRE_SUMMARY, published=T0 + timedelta(days=1))
    _, d = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, published=T0)
    assert d.duplicate_of is None  # it came out first; it is nobody's repost
    # Re-deciding the late one still names nobody but the earlier one.
    again = st.decide(item_id=late, source="scmp", title=WIRE_TITLE, summary=WIRE_SUMMARY,
                      published=T0 + timedelta(days=1))
    assert again.duplicate_of is not None and again.duplicate_of != f"item:{late}"


def test_same_link_with_tracking_is_one_item(st):
    first, _ = st.add(source="vne", link="https://vnexpress.net/a-4220079.html", title="Cổ phiếu Cambricon tăng",
                      summary="Một đoạn ngắn.")
    _, d = st.add(source="vne-latest", title="Cổ phiếu Cambricon vượt Moutai", summary="Tóm tắt khác hẳn.",
                  link="http://m.vnexpress.net/a-4220079.html?utm_source=rss&utm_medium=feed",
                  published=T0 + timedelta(minutes=5))
    assert (d.duplicate_of, d.method, d.score) == (f"item:{first}", "link", 1.0)


def test_repost_of_a_repost_names_the_original(st):
    a, _ = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT)
    b, db_ = st.add(source="scmp", link="https://scmp.com/x", title=WIRE_TITLE, summary=WIRE_SUMMARY,
                    content=WIRE_CONTENT, published=T0 + timedelta(hours=1))
    _, dc = st.add(source="yahoo", link="https://amp.scmp.com/x?utm_source=yahoo", title="Other title",
                   summary="x", published=T0 + timedelta(hours=2))
    assert db_.duplicate_of == f"item:{a}"
    assert dc.duplicate_of == f"item:{a}" and dc.method == "link"
    assert len(also_in(st.db, a)) == 2


def test_editing_an_item_does_not_make_it_its_own_duplicate(st):
    first, _ = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT,
                      link="https://reuters.com/a")
    d = st.edit(first, title=WIRE_TITLE + " (corrected)", summary=WIRE_SUMMARY, content=WIRE_CONTENT,
                link="https://reuters.com/a")
    assert d.duplicate_of is None
    # and, indexed again with its new text, later reposts still find it
    _, d2 = st.add(source="scmp", title=WIRE_TITLE, summary=WIRE_SUMMARY, published=T0 + timedelta(hours=1))
    assert d2.duplicate_of == f"item:{first}"


def test_different_stories_on_one_topic_are_all_new(st):
    for i, s in enumerate(STORIES + [{"title": WIRE_TITLE, "text": WIRE_CONTENT, "lang": "en"}]):
        _, d = st.add(source=f"feed{i}", title=s["title"], summary=s["text"], language=s["lang"],
                      published=T0 + timedelta(hours=i))
        assert d.duplicate_of is None, (s["title"], d)


def test_short_items_sharing_a_stock_phrase_are_not_duplicates(st):
    st.add(source="a", title="Nvidia shares fall", summary="US export controls on AI chips to China.")
    _, d = st.add(source="b", title="Huawei profit rises", summary="US export controls on AI chips to China.",
                  published=T0 + timedelta(hours=1))
    assert d.duplicate_of is None


def test_original_stored_after_its_repost_takes_over(st):
    """Feeds are read in some order: the repost may be stored first. The earlier item still wins."""
    repost, d1 = st.add(source="scmp", title=WIRE_TITLE, summary=WIRE_SUMMARY, content=WIRE_CONTENT,
                        published=T0 + timedelta(hours=2))
    assert d1.duplicate_of is None
    relink, _ = st.add(source="yahoo", link="https://yahoo.com/x", title="t", summary="u",
                       published=T0 + timedelta(hours=3))
    st.db.execute("UPDATE items SET duplicate_of = ? WHERE id = ?", [f"item:{repost}", relink])
    original, d2 = st.add(source="reuters", title=WIRE_TITLE, summary=WIRE_SUMMARY, published=T0)
    assert d2.duplicate_of is None
    got = dict(st.db.execute("SELECT id, duplicate_of FROM items").fetchall())
    assert got[repost] == f"item:{original}" and got[relink] == f"item:{original}"
    assert {r["id"] for r in also_in(st.db, original)} == {repost, relink}


def test_same_link_stored_later_but_published_earlier(st):
    later, _ = st.add(source="b", link="https://example.com/a?utm_source=x", title="B", summary="b",
                      published=T0 + timedelta(hours=1))
    first, _ = st.add(source="a", link="https://example.com/a", title="A", summary="a", published=T0)
    row = st.db.execute("SELECT duplicate_of, dup_method FROM items WHERE id = ?", [later]).fetchone()
    assert tuple(row) == (f"item:{first}", "link")


def _every_link_copy(real):
    """store.neighbours as it was: every stored item with the link, not only the ones decide() reads."""
    from watcher.store import lsh

    def neighbours(db, *, link_key, keys, published, window_days, exclude):
        got = real(db, link_key=link_key, keys=keys, published=published, window_days=window_days,
                   exclude=exclude)
        if link_key is None:
            return got
        rows = db.execute(f"{lsh._LINK_NEIGHBOUR} WHERE i.canonical_link = ? AND i.id IS NOT ? ORDER BY i.id",
                          [store.iso(published), link_key, exclude]).fetchall()
        return Neighbours(by_link=[lsh._neighbour(r, None) for r in rows], near=got.near)
    return neighbours


@pytest.mark.parametrize("seed", range(1, 9))
def test_link_copies_end_as_if_every_copy_were_read(tmp_path, monkeypatch, seed):
    # store.neighbours reads, of the items sharing a link, only the earliest and those after the item
    # decided. Copies arriving in any order (equal dates too), with corrections, must end with the
    # same duplicate_of as when every copy is read.
    def run(where, neighbours) -> list[tuple]:
        monkeypatch.setattr(store, "neighbours", neighbours)
        st = Store(where, seeds=SeedIndex([]))
        rng = random.Random(seed)
        ids = []
        for step in range(18):
            published = T0 + timedelta(hours=rng.choice([0, 0, 1, 1, 2, 5]))
            link = rng.choice(["https://example.com/a", "https://m.example.com/a?utm_source=x",
                               "https://example.com/b"])
            if ids and rng.random() < 0.3:
                st.edit(rng.choice(ids), link=link, title=f"corrected {step}", summary="s", published=published)
            else:
                ids.append(st.add(source=f"s{step % 4}", guid=f"g{step}", link=link, title=f"copy {step}",
                                  summary="s", published=published)[0])
        return [(i, (it := store.get_item(st.db, i)).duplicate_of, it.dup_method) for i in ids]

    real = store.neighbours
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert run(tmp_path / "a", real) == run(tmp_path / "b", _every_link_copy(real))
