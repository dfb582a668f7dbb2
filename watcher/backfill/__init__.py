"""Backfill: a source's history beyond its current feed, resumable, polite, with a coverage ledger.

    plan.py       pure: the date range, which entries belong, when paging stops, the coverage grid
    polite.py     robots.txt (protego), per-host pacing, Retry-After, --max-requests; over fetch.py
    feed.py       method feed: RFC 5005 prev-archive / next links, WordPress ?paged=N
    wordpress.py  method wordpress: /wp-json/wp/v2/posts, paged by X-WP-TotalPages
    sitemap.py    method sitemap: robots.txt Sitemap:, indexes, url sets, Google News; extract.py
    wayback.py    method wayback: CDX API snapshots of the feed, each parsed as a feed
    ledger.py     the coverage ledger: a page's items and its cursor in one transaction (the ledger's
                  operations are in watcher/store/backfill.py)
    run.py        the orchestrator behind `watcher backfill`
    coverage.py   what `watcher coverage` prints

Every item takes the poll's own path into the store (prepare.prepare_entry, ingest.store_entries),
marked origin=backfill.
"""
