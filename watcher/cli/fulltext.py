"""`watcher fulltext`: article pages for items already stored (watcher/fulltext/backfill.py)."""

from __future__ import annotations

import os

import click

from .. import display
from . import App, parse_since, pass_app, since_option


@click.command()
@click.option("--source", "names", multiple=True, help="Only this source's items (repeatable).")
@since_option
@click.option("--missing", is_flag=True, help="Only items whose text is still the feed's (never fetched, "
                                                "skipped, failed or deferred).")
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait for a running `watcher run` to release the store.")
@pass_app
def fulltext(app: App, names: tuple[str, ...], since: str | None, missing: bool, wait: float) -> None:
    """Fetch article pages for stored items, then match and deduplicate them again on the page's text.

    Follows each source's `fulltext:` setting (auto: short text that could matter; always; never: left
    alone). Progress goes to stderr, one line per page.
    """
    from ..fulltext.backfill import backfill
    from ..lock import instance_lock
    from ..pipeline import load_processors, make_pool

    cfg = app.config_and_keywords()
    with instance_lock(cfg.state_dir, purpose="fulltext", wait=wait):
        matcher, dd = load_processors(cfg)
        pool = make_pool(cfg.fetch.workers or (os.cpu_count() or 1), matcher)

        def progress(i: int, n: int, row, status: str) -> None:
            click.echo(f"[{i}/{n}] {display.clean(row.source)} #{row.id}: {status}  "
                       f"{display.shorten(row.title, 60)}", err=True)

        try:
            got = backfill(cfg, app.db, matcher, dd, names=list(names) or None, since=parse_since(since),
                           missing=missing, progress=progress, pool=pool)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    failed = ", ".join(f"{n} {k}" for k, n in sorted(got.failed.items(), key=lambda kv: -kv[1]))
    click.echo(f"items: {got.considered} considered, {got.skipped} not needing a page; pages: {got.fetched} "
               f"fetched, {got.ok} with text" + (f", failed: {failed}" if failed else "")
               + f"; {got.now_relevant} items now relevant")


COMMANDS = [fulltext]
