"""Collecting problems in a user's YAML file, each with its line, for `watcher check`.

sources.yaml and the keyword list are both written by people, so both are validated from PyYAML's node
tree (`yaml.compose`), which keeps the position of every key and value, and every problem is kept
rather than stopping at the first.
"""

from __future__ import annotations

import difflib
import functools
import typing
from pathlib import Path

import yaml

from .errors import Problem


class Checker:
    def __init__(self, path: Path):
        self.path = path
        self.problems: list[Problem] = []
        self.root: yaml.Node | None = None  # the document's top node, once read_mapping has read it

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
    # The composer has already resolved the node's tag (int, bool, timestamp...): construct from it
    # directly, as safe_load would, instead of serializing the node and parsing it again.
    if not isinstance(node, yaml.ScalarNode):
        return None
    return yaml.constructor.SafeConstructor().construct_document(node)


def read_mapping(ck: Checker, *, missing: str, shape: str, known: typing.Sequence[str]
                 ) -> dict[str, yaml.Node] | None:
    """Read ck.path as a YAML mapping and return its top-level keys (each once, unknown ones reported).

    None, with the reason in ck.problems, when the file is missing, unreadable, not YAML or not a
    mapping; `missing` and `shape` say what to do in those cases.
    """
    try:
        text = ck.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        ck.problems.append(Problem(str(ck.path), 0, f"file not found; {missing}"))
        return None
    except (OSError, UnicodeDecodeError) as e:
        ck.problems.append(Problem(str(ck.path), 0, f"cannot read it: {e}; save it as UTF-8 text"))
        return None
    try:
        root = _compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        ck.problems.append(Problem(str(ck.path), mark.line + 1 if mark else 0,
                                   f"not valid YAML: {getattr(e, 'problem', e)}; check indentation, colons and quotes"))
        return None
    if root is None or not isinstance(root, yaml.MappingNode):
        ck.problems.append(Problem(str(ck.path), 1, f"must be a mapping with {shape}"))
        return None
    top: dict[str, yaml.Node] = {}
    for k, v in root.value:
        if k.value not in known:
            ck.unknown(k, known, "the top level")
        elif k.value in top:
            ck.add(k, f"{k.value!r} appears twice; keep one")
        else:
            top[k.value] = v
    ck.root = root
    return top


@functools.lru_cache(maxsize=8)
def _compose(text: str) -> yaml.Node | None:
    """The node tree of a text, kept for the same text: every command reads the keyword list (and
    `watcher run` reads it again at each poll), and PyYAML's parser takes tens of milliseconds on it.
    Callers only read the tree. (libyaml's faster parser accepts some files this one refuses.)"""
    return yaml.compose(text, Loader=yaml.SafeLoader)
