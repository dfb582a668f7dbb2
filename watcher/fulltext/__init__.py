"""Full text for summary-only feeds (issue 11): fetch an entry's article page, extract its text, and
match and deduplicate on it.

    policy.py     pure: fetch this entry's page? (the source's `fulltext:` setting, the entry, its match)
    fetchpage.py  pages through the feed fetch layer, with robots.txt, HTML only, host deferral
    extract.py    pure: decode a page and extract its main text, date and language (trafilatura)
    enrich.py     the poll's step between prepare and store; extraction runs in the worker processes
    backfill.py   `watcher fulltext`: pages for items already stored
    storeops.py   its store operations by name (kept in watcher/store/fulltext.py; writes are store.apply
                  intents: page= on NewItem/ItemEdit, PageUpdate)
"""
