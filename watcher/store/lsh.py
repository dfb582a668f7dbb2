"""The dedup candidate index (`dedup_keys`, `dedup_indexed`) and the neighbour lookups dedup needs.

The keys are computed elsewhere (watcher/dedup/index.py, a pure function of an item's text); here
they are kept, and looked up: a stored item sharing a key with a candidate, or its canonical link, is
a neighbour, which the pure decider (watcher/dedup/decide.py) then verifies.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import numpy as np
import sqlite_utils

from ..times import iso, parse_iso
from .records import Neighbour, Neighbours

__all__ = ["index_add", "index_remove", "index_clear", "indexed_count", "neighbours", "candidates",
           "prune", "epoch"]

PER_KEY = 50  # posting rows read per key: a key shared by hundreds of items is boilerplate
NEAR_LIMIT = 40  # candidates per lookup, most shared keys first


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def index_add(db: sqlite_utils.Database, item_id: int, published: int, keys: list[int]) -> None:
    index_remove(db, item_id)
    blob = np.asarray(keys, dtype=np.int64).tobytes()
    db.execute("INSERT INTO dedup_indexed (item_id, published, keys) VALUES (?, ?, ?)", [item_id, published, blob])
    db.conn.executemany("INSERT OR IGNORE INTO dedup_keys (key, item_id) VALUES (?, ?)", [(k, item_id) for k in keys])


def index_remove(db: sqlite_utils.Database, item_id: int) -> None:
    row = db.execute("SELECT keys FROM dedup_indexed WHERE item_id = ?", [item_id]).fetchone()
    if row is None:
        return
    keys = np.frombuffer(row[0], dtype=np.int64).tolist()
    db.conn.executemany("DELETE FROM dedup_keys WHERE key = ? AND item_id = ?", [(k, item_id) for k in keys])
    db.execute("DELETE FROM dedup_indexed WHERE item_id = ?", [item_id])


def index_clear(db: sqlite_utils.Database) -> None:
    db.execute("DELETE FROM dedup_keys")
    db.execute("DELETE FROM dedup_indexed")


def indexed_count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM dedup_indexed").fetchone()[0])


def prune(db: sqlite_utils.Database, before: int) -> int:
    """Drop items published before `before` (epoch seconds) from the index; returns how many."""
    ids = [r[0] for r in db.execute("SELECT item_id FROM dedup_indexed WHERE published < ?", [before])]
    for iid in ids:
        index_remove(db, iid)
    return len(ids)


def candidates(db: sqlite_utils.Database, keys: list[int], *, lo: int, hi: int, exclude: int | None,
               per_key: int = PER_KEY, limit: int = NEAR_LIMIT) -> list[tuple[int, int, int]]:
    """(item_id, indexed published, shared keys) of indexed items sharing a key, published in [lo, hi],
    most shared keys first."""
    if not keys:
        return []
    # One statement for all keys, counted and filtered by SQLite: this runs for every new item, and a
    # wire story copied by a dozen feeds gives hundreds of posting rows that Python counted one by
    # one (bench/poll.py --feeds 1000: 7 s of the main process).
    one = "SELECT item_id FROM (SELECT item_id FROM dedup_keys WHERE key = ? ORDER BY item_id DESC LIMIT ?)"
    hits = " UNION ALL ".join([one] * len(keys))
    sql = (f"SELECT h.item_id, i.published, h.n FROM (SELECT item_id, count(*) AS n FROM ({hits})"
           " GROUP BY item_id) AS h JOIN dedup_indexed AS i ON i.item_id = h.item_id"
           " WHERE i.published BETWEEN ? AND ? AND h.item_id IS NOT ?"
           " ORDER BY h.n DESC, h.item_id LIMIT ?")
    params: list[int | None] = []
    for k in keys:
        params += (k, per_key)
    params += (lo, hi, exclude, limit)
    return [(r[0], r[1], r[2]) for r in db.conn.execute(sql, params)]


# What the decider reads of a neighbour, and of the item it names as its original (for its date).
_POINTS = (" i.duplicate_of, i.dup_possible, o.published FROM items AS i LEFT JOIN items AS o"
           " ON i.duplicate_of LIKE 'item:%' AND o.id = CAST(substr(i.duplicate_of, 6) AS INTEGER)")
_NEIGHBOUR = "SELECT i.id, i.published, i.title, i.summary, i.content," + _POINTS
# Found by link: no text (Neighbour says why), and the original's date only for a neighbour published
# no earlier than the item decided, the only ones adopt_later may re-point. Everything else it reads is
# in the index items_canonical_link, so a wire story's copies are found without reading their rows:
# the columns sit after the article text in a row, and reading them meant walking its overflow pages.
_LINK_NEIGHBOUR = ("SELECT i.id, i.published, '', '', '', i.duplicate_of, i.dup_possible, o.published"
                   " FROM items AS i LEFT JOIN items AS o ON i.published >= ? AND i.duplicate_of LIKE 'item:%'"
                   " AND o.id = CAST(substr(i.duplicate_of, 6) AS INTEGER)")


def _rows(db: sqlite_utils.Database, where: str, params: list) -> dict[int, tuple]:
    return {r[0]: r for r in db.execute(f"{_NEIGHBOUR} WHERE {where}", params)}


# The copies of a wire story are each other's link neighbours, so each later copy reads the dates of
# all the earlier ones again (bench/poll.py's workload has up to 9 copies of each item: parsing their
# dates was 2% of the storing thread in a py-spy of its cold poll). A date text always gives the same
# second, so keep the answers.
@functools.lru_cache(maxsize=8192)
def _stored_epoch(text: str) -> int:
    return epoch(parse_iso(text))


def _neighbour(r: tuple, indexed: int | None) -> Neighbour:
    return Neighbour(id=r[0], published=_stored_epoch(r[1]), indexed_published=indexed, title=r[2] or "",
                     summary=r[3] or "", content=r[4] or "", duplicate_of=r[5], dup_possible=bool(r[6]),
                     original_published=_stored_epoch(r[7]) if r[7] else None)


_NO_ID_AFTER = 2**63 - 1  # a new item's place in (published, id) order: after every stored item of its date


def neighbours(db: sqlite_utils.Database, *, link_key: str | None, keys: list[int], published: datetime,
               window_days: int, exclude: int | None) -> Neighbours:
    """Stored items with the same canonical link, and indexed items sharing LSH keys within
    `window_days` either side of `published` (earlier ones may be its original, later ones its
    reposts). `keys` empty: no index lookup (too short a text to verify anything against)."""
    by_link: list[Neighbour] = []
    if link_key is not None:
        when = iso(published)
        # Of the items with this link, the decider reads only the earliest (the one this item may
        # repeat) and those after this item (which it may become the original of): with `exclude`,
        # after it in (published, id) order; a new item comes after every stored one, so after it
        # means published later. The copies in between are left unread: a wire story's twelfth copy
        # read the eleven before it, and made an object of each (bench/poll.py's cold poll).
        rows = db.execute(
            f"{_LINK_NEIGHBOUR} WHERE i.canonical_link = ? AND i.id IS NOT ?"
            " AND (i.published > ? OR (i.published = ? AND i.id > ?))"
            f" UNION SELECT * FROM ({_LINK_NEIGHBOUR} WHERE i.canonical_link = ? AND i.id IS NOT ?"
            " ORDER BY i.published, i.id LIMIT 1) ORDER BY 1",
            [when, link_key, exclude, when, when, _NO_ID_AFTER if exclude is None else exclude,
             when, link_key, exclude]).fetchall()
        by_link = [_neighbour(r, None) for r in rows]
    near: list[Neighbour] = []
    if keys:
        me = epoch(published)
        window = int(timedelta(days=window_days).total_seconds())
        found = candidates(db, keys, lo=me - window, hi=me + window, exclude=exclude)
        if found:
            ids = [c[0] for c in found]
            rows_by_id = _rows(db, f"i.id IN ({','.join('?' * len(ids))})", ids)
            near = [_neighbour(rows_by_id[iid], pub) for iid, pub, _ in found if iid in rows_by_id]
    return Neighbours(by_link=by_link, near=near)
