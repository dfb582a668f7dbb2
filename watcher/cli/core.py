"""check, poll, status, export, show."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .. import config as config_mod
from .. import display
from .. import export as export_mod
from .. import report, store
from ..dates import stored_date
from ..fulltext.explain import text_origin
from . import App, parse_since, pass_app, since_option


@click.command()
@click.pass_obj
def check(app: App) -> None:
    """Validate sources.yaml and the keyword list; list every problem with file and line."""
    cfg, problems = config_mod.check(app.config_path)
    if cfg is not None:
        if cfg.keywords_path.exists():
            from ..keywords import check_keywords

            _, kw_problems = check_keywords(cfg.keywords_path)
            problems += kw_problems
        else:
            problems.append(config_mod.Problem(str(cfg.keywords_path), 0,
                                               "keyword list not found; `watcher keywords derive` proposes one"))
    for p in problems:
        click.echo(str(p), err=True)
    if problems:
        n = len(problems)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found.", err=True)
        sys.exit(1)
    assert cfg is not None  # no problems: it loaded
    enabled = sum(s.enabled for s in cfg.sources)
    click.echo(f"{cfg.path}: OK, {len(cfg.sources)} sources ({enabled} enabled); keywords {cfg.keywords_path}: OK")


@click.command()
@click.option("--source", "names", multiple=True, help="Poll only this source (repeatable), whatever its state.")
@click.option("--due", "due_only", is_flag=True, help="Only sources whose interval has come round (for cron).")
@click.option("--force", is_flag=True, help="Also poll sources held back by backoff, Retry-After or 410.")
@click.option("--strict", is_flag=True, help="Exit 1 if any source failed or was deferred.")
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait for a running `watcher run` to release the store.")
@click.option("-v", "--verbose", is_flag=True, help="Log one line per source as it completes.")
@pass_app
def poll(app: App, names: tuple[str, ...], due_only: bool, force: bool, strict: bool, wait: float,
         verbose: bool) -> None:
    """Fetch the sources once, and store, match and deduplicate what they carry.

    Without --source: every enabled source that is not held back by backoff or Retry-After.
    """
    from ..lock import instance_lock
    from ..pipeline import poll as run_poll

    if verbose:
        # Our own lines only, on the stderr of this command: a handler on the "watcher" logger, not the
        # root (httpx logs every request at INFO there, "HTTP Request: GET ..."; the line per source says
        # it all), and for this command only, so a second command in one process does not inherit it.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ours = logging.getLogger("watcher")
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        click.get_current_context().call_on_close(lambda: ours.removeHandler(handler))
    cfg = app.config_and_keywords()
    db = app.db  # opened first: a read-only or damaged store is refused before the lock is taken
    with instance_lock(cfg.state_dir, purpose="poll", wait=wait):
        store.verify(db)  # never poll into a damaged store (and report "ok")
        # Progress goes to stderr even without -v: a poll waiting on servers that do not answer
        # must not look like a hang.
        summary = run_poll(cfg, db, names=list(names) or None, force=force, due_only=due_only,
                           progress=lambda line: click.echo(line, err=True))
    if not summary.sources:
        click.echo(f"nothing to poll: {_why_nothing(cfg, due_only)}")
        return
    if summary.unreachable:
        # One line, not one per source: they all say the same thing, and it is about this machine.
        click.echo(summary.unreachable, err=True)
    else:
        for o in summary.failed:
            click.echo(f"failed: {o.name}: {o.error_kind}: {display.shorten(o.error, display.ERROR_CHARS)}", err=True)
    for line in _deferred_lines(summary.deferred):
        click.echo(line, err=True)
    deferred = f", {len(summary.deferred)} deferred" if summary.deferred else ""
    click.echo(f"sources: {len(summary.ok)} ok, {len(summary.failed)} failed{deferred}; "
               f"items: {summary.new} new, {summary.updated} updated")
    if strict and (summary.failed or summary.deferred):
        sys.exit(1)


def _why_nothing(cfg: config_mod.Config, due_only: bool) -> str:
    """Why a poll found no source to poll, and what to do about it."""
    where = cfg.path.name
    if not cfg.sources:
        return (f"{where} has no sources; add one under `sources:` in {cfg.path}, a `- name:` and a `url:` "
                f"(see the README's sources.yaml)")
    if not any(s.enabled for s in cfg.sources):
        n = len(cfg.sources)
        return (f"{'the one source' if n == 1 else f'all {n} sources'} in {where} "
                f"{'is' if n == 1 else 'are'} disabled (`enabled: false`); enable one in {cfg.path}")
    if due_only:
        return "no enabled source is due yet (`watcher status` shows each one's next check)"
    return ("every enabled source is held back by backoff, Retry-After or 410 Gone "
            "(`watcher status` shows until when; --force polls them anyway)")


def _deferred_lines(outcomes: list) -> list[str]:
    """One line per reason, not per source: 500 sources behind one silent host are one line."""
    by_reason: dict[str, list[str]] = {}
    for o in outcomes:
        by_reason.setdefault(o.error or "?", []).append(o.name)
    lines = []
    for reason, names in by_reason.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        n = len(names)
        lines.append(f"deferred: {n} source{'s' if n != 1 else ''} ({shown}): {reason}; "
                     f"not counted as a failure, the next poll tries {'them' if n != 1 else 'it'}")
    return lines


def _short(ts: str | None) -> str:
    return ts.replace("+00:00", "Z") if ts else "-"


def _date_remark(item: dict) -> str:
    """Why `published` is the fetch time, or that a date stored by an older version cannot be right."""
    if item.get("date_note"):
        # The note may quote the feed's own date text: cleaned and bounded like any feed text.
        return f"  (fetch time: {display.shorten(item['date_note'], display.ERROR_CHARS)})"
    if item["published_is_fetch_time"]:
        return "  (no date in the feed: fetch time)"
    _, note = stored_date(item["published"], item["fetched_at"])
    return f"  (not a usable date: {note}; fetched {_short(item['fetched_at'])})" if note else ""


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def status(app: App, fmt: str) -> None:
    """One line per source: last success, last error, failures, next check, items."""
    import json as jsonlib

    db = app.reader
    store.verify(db)  # the command that says how things are also says when the store is damaged
    rows = report.source_status(app.config, db)
    if fmt == "json":
        click.echo(jsonlib.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1))
        return
    head = ("source", "state", "last success", "failures", "next check", "items", "last error")
    table = []
    for r in rows:
        state = "disabled" if not r.enabled else "deferred" if r.deferred else (
            "failing" if r.failures else ("ok" if r.last_success else "new"))
        # A last error may quote a server's own words: cleaned and bounded like any feed text.
        err = f"{r.last_error_kind}: {display.shorten(r.last_error, display.ERROR_CHARS)}" if r.last_error else "-"
        table.append((r.name, state, _short(r.last_success), str(r.failures), _short(r.next_check), str(r.items), err))
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(head)]
    widths[-1] = len(head[-1])
    click.echo("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for t in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip())
    for r in rows:
        if r.permanent_redirect:
            click.echo(f"note: {r.name} moved permanently to {r.permanent_redirect}; update its url in "
                       f"{app.config.path.name}")
        if r.disabled_reason:
            click.echo(f"note: {r.name} is disabled: {r.disabled_reason}")
        if r.deferred and r.enabled:
            click.echo(f"note: {r.name} was deferred by the last poll ({r.deferred}); the next poll tries it")
        if r.backfilled:
            click.echo(f"note: {r.name} last backfilled {r.backfilled} (`watcher coverage` shows what is covered)")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@since_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default="-",
              help="Write here instead of standard output (all or nothing: a failure keeps the old file).")
@pass_app
def export(app: App, fmt: str, since: str | None, output: Path) -> None:
    """Every stored item, one row each, relevant or not (see README for the fields)."""
    db = app.reader
    store.verify(db)  # it reads every item anyway; a damaged page must not become a wrong row
    items = export_mod.rows(db, since=parse_since(since))
    if str(output) == "-":
        export_mod.write(sys.stdout, fmt, items)
        return
    try:
        export_mod.write_file(output, fmt, items)
    except OSError as e:
        raise click.FileError(str(output), e.strerror) from e


@click.command()
@click.argument("item_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def show(app: App, item_id: int, fmt: str) -> None:
    """One item, with why it matched and whether it repeats something."""
    import json as jsonlib

    item = report.item_detail(app.reader, item_id)
    if fmt == "json":
        click.echo(jsonlib.dumps(item, ensure_ascii=False, indent=1))
        return
    echo = click.echo
    # Feed text is cleaned and bounded for the terminal (watcher.display); the store and `export`
    # keep it whole, and --format json gives it as stored.
    title, cut = display.excerpt(item["title"], display.SHOW_TITLE_CHARS)
    echo(f"#{item['id']}  {title}")
    if cut:
        echo(f"  (title cut at {display.SHOW_TITLE_CHARS:,} of {len(item['title']):,} characters; "
             f"`watcher export` has it whole)")
    echo(f"source: {display.clean(item['source'])}   language: {display.shorten(item['language'], 35) or '-'}   "
         f"published: {_short(item['published'])}" + _date_remark(item))
    link, cut = display.excerpt(item["link"], display.URL_CHARS)
    if cut:
        link = f"{display.shorten(link, 200)} (a {len(item['link']):,}-character link; `watcher export` has it whole)"
    echo(f"link: {link or '-'}")
    echo(f"text: {text_origin(item)}")  # full text (issue 11): feed or article page, and why
    echo(f"review: {item['review_status'] or '-'}   version: {item['version']}")
    echo("")
    if item["relevant"]:
        echo(f"relevant: yes (score {item['score']:g}; topics {', '.join(item['topics'])})")
    else:
        echo(f"relevant: no (score {item['score']:g})")
    for h in item["hits"]:
        text = item.get(h["field"]) or ""
        where = "page" if h["field"] == "content" and item.get("content_source") == "page" else h["field"]
        echo(f"  {display.clean(h['topic'])}: {display.clean(h['term'])!r} in {where} ({report.hit_points(h)}): "
             f"{report.snippet(text, h['start'], h['end'])}")
    if any("points" not in h for h in item["hits"]):
        echo("  (figures are rule weights: this item was scored before per-hit points were kept; "
             "`watcher rematch` records them)")
    echo("")
    if item["duplicate_of"]:
        kind = "possible duplicate" if item["dup_possible"] else "duplicate"
        score = f", score {item['dup_score']:g}" if item["dup_score"] is not None else ""
        echo(f"{kind} of {display.clean(item['duplicate_of'])} (by {item['dup_method']}{score})")
    else:
        echo("duplicate: no")
    for a in item["also_in"]:
        echo(f"  also in: {display.clean(a['source'])} #{a['id']} {display.url(a['link']) or ''} (by {a['dup_method']})")
    for v in item["versions"]:
        echo(f"  earlier version {v['version']} (replaced {_short(v['replaced_at'])}): "
             f"{display.shorten(v['title'], display.TITLE_CHARS)}")
    for r in item["reviews"]:
        note = f": {display.shorten(r['note'], display.SUMMARY_CHARS)}" if r["note"] else ""
        echo(f"  review: {r['previous'] or '-'} -> {r['status']} by {display.clean(r['who'])} at {_short(r['at'])}{note}")


COMMANDS = [check, poll, status, export, show]
