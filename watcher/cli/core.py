"""check, poll, status, export, show."""

import click

from . import App, pass_app  # noqa: F401

COMMANDS: list = []
