"""Commands of this area; see watcher/cli/__init__.py."""

import click  # noqa: F401

COMMANDS: list = []
