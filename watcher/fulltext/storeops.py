"""The full-text step's store operations, as the fulltext package names them: kept in the storage
package (watcher/store/fulltext.py), the only code that knows the tables."""

from ..store.apply import page_columns  # noqa: F401
from ..store.fulltext import PageItem, PageState, candidates, page_state, page_state_by_link, stored_page_text  # noqa: F401

StoredItem = PageItem  # the name fulltext/backfill.py knew it by
