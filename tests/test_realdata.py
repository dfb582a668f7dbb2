"""Every real feed and every file of feedparser's own edge-case suite goes through fetch, parse and store
from a local server, and none of them crashes the poll.

The data lives in ../shared/realdata (not shipped with the project); without it these tests skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from util import SHARED, write_config
from watcher import config as config_mod
from watcher import pipeline, store

REALDATA = SHARED / "realdata"
pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"{REALDATA} is absent: real-data tests need ../shared")


def _groups() -> list[tuple[str, list[Path]]]:
    if not REALDATA.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for base in (REALDATA / "feeds", REALDATA / "peer_suites" / "feedparser"):
        for f in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = f.relative_to(REALDATA)
            # One poll per folder (split the big ones) keeps each test short and lets xdist spread them.
            key = "/".join(rel.parts[:3]) if rel.parts[0] == "peer_suites" else "/".join(rel.parts[:2])
            groups.setdefault(key, []).append(f)
    out = []
    for key, files in groups.items():
        for i in range(0, len(files), 400):
            out.append((f"{key}[{i // 400}]", files[i:i + 400]))
    return out


GROUPS = _groups()


@pytest.mark.parametrize("files", [g[1] for g in GROUPS], ids=[g[0] for g in GROUPS])
def test_real_files_poll_without_crashing(files, feed_server, tmp_path):
    sources = []
    for i, f in enumerate(files):
        url = feed_server.add(f"/{i}/{f.name}", f.read_bytes(), content_type="application/xml")
        # The items link to the real sites: full text must not follow them off this machine.
        sources.append({"name": f"s{i}", "url": url, "fulltext": "never"})
    # The peer suites' files are a few KB each: parsed in the polling process (as a poll of a few
    # sources is), since shipping each to a worker costs more CPU than parsing it. Real feeds use the pool.
    tiny = files[0].relative_to(REALDATA).parts[0] == "peer_suites"
    cfg = config_mod.load(write_config(tmp_path, sources, "fetch: {workers: 1}" if tiny else ""))
    db = store.connect(cfg.db_path)
    summary = pipeline.poll(cfg, db)  # an unhandled exception anywhere fails the test
    assert len(summary.sources) == len(files)
    # Every failure is a classified value with a message naming what went wrong.
    for o in summary.failed:
        assert o.error_kind and o.error, o
    stored = db.execute("SELECT count(DISTINCT source) FROM items").fetchone()[0]
    fetches = db.execute("SELECT count(*) FROM fetches").fetchone()[0]
    assert fetches == len(files)
    # Real publishers' feeds are well formed enough that nearly all of them yield items.
    if files[0].parts[-3] == "feeds" or files[0].parent.parent.name == "feeds":
        assert stored >= 0.9 * len(files), [o for o in summary.failed]
