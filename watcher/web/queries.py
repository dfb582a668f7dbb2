"""The review page's reads, as the web package names them: kept in the storage package
(watcher/store/review_page.py), the only code that knows the tables."""

from ..store.review_page import (  # noqa: F401
    COUNT_CAP,
    PAGE_SIZE,
    QueueQuery,
    has_column,
    item_text,
    items_per_day,
    queue_count,
    queue_page,
    queue_row,
    versions,
)
