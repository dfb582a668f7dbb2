"""The storage package: a store written by the last release opens and keeps working; SCHEMA builds the
same tables as the release's migration steps; dry_run changes nothing; re-rendering a digest writes
nothing; feed.atom comes from the records."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from util import rss, write_config
from watcher import config as config_mod
from watcher import digest, export, review, store
from watcher.ingest import store_source
from watcher.model import FetchResult
from watcher.pipeline import load_processors
from watcher.prepare import prepare_feed
from watcher.replay import recheck, rematch

RELEASE = Path(__file__).parent / "fixtures" / "store" / "release-e82578d.sql"
DAY = date(2026, 11, 20)


def _release_store(path: Path) -> None:
    """The store the release (e82578d) wrote: its own SQL dump, loaded into a new file."""
    conn = sqlite3.connect(path)
    conn.executescript(RELEASE.read_text(encoding="utf-8"))
    conn.close()


def _shape(db) -> dict:
    """Tables, their columns (name, type, not null, default, pk) and their indexes (unique? partial?)."""
    out = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                              " AND name != '_sqlite_migrations' ORDER BY name"):
        cols = [tuple(r[1:]) for r in db.execute(f"PRAGMA table_info({name})")]
        idx = sorted((r[1], r[2], r[4]) for r in db.execute(f"PRAGMA index_list({name})"))  # name, unique, partial
        out[name] = (cols, idx)
    return out


@pytest.fixture
def released(tmp_path: Path):
    cfg_path = write_config(tmp_path, [{"name": "wire", "url": "http://127.0.0.1:9/wire.xml", "language": "en"},
                                       {"name": "mirror", "url": "http://127.0.0.1:9/mirror.xml", "language": "en"},
                                       {"name": "broken", "url": "http://127.0.0.1:9/broken.xml"}])
    cfg = config_mod.load(cfg_path)
    cfg.db_path.parent.mkdir(parents=True)
    _release_store(cfg.db_path)
    return cfg, store.connect(cfg.db_path)


def test_a_release_store_opens_with_nothing_to_migrate_and_the_same_shape_as_a_new_one(released, tmp_path):
    cfg, db = released
    applied = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied[:3] == ["m001_initial", "m010_digests_reviews", "m020_dedup_index"]  # the release's
    assert applied[3:] == [m.name for m in store.migrations._migrations[3:]]  # steps added since
    assert not store.migrations.pending(db)
    assert _shape(db) == _shape(store.connect(tmp_path / "new.db"))


def test_a_release_store_reads_as_it_was_written(released):
    cfg, db = released
    rows = list(export.rows(db))
    assert [(r["id"], r["source"], r["version"], r["duplicate_of"], r["review_status"]) for r in rows] == [
        (1, "wire", 2, None, "accepted"), (2, "wire", 1, None, None), (3, "mirror", 1, "item:1", None)]
    assert rows[0]["relevant"] is True and rows[0]["topics"]
    assert [(v.version, v.title[:10]) for v in store.versions(db, 1)] == [(1, "Nvidia H20")]
    assert [(e.status, e.who, e.note) for e in store.review_history(db, 1)] == [("accepted", "analyst", "BIS rule")]
    assert [r.id for r in store.reposts(db, 1)] == [3]
    # The digest it built renders again from its record, with the same item and header.
    d = digest.build(cfg, db, DAY, now=datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert d.rebuilt and [e.id for _, es in d.groups for e in es] == [1]
    assert [f["source"] for f in d.failures] == ["broken"]
    assert [a["id"] for _, es in d.groups for e in es for a in e.also_in] == [3]


def test_a_release_store_keeps_working(released):
    cfg, db = released
    matcher, dd = load_processors(cfg)
    mirror = next(s for s in cfg.sources if s.name == "mirror")
    body = rss([{"guid": "m2", "title": "Nvidia H20 export controls tightened again",
                 "link": "https://example.com/a?utm_source=y", "description": "Another copy.",
                 "pubDate": "Fri, 20 Nov 2026 09:00:00 GMT"}]).encode()
    now = datetime(2026, 11, 21, 1, 0, tzinfo=timezone.utc)
    out = store_source(db, cfg, mirror, FetchResult(url=mirror.url, final_url=mirror.url, status=200, content=body),
                       prepare_feed(matcher, body, {}, mirror.url, "en"), dd=dd, now=now, duration=0.0)
    assert out.new == 1
    new = next(r for r in export.rows(db) if r["guid"] == "m2")
    assert (new["duplicate_of"], new["dup_method"]) == ("item:1", "link")  # found through the old rows
    assert review.decide(db, [2], "rejected", who="t", now=now) == 1
    assert recheck(db, dd, since=None).checked == 4
    assert digest.build(cfg, db, DAY + timedelta(days=1), now=now + timedelta(hours=20)).total == 0


def test_dry_runs_report_what_a_real_run_does_and_change_nothing(released):
    cfg, db = released
    matcher, dd = load_processors(cfg)
    db.execute("UPDATE items SET duplicate_of = NULL, dup_method = NULL, dup_score = NULL WHERE id = 3")
    before = list(export.rows(db))
    dry = recheck(db, dd, since=None, dry_run=True)
    assert [c.item_id for c in dry.changed] == [3]
    assert list(export.rows(db)) == before
    assert review.decide(db, [1, 2], "later", who="t", now=datetime.now(timezone.utc), dry_run=True) == 2
    assert rematch(db, matcher, since=None, dry_run=True).checked == 3
    assert list(export.rows(db)) == before and len(store.review_history(db, 1)) == 1
    real = recheck(db, dd, since=None)
    assert real.changed == dry.changed
    assert next(r for r in export.rows(db) if r["id"] == 3)["duplicate_of"] == "item:1"


def test_rendering_a_built_digest_writes_nothing_and_the_atom_feed_comes_from_the_records(released, monkeypatch):
    cfg, db = released
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    result = digest.make_digest(cfg, db, DAY, now=datetime(2026, 11, 30, tzinfo=timezone.utc))
    db.conn.set_trace_callback(None)
    assert result.digest.rebuilt and result.digest.total == 1
    writes = [s for s in statements if s.split()[0].upper() in ("BEGIN", "INSERT", "UPDATE", "DELETE", "SAVEPOINT")]
    assert writes == []
    # feed.atom renders every recorded digest from its record; it never builds one again.
    monkeypatch.setattr(digest, "build", lambda *a, **k: pytest.fail("feed.atom rebuilt a digest"))
    files = digest.write_files(cfg, db, result.digest)
    atom = files[-1].read_text(encoding="utf-8")
    assert atom.count("<entry>") == 1 and "2026-11-20" in atom


@pytest.mark.parametrize("savepoint", [True, False])
def test_a_write_inside_a_transaction_is_undone_with_it_whether_or_not_it_has_a_savepoint(tmp_path, savepoint):
    # The pipeline stores many sources in one transaction without a savepoint each (ingest.store_source):
    # an error in one must still leave nothing of the batch behind.
    db = store.connect(tmp_path / "watcher.db")
    store.apply(db, [store.SourceDeferred("nobody", "x")])  # a no-op write: the store exists
    db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://127.0.0.1/a')")
    with pytest.raises(RuntimeError):
        with store.write(db):
            store.apply(db, [store.SourceDeferred("a", "first")])
            with store.write(db, savepoint=savepoint):
                store.apply(db, [store.SourceDeferred("a", "second")])
                raise RuntimeError("a bug while storing one source")
    assert db.execute("SELECT deferred FROM sources WHERE name = 'a'").fetchone()[0] is None
    # Without an error, the inner block's writes are the outer transaction's.
    with store.write(db):
        with store.write(db, savepoint=savepoint):
            store.apply(db, [store.SourceDeferred("a", "kept")])
    assert db.execute("SELECT deferred FROM sources WHERE name = 'a'").fetchone()[0] == "kept"
