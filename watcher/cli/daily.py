"""run, digest, review: the commands of daily use."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import click

from .. import report
from . import COUNT, ITEM_ID, App, pass_app


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z")
    # APScheduler's own "Added job"/"Running job" lines only with --verbose: one line per poll otherwise.
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)
    # httpx logs every request at INFO; the pipeline's own line per poll already says what happened.
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


@click.command()
@click.option("-v", "--verbose", is_flag=True, help="Also log scheduling decisions and the scheduler's own lines.")
@pass_app
def run(app: App, verbose: bool) -> None:
    """Poll every enabled source on its own interval and build the daily digest, until stopped.

    Logs one line per poll. Stop it with Ctrl-C or SIGTERM: polls in flight finish, then it exits.
    Only one `run` (or `poll`) works on a store at a time.
    """
    from ..lock import instance_lock
    from ..scheduler import Runner
    from ..store import verify

    _logging(verbose)
    cfg = app.config_and_keywords()
    db = app.db  # opened first: a read-only or damaged store is refused before the lock is taken
    with instance_lock(cfg.state_dir, purpose="run"):
        verify(db)  # once, at start: each job opens its own connection, and checking each would cost a lot
        app.close()
        Runner(cfg).serve()


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


@click.command()
@click.option("--date", "day_text", metavar="YYYY-MM-DD",
              help="The local date (in digest.timezone) to build; default today. A date already built is "
                   "re-rendered with the same items; a date after today is refused.")
@click.option("--send", is_flag=True, help="Also mail it through the smtp: settings.")
@click.option("--dry-run", is_flag=True, help="Print the Markdown; record, write and send nothing.")
@pass_app
def digest(app: App, day_text: str | None, send: bool, dry_run: bool) -> None:
    """Build the daily digest: new, relevant items grouped by topic, in Markdown, HTML and Atom."""
    from ..digest import local_date, make_digest
    from ..store import verify
    from ..times import utcnow

    cfg = app.config
    now = utcnow()
    day = _parse_date(day_text) or local_date(now, cfg.digest.timezone)
    if send and dry_run:
        raise click.UsageError("--send and --dry-run contradict each other; pick one")
    db = app.reader if dry_run else app.db
    verify(db)  # once a day, over most of what is new: never build (and record) it from damaged pages
    r = make_digest(cfg, db, day, now=now, send=send, dry_run=dry_run)
    if dry_run:
        click.echo(r.markdown)
        click.echo(f"(dry run: {r.digest.total} items would go into the {day} digest; nothing recorded)", err=True)
        return
    d = r.digest
    what = "re-rendered (already built; same items)" if d.rebuilt else "built"
    click.echo(f"digest {day}: {d.total} item{'s' if d.total != 1 else ''}, {what}")
    for p in r.files:
        click.echo(f"  {p}")
    if send:
        click.echo(f"  mailed to {', '.join(r.sent_to)}")


# ---------------------------------------------------------------- review

def _filters(f):
    f = click.option("--topic", help="Only items matched under this topic.")(f)
    f = click.option("--source", help="Only items from this source.")(f)
    f = click.option("--language", help="Only items in this language (en, vi, ar, zh).")(f)
    f = click.option("--status", default="new", show_default=True,
                     help="Queue status to show: new, accepted, rejected, later; `all` shows every queued item.")(f)
    f = click.option("--limit", type=COUNT, default=200, show_default=True, help="Show at most this many.")(f)
    return f


def _terminal_width() -> int | None:
    """Columns to fit the review table in when a person reads it (a terminal, or COLUMNS set); None
    when the output goes to a pipe or a file, where titles are kept whole (up to their cap)."""
    if "COLUMNS" in os.environ or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _known_filter_values(app: App) -> dict[str, set[str]]:
    """Every source, topic and language a filter may name: the config's, the keyword list's, and
    those stored items carry (an item keeps its topic after the list drops it)."""
    from ..config import LANGUAGES
    from ..keywords import check_keywords
    from ..review import stored_values

    known = stored_values(app.reader)
    known["source"] |= {s.name for s in app.config.sources}
    known["language"] |= set(LANGUAGES)
    if app.config.keywords_path.exists():
        # A broken list still names its topics for this purpose; `watcher check` reports its problems.
        kl, _ = check_keywords(app.config.keywords_path)
        if kl is not None:
            known["topic"] |= set(kl.topics)
    return known


def _list(app: App, topic: str | None, source: str | None, language: str | None, status: str, limit: int) -> None:
    from ..review import QueueFilter, check_filter, list_queue, status_filter

    f = QueueFilter(topic=topic, source=source, language=language, status=status_filter(status))
    if topic is not None or source is not None or language is not None:
        f = check_filter(f, _known_filter_values(app))
    rows = list_queue(app.reader, f, limit=limit)
    if not rows:
        click.echo(f"the queue has no {f.status + ' ' if f.status else ''}items matching that", err=True)
        return
    for line in report.queue_lines(rows, _terminal_width()):
        click.echo(line)
    click.echo(f"{len(rows)} item{'s' if len(rows) != 1 else ''}; `watcher show ID` for why each matched, "
               f"`watcher review accept|reject|later ID...` to decide", err=True)


@click.group(invoke_without_command=True)
@_filters
@click.pass_context
def review(ctx: click.Context, topic: str | None, source: str | None, language: str | None, status: str,
           limit: int) -> None:
    """The review queue. Without a subcommand: list it (same as `review list`)."""
    if ctx.invoked_subcommand is None:
        app = ctx.find_object(App)
        assert app is not None  # the cli group made it
        _list(app, topic, source, language, status, limit)


@review.command("list")
@_filters
@pass_app
def review_list(app: App, topic: str | None, source: str | None, language: str | None, status: str,
                limit: int) -> None:
    """Items in the queue, newest first (default: those still `new`)."""
    _list(app, topic, source, language, status, limit)


def _decision_command(name: str, status: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("ids", nargs=-1, type=ITEM_ID, required=True)
    @click.option("--note", help="Why; kept with the decision.")
    @click.option("--who", help="Who decided (default: $USER).")
    @pass_app
    def cmd(app: App, ids: tuple[int, ...], note: str | None, who: str | None) -> None:
        from ..review import decide, default_who
        from ..times import utcnow

        changed = decide(app.db, list(ids), status, who=who or default_who(), now=utcnow(), note=note)
        same = len(set(ids)) - changed
        click.echo(f"{status}: {changed} item{'s' if changed != 1 else ''}"
                   + (f" ({same} already {status})" if same else ""))

    return cmd


review.add_command(_decision_command("accept", "accepted", "Mark items as on topic and wanted."))
review.add_command(_decision_command("reject", "rejected", "Mark items as off topic (counts against their keywords)."))
review.add_command(_decision_command("later", "later", "Put items aside to decide later."))


@review.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--who", help="Who labelled them, for rows without a `who` column (default: $USER).")
@pass_app
def review_import(app: App, path: Path, who: str | None) -> None:
    """Load review_status labels from a CSV or JSON-lines file made with `watcher export`.

    Rows with an empty review_status, or still the status they were exported with, are skipped. Any
    bad row stops the import before anything is recorded, listing every problem with its line. A row
    that would overwrite a decision made after the file was exported is a conflict: skipped and
    listed, while the other rows are recorded.
    """
    from ..review import default_who, import_labels
    from ..times import utcnow

    r = import_labels(app.db, path, who=who or default_who(), now=utcnow())
    n = len(r.conflicts)
    click.echo(f"{path}: {r.rows} labelled row{'s' if r.rows != 1 else ''}, "
               f"{r.changed} decision{'s' if r.changed != 1 else ''} recorded ({r.unchanged} unchanged)"
               + (f", {n} conflict{'s' if n != 1 else ''} skipped (listed on stderr)" if n else ""))
    for c in r.conflicts:
        click.echo(c.describe(path), err=True)


COMMANDS = [run, digest, review]
