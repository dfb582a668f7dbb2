"""What every backfill method is given, and what each must offer (see watcher/backfill/run.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Config, Source
from .plan import DateRange, Page
from .polite import Polite


class PageError(Exception):
    """A page could not be fetched or read: the run fails there, resumable from that page."""


@dataclass
class Ctx:
    cfg: Config
    source: Source
    rng: DateRange
    polite: Polite
    say: Callable[[str], None]


class Method(Protocol):
    name: str

    async def probe(self) -> str | None:
        """None when this method can fill the range; else why not (auto then tries the next one)."""

    def first_cursor(self) -> dict[str, Any]:
        """The cursor a run of this method starts from."""

    async def step(self, cursor: dict[str, Any]) -> Page:
        """Fetch the page the cursor points at; the Page carries the cursor after it."""

    def estimate(self) -> str:
        """For --dry-run, after probe(): what it would fetch, and how many requests that takes."""
