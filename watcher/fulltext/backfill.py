"""`watcher fulltext`: fetch article pages for items already stored, e.g. after a source is switched to
`fulltext: always`, or to retry pages that failed or were deferred.

The same steps as a poll's full-text step (policy, PageFetcher, extraction in worker processes), then
for each page: the item is matched and deduplicated again on the page's text and updated in place (no
new version: the feed did not change). Items of sources set to `never` are left alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from .. import store
from ..choices import unknown_message
from ..config import Config
from ..dedup import Candidate, index_keys
from ..dedup import decide as decide_dup
from ..errors import UsageError
from ..fetch import Fetcher
from ..links import canonical_link
from ..ingest import Dedup, repoint
from ..match import Matcher
from ..model import EntryData
from ..prepare import PreparedEntry, content_hash
from ..review import review_status_after
from . import storeops
from .enrich import FulltextPoll, Job, PageInfo
from .policy import decide


@dataclass
class Backfill:
    considered: int = 0
    fetched: int = 0
    ok: int = 0
    now_relevant: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # page_status -> count
    skipped: int = 0


def _prepared(row: storeops.StoredItem, matcher: Matcher) -> PreparedEntry:
    """The item as its feed gave it, prepared as a poll would have (the feed's own text)."""
    own = row.feed_content if row.content_source == "page" else row.content
    e = EntryData(guid=row.guid, guid_kind="guid", link=row.link, title=row.title, summary=row.summary,
                  content=own or "", summary_html="", published=None if row.published_is_fetch_time else row.published,
                  updated=None)
    from ..dedup.fingerprint import fingerprint, worth_fingerprinting

    m = matcher.match(e.title, e.summary, e.content, row.language)
    return PreparedEntry(entry=e, language=row.language, match=m,
                         fingerprint=fingerprint(e.title, e.summary, e.content, row.language,
                                                 seeds_only=not worth_fingerprinting(m.score)),
                         canonical_link=canonical_link(e.link), content_hash=content_hash(e))


def _save(db: sqlite_utils.Database, dd: Dedup, row: storeops.StoredItem, p: PreparedEntry, now: datetime) -> bool:
    """Store one page's outcome on its item; True when the item is now relevant and was not."""
    info: PageInfo = p.fulltext  # type: ignore[assignment]
    if info.content_source != "page":
        # A failure leaves the text as it is (the feed's, or a page's from an earlier fetch).
        store.apply(db, [store.PageUpdate(row.id, info)])
        return False
    e, m = p.entry, p.match
    published = row.published
    with store.write(db):
        # The page's text is matched and deduplicated as a poll does it: against the neighbours the
        # store finds for it (not itself), then the later items that repeat it are re-pointed.
        candidate = Candidate(row.id, published, p.fingerprint, p.canonical_link)
        keys = index_keys(p.fingerprint, dd.settings)
        neighbours = store.neighbours(db, link_key=p.canonical_link, keys=keys, published=published,
                                      window_days=dd.settings.window_days, exclude=row.id)
        d = decide_dup(candidate, neighbours, dd.seeds, dd.settings)
        store.apply(db, [
            store.PageUpdate(row.id, info, content=e.content, language=p.language),
            store.ItemChange(row.id, match=m, dedup=d,
                             review_status=review_status_after(row.review_status, m.relevant, d.duplicate_of)),
            store.IndexEntry(row.id, published, keys)])
        repoint(db, row.id, d, candidate, neighbours, dd)
    return m.relevant and not row.relevant


def backfill(cfg: Config, db: sqlite_utils.Database, matcher: Matcher, dd: Dedup, *,
             names: list[str] | None, since: datetime | None, missing: bool,
             progress: Callable[[int, int, storeops.StoredItem, str], None], now: datetime | None = None,
             pool=None) -> Backfill:
    known = {s.name: s for s in cfg.sources}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise UsageError("\n".join(f"{cfg.path}: " + unknown_message("source", n, known, option="--source",
                                                                      all_listed_by="`watcher status`")
                                   for n in unknown))
    sources = [known[n] for n in dict.fromkeys(names)] if names else list(cfg.sources)
    sources = [s for s in sources if s.fulltext != "never"]
    rows = storeops.candidates(db, [s.name for s in sources], since, missing) if sources else []
    out = Backfill(considered=len(rows))
    topics = set(matcher.list.topics)
    wanted: list[tuple[storeops.StoredItem, PreparedEntry]] = []
    for row in rows:
        p = _prepared(row, matcher)
        s = known[row.source]
        d = decide("always" if s.fulltext == "always" else "auto", p.entry, p.match,
                   lambda: matcher.mentions(p.entry.title, p.entry.summary, p.language), bool(topics & set(s.tags)))
        if d.fetch:
            wanted.append((row, p))
        else:
            out.skipped += 1
    when = now or store.utcnow()

    async def run() -> None:
        async with Fetcher(cfg.fetch, state_dir=cfg.state_dir) as fetcher:
            ft = FulltextPoll(cfg, db, fetcher, pool, matcher, when)

            async def one(row: storeops.StoredItem, p: PreparedEntry) -> tuple[storeops.StoredItem, PreparedEntry]:
                page = await ft.pages.fetch(p.entry.link or "")
                info = PageInfo(page.status, page.note, p.entry.link, store.iso(when))
                done = await ft.finish([Job(p, info, page=page if page.ok else None)]) if page.ok else \
                    [dataclasses.replace(p, fulltext=info)]
                return row, done[0]

            tasks = [asyncio.ensure_future(one(r, p)) for r, p in wanted]
            for i, fut in enumerate(asyncio.as_completed(tasks), 1):
                row, p = await fut
                info: PageInfo = p.fulltext  # type: ignore[assignment]
                out.fetched += 1
                out.now_relevant += _save(db, dd, row, p, when)
                if info.content_source == "page":
                    out.ok += 1
                else:
                    out.failed[info.status] = out.failed.get(info.status, 0) + 1
                progress(i, len(wanted), row, "ok" if info.content_source == "page" else info.status)

    if wanted:
        asyncio.run(run())
    return out
