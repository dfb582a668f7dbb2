"""check, poll, status, export, show."""

from __future__ import annotations

import logging
import sys

import click

from .. import config as config_mod
from .. import display
from .. import export as export_mod
from .. import report
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
    enabled = sum(s.enabled for s in cfg.sources)
    click.echo(f"{cfg.path}: OK, {len(cfg.sources)} sources ({enabled} enabled); keywords {cfg.keywords_path}: OK")


@click.command()
@click.option("--source", "names", multiple=True, help="Poll only this source (repeatable), whatever its state.")
@click.option("--due", "due_only", is_flag=True, help="Only sources whose interval has come round (for cron).")
@click.option("--force", is_flag=True, help="Also poll sources held back by backoff, Retry-After or 410.")
@click.option("--strict", is_flag=True, help="Exit 1 if any source failed.")
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
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    cfg = app.config_and_keywords()
    with instance_lock(cfg.state_dir, purpose="poll", wait=wait):
        summary = run_poll(cfg, app.db, names=list(names) or None, force=force, due_only=due_only)
    if not summary.sources:
        click.echo("nothing to poll: no enabled source is due (see `watcher status`; --force polls them anyway)")
        return
    for o in summary.failed:
        click.echo(f"failed: {o.name}: {o.error_kind}: {display.shorten(o.error, display.ERROR_CHARS)}", err=True)
    click.echo(f"sources: {len(summary.ok)} ok, {len(summary.failed)} failed; "
               f"items: {summary.new} new, {summary.updated} updated")
    if strict and summary.failed:
        sys.exit(1)


def _short(ts: str | None) -> str:
    return ts.replace("+00:00", "Z") if ts else "-"


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def status(app: App, fmt: str) -> None:
    """One line per source: last success, last error, failures, next check, items."""
    import json as jsonlib

    rows = report.source_status(app.config, app.db)
    if fmt == "json":
        click.echo(jsonlib.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1))
        return
    head = ("source", "state", "last success", "failures", "next check", "items", "last error")
    table = []
    for r in rows:
        state = "disabled" if not r.enabled else ("failing" if r.failures else ("ok" if r.last_success else "new"))
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


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@since_option
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write here instead of standard output.")
@pass_app
def export(app: App, fmt: str, since: str | None, output) -> None:
    """Every stored item, one row each, relevant or not (see README for the fields)."""
    items = export_mod.rows(app.db, since=parse_since(since))
    (export_mod.write_jsonl if fmt == "jsonl" else export_mod.write_csv)(output, items)


@click.command()
@click.argument("item_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def show(app: App, item_id: int, fmt: str) -> None:
    """One item, with why it matched and whether it repeats something."""
    import json as jsonlib

    item = report.item_detail(app.db, item_id)
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
         f"published: {_short(item['published'])}"
         + ("  (no date in the feed: fetch time)" if item["published_is_fetch_time"] else ""))
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
