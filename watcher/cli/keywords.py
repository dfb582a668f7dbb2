"""keywords derive | test | report, and rematch: tools to build and tune the keyword list.

All of them match stored items with a list compiled once; only `rematch` writes (replay.rematch, one
transaction through store.apply). `test` and `report` change nothing (watcher/tuning.py computes them).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterator

import click

from .. import derive as derive_mod
from .. import display, replay, store, tuning
from ..dedup import SeedIndex
from ..errors import UsageError
from ..ingest import Dedup
from ..keywords import check_keywords, load_keywords
from ..match import Matcher
from ..model import MatchResult
from ..times import utcnow
from . import App, pass_app
from . import COUNT, parse_since, since_option

TERMS_SHOWN = 12  # terms named in `keywords test`'s summary of the added items

Row = tuning.Row
_match = tuning.match_row
_snippet = tuning.row_snippet


def _rows(app: App, since: str | None) -> Iterator[Row]:
    return tuning.stored_rows(app.reader, parse_since(since))


def _current(app: App) -> Matcher:
    return Matcher.load(app.config.keywords_path)


def _dedup(app: App) -> Dedup:
    """The seeds and thresholds a poll checks with: rematch checks an item that gains a score with them."""
    cfg = app.config
    return Dedup(SeedIndex.load(cfg.seeds_dir, cfg.state_dir / "cache"), cfg.dedup)


def _line(r: Row | store.StoredItem, result: MatchResult | None = None) -> str:
    score = f" score {result.score:g}" if result is not None else ""
    published = r.published if isinstance(r.published, str) else store.iso(r.published)
    return f"  #{r.id} {published[:10]}{score}  {display.shorten(r.title, 100)}"


# -- rematch --------------------------------------------------------------------------------------------


@click.command()
@since_option
@click.option("--dry-run", is_flag=True, help="Report what would change and write nothing.")
@pass_app
def rematch(app: App, since: str | None, dry_run: bool) -> None:
    """Re-apply the current keyword list to stored items and report what changed."""
    db = app.reader if dry_run else app.db
    if not dry_run:
        store.verify(db)  # opened for writing first (a read-only store is refused before matching)
    result = replay.rematch(db, _current(app), since=parse_since(since), dry_run=dry_run,
                            dd=None if dry_run else _dedup(app))
    gained, lost = result.gained, result.lost
    verb = "would become" if dry_run else "became"
    click.echo(f"re-matched {result.checked} items with {app.config.keywords_path}")
    click.echo(f"{len(gained)} {verb} relevant:")
    for r, res in gained:
        click.echo(_line(r, res) + f"  [{', '.join(res.keywords)}]")
    click.echo(f"{len(lost)} {'would be' if dry_run else 'are'} no longer relevant:")
    for r, res in lost:
        click.echo(_line(r, res))
    dups = [(r, d) for r, d in result.fingerprinted if d.duplicate_of]
    if result.fingerprinted:
        click.echo(f"{len(result.fingerprinted)} now checked for duplicates (they hit a keyword): "
                   f"{len(dups)} repeat something")
    for r, d in dups:
        click.echo(f"  #{r.id} repeats {d.duplicate_of} ({d.method}{', possible' if d.possible else ''})  "
                   f"{display.shorten(r.title, 70)}")


# -- keywords group -------------------------------------------------------------------------------------


@click.group("keywords")
def keywords_group() -> None:
    """Build and tune the keyword list (seeds/keywords.yaml unless `keywords:` says otherwise)."""


@keywords_group.command("test")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--term", "term", help="Try one term on top of the current list instead of a whole file.")
@click.option("--lang", type=click.Choice(["any", "en", "vi", "ar", "zh"]), default="any", show_default=True,
              help="Language of --term.")
@click.option("--weight", type=float, help="Weight of --term (default: the list's threshold, enough alone).")
@click.option("--limit", type=COUNT, default=50, show_default=True, help="Items shown per change.")
@since_option
@pass_app
def test_cmd(app: App, file: Path | None, term: str | None, lang: str, weight: float | None, limit: int,
             since: str | None) -> None:
    """Dry run: which stored items a candidate list FILE or one --term would add or drop. Changes nothing."""
    if (file is None) == (term is None):
        raise UsageError("give either a candidate list FILE or --term TEXT")
    current = _current(app)
    if file is not None:
        candidate = Matcher.from_list(load_keywords(file))
        label = str(file)
    else:
        assert term is not None  # one of the two, checked above
        candidate = Matcher.from_list(tuning.with_term(current.list, term, lang, weight))
        label = f"--term {term!r}"
    t = tuning.trial(current, candidate, _rows(app, since))
    added, dropped, kept = t.added, t.dropped, t.kept
    focus = {term} if term else None
    click.echo(f"{label} compared with {app.config.keywords_path} (nothing is changed)")
    click.echo(f"would add {len(added)} items:")
    if added:
        # Which terms bring the items in: a generic word ("its", "Trump") shows at the top at once.
        behind = Counter(k for _, res in added for k in res.keywords)
        click.echo("  on the terms: " + ", ".join(f"{t} ({n})" for t, n in behind.most_common(TERMS_SHOWN)))
    for r, res in added[:limit]:
        click.echo(_line(r, res))
        click.echo(f"      {_snippet(r, res, focus)}")
    click.echo(f"would drop {len(dropped)} items:")
    for r, res in dropped[:limit]:
        click.echo(_line(r, res))
        click.echo(f"      {_snippet(r, res)}")
    click.echo(f"{kept} relevant items stay relevant")


@keywords_group.command("report")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@since_option
@pass_app
def report(app: App, fmt: str, since: str | None) -> None:
    """Per term: hits, items it alone made relevant, last hit, accepted/rejected; and terms that never hit."""
    used, never = tuning.term_report(_current(app), _rows(app, since))
    if fmt == "json":
        click.echo(json.dumps({"list": str(app.config.keywords_path), "terms": used, "never_hit": never},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{app.config.keywords_path}: {len(used)} terms hit, {len(never)} never hit")
    click.echo(f"{'hits':>6} {'alone':>6} {'acc':>5} {'rej':>5}  {'last hit':10}  term (topic)")
    for s in used:
        last = (s["last_hit"] or "")[:10]
        click.echo(f"{s['hits']:>6} {s['alone']:>6} {s['accepted']:>5} {s['rejected']:>5}  {last:10}  "
                   f"{s['term']} ({s['topic']})")
    if never:
        click.echo("never hit:")
        for s in never:
            click.echo(f"  line {s['line']}: {s['term']} ({s['topic']}, {s['lang']})")


@keywords_group.command("derive")
@click.option("--seeds", "seeds_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Seed folder (default: the config's seeds/).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Proposal file (default: keywords.proposed.yaml next to the list).")
@click.option("--diff", "as_diff", is_flag=True, help="Print the terms the current list lacks; write nothing.")
@click.option("--min-seeds", type=click.IntRange(min=1), default=derive_mod.MIN_SEEDS, show_default=True,
              help="Seeds a term must occur in (model numbers said twice in one seed are kept anyway).")
@pass_app
def derive_cmd(app: App, seeds_dir: Path | None, out: Path | None, as_diff: bool, min_seeds: int) -> None:
    """Propose terms from the seeds. Never overwrites your keyword list.

    Stored items the current list does not call relevant are the background: a term found in many of
    them is general vocabulary and is left out."""
    cfg = app.config
    seeds_dir = seeds_dir or cfg.seeds_dir
    if not seeds_dir.is_dir() or not derive_mod.read_seeds(seeds_dir):
        raise UsageError(f"{seeds_dir}: no seed files (.txt) to learn from; put the seed articles there")
    current = None
    if cfg.keywords_path.exists():
        current, _ = check_keywords(cfg.keywords_path)
    result = derive_mod.derive(seeds_dir, current, min_seeds=min_seeds, background=_background(app))
    if as_diff:
        click.echo(derive_mod.diff(result), nl=False)
        return
    out = out or cfg.keywords_path.with_name("keywords.proposed.yaml")
    if not result.proposals:
        for line in derive_mod.summary(result):
            click.echo(line)
        click.echo(f"no term recurs enough in the seeds to propose; {out} is not written. Add seed articles "
                   f"about the topic, or lower --min-seeds.")
        return
    refusal = derive_mod.may_write(out, cfg.keywords_path)
    if refusal:
        raise UsageError(refusal)
    out.write_text(derive_mod.render(result, seeds_dir, utcnow()), encoding="utf-8")
    new = sum(1 for p in result.proposals if not p.in_list)
    click.echo(f"wrote {len(result.proposals)} proposed terms ({new} not in your list) to {out}")
    for line in derive_mod.summary(result):
        click.echo(line)
    click.echo(f"try them: watcher keywords test {out}")


def _background(app: App) -> list[derive_mod.BackgroundItem]:
    """The newest stored items the current list does not call relevant; none without a store (a fresh
    project: derive creates no store)."""
    if not app.config.db_path.exists():
        return []
    # The start of the content is enough to tell general vocabulary, and keeps 20,000 items in memory small.
    return [(t.title, t.summary, t.content, t.language)
            for t in store.irrelevant_texts(app.reader, limit=derive_mod.BACKGROUND_ITEMS, content_chars=5000)]


COMMANDS = [keywords_group, rematch]
