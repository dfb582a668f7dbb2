"""The command line: a thin click layer over the library.

Library errors (`errors.WatcherError`) become one clear line and an exit status here, in `main()`,
and nowhere else. Command groups live in sibling modules, one per area:

    core.py      check, poll, status, export, show
    keywords.py  keywords derive|test|report, rematch
    dedup.py     dedup --recheck
    daily.py     run, digest, review
    backfill.py  backfill, coverage
    web.py       serve (the review page)
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import click

from .. import config as config_mod
from ..errors import WatcherError


class App:
    """What every command needs: the config path, the loaded config, and the store."""

    def __init__(self, config_path: Path):
        self.config_path = config_path

    @cached_property
    def config(self) -> config_mod.Config:
        """Every command loads it here, so none starts on a sources.yaml that `watcher check` rejects."""
        return config_mod.load(self.config_path)

    def config_and_keywords(self) -> config_mod.Config:
        """The config, after checking its keyword list too: `poll` and `run` refuse to start (before the
        lock and the store) on a list `watcher check` rejects, instead of failing at each poll."""
        from ..keywords import load_keywords

        load_keywords(self.config.keywords_path)
        return self.config

    @cached_property
    def db(self):
        """The store, for a command that writes (migrated; refused if read-only)."""
        from ..store import connect

        return connect(self.config.db_path)

    @cached_property
    def reader(self):
        """The store, for a command that only reads: opened read-only (no migration, no lock, no write),
        so a backup or a read-only folder can be inspected. Through the writer if one is open already."""
        if "db" in self.__dict__:
            return self.db
        from ..store import connect_readonly

        return connect_readonly(self.config.db_path)

    def close(self) -> None:
        # Closing the last connection merges the WAL into the file and removes -wal and -shm.
        for name in ("reader", "db"):
            db = self.__dict__.pop(name, None)
            if db is not None:
                db.conn.close()


pass_app = click.make_pass_decorator(App)


def parse_since(value: str | None) -> datetime | None:
    """--since: a date (2026-11-01) or a date and time (2026-11-01T06:00), read as UTC."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM",
                                 param_hint="--since") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def since_option(f):
    return click.option("--since", metavar="DATE",
                        help="Only items published on or after DATE (YYYY-MM-DD, UTC).")(f)


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="WATCHER_CONFIG", default="sources.yaml", show_default=True,
              help="The sources file (also WATCHER_CONFIG). seeds/, state/ and the keyword list "
                   "resolve next to it unless it says otherwise.")
@click.version_option(package_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config_path: Path) -> None:
    """Watch news feeds for one story across languages."""
    ctx.obj = App(config_path)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from . import backfill, core, daily, dedup, fulltext, keywords, web

    for module in (core, keywords, dedup, daily, fulltext, backfill, web):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """The console script: run one command; a library error is one line and an exit status.

    `argv` (default: sys.argv[1:]) lets tests run a command in-process exactly as the script does."""
    try:
        cli.main(args=argv, prog_name="watcher", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except WatcherError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)
