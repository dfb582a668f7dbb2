"""Collecting problems in a user's YAML file, each with its line, for `watcher check`.

sources.yaml and the keyword list are both written by people, so both are validated from PyYAML's node
tree (`yaml.compose`), which keeps the position of every key and value, and every problem is kept
rather than stopping at the first.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path

import yaml

from .errors import Problem


class Checker:
    def __init__(self, path: Path):
        self.path = path
        self.problems: list[Problem] = []

    def add(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.problems.append(Problem(str(self.path), line, message))

    def unknown(self, key_node: yaml.Node, known: typing.Iterable[str], where: str) -> None:
        """An unknown key, with the closest known one as a suggestion."""
        key = str(key_node.value)
        known = list(known)
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        self.add(key_node, f"unknown key {key!r} in {where}: {hint}")


def scalar(node: yaml.Node) -> typing.Any:
    """The Python value of a scalar node, typed as YAML would load it; None for lists and mappings."""
    return yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) else None
