"""backfill, coverage."""

from __future__ import annotations

import sys
from datetime import date

import click

from ..choices import unknown_message
from ..errors import UsageError
from . import App, pass_app


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD", param_hint=option) from None


def _sources(app: App, names: tuple[str, ...]) -> list:
    cfg = app.config
    known = {s.name: s for s in cfg.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError("\n".join(f"{cfg.path}: " + unknown_message("source", n, known, option="--source",
                                                                       all_listed_by="`watcher status`")
                                   for n in unknown))
    if names:
        return [known[n] for n in dict.fromkeys(names)]
    return [s for s in cfg.sources if s.enabled]


@click.command()
@click.option("--source", "names", multiple=True, help="Backfill only this source (repeatable); default all enabled.")
@click.option("--since", required=True, metavar="DATE", help="First day of the range (YYYY-MM-DD, UTC).")
@click.option("--until", metavar="DATE", help="Last day of the range, included (default today, UTC).")
@click.option("--method", type=click.Choice(["auto", "feed", "wordpress", "sitemap", "wayback"]), default="auto",
              show_default=True, help="auto tries feed, wordpress, sitemap, wayback in that order.")
@click.option("--max-requests", type=click.IntRange(min=1), help="Stop (resumable) after this many requests.")
@click.option("--dry-run", is_flag=True, help="Say what it would fetch and how many requests; store nothing.")
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait for a running `watcher run` or `poll` to release the store.")
@pass_app
def backfill(app: App, names: tuple[str, ...], since: str, until: str | None, method: str,
             max_requests: int | None, dry_run: bool, wait: float) -> None:
    """Fetch what sources published in a date range, from their archives. Resumable: run the same
    command again after an interruption and it continues where it stopped."""
    from ..backfill.plan import make_range
    from ..backfill.run import backfill as run_backfill
    from ..lock import instance_lock
    from ..store import utcnow

    cfg = app.config_and_keywords()
    try:
        first = _day(since, "--since")
        assert first is not None  # --since is required
        rng = make_range(first, _day(until, "--until"), utcnow())
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--until") from None
    sources = _sources(app, names)
    if not sources:
        click.echo("nothing to backfill: no enabled source")
        return

    def say(line: str) -> None:
        click.echo(line)

    with instance_lock(cfg.state_dir, purpose="backfill", wait=wait):
        db = app.db
        reports, interrupted = run_backfill(cfg, db, sources, rng, method=method, max_requests=max_requests,
                                            dry_run=dry_run, say=say)
    click.echo(f"backfill {rng}{' (dry run: nothing stored)' if dry_run else ''}:")
    for r in reports:
        click.echo("  " + r.line())
    if interrupted:
        click.echo("interrupted: what was fetched is stored; run the same command again to continue", err=True)
        sys.exit(130)


@click.command()
@click.option("--source", "names", multiple=True, help="Only this source (repeatable); default all.")
@click.option("--since", metavar="DATE", help="First day shown (default: the first backfilled).")
@click.option("--until", metavar="DATE", help="Last day shown (default: the last backfilled).")
@pass_app
def coverage(app: App, names: tuple[str, ...], since: str | None, until: str | None) -> None:
    """Which days each source's backfills covered, with item counts per day (or week)."""
    from ..backfill.coverage import render
    from ..store import utcnow

    sources = [s.name for s in (_sources(app, names) if names else app.config.sources)]
    click.echo(render(app.db, sources, _day(since, "--since"), _day(until, "--until"), utcnow()))


COMMANDS = [backfill, coverage]
