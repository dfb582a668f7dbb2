"""`watcher dedup`: the state of deduplication, and `--recheck` to decide stored items again.

After a seed is added or a threshold changed, the stored decisions are stale. `--recheck` rebuilds
the candidate index and decides every stored item (or those published since DATE) again, in published
order so that originals are settled before their reposts (watcher/replay.py), then reports what changed.
"""

from __future__ import annotations

from collections import Counter

import click

from .. import display, store
from ..dedup import SeedIndex
from ..ingest import Dedup
from ..replay import recheck as run_recheck
from . import parse_since, pass_app, since_option


@click.command()
@click.option("--recheck", is_flag=True, help="Decide stored items again (after new seeds or new thresholds).")
@since_option
@click.option("--dry-run", is_flag=True, help="Report what would change, change nothing.")
@click.option("--verbose", "-v", is_flag=True, help="List every changed item.")
@pass_app
def dedup(app, recheck: bool, since: str | None, dry_run: bool, verbose: bool) -> None:
    """Show the dedup index, or re-run dedup decisions with --recheck."""
    cfg = app.config
    seeds = SeedIndex.load(cfg.seeds_dir, cfg.state_dir / "cache")
    db = app.db if recheck else app.reader
    if recheck:
        store.verify(db)  # it reads every item anyway; never decide again on top of a damaged store
    if not recheck:
        n_items = store.item_count(db)
        n_indexed = store.indexed_count(db)
        by = store.dedup_method_counts(db)
        click.echo(f"seeds: {len(seeds.seeds)} in {cfg.seeds_dir} (fingerprint {seeds.fingerprint})")
        click.echo(f"items: {n_items}, indexed for repost search: {n_indexed}")
        for method, possible, n in by:
            click.echo(f"  {method}{' (possible)' if possible else ''}: {n}")
        s = cfg.dedup
        click.echo(f"thresholds: containment {s.containment}, resemblance {s.resemblance}, min_shared "
                   f"{s.min_shared}, window {s.window_days} days, crosslingual {'on' if s.crosslingual else 'off'}")
        return
    changes = run_recheck(db, Dedup(seeds, cfg.dedup), since=parse_since(since), dry_run=dry_run)
    verb = "would change" if dry_run else "changed"
    kinds = Counter(c.kind for c in changes.changed)
    click.echo(f"rechecked {changes.checked} items: {len(changes.changed)} {verb}"
               + (": " + ", ".join(f"{n} {k}" for k, n in kinds.most_common()) if kinds else ""))
    for c in changes.changed if verbose else changes.changed[:20]:
        click.echo(f"  #{c.item_id} {c.old or 'new'} -> {c.new or 'new'}  {display.shorten(c.title, 70)}")
    if not verbose and len(changes.changed) > 20:
        click.echo(f"  ... and {len(changes.changed) - 20} more (--verbose lists all)")


COMMANDS = [dedup]
