"""The parser workers are forked before the poll's event loop starts: forking once threads exist (the
loop's resolver threads, the pool's own manager thread) can leave a child holding a lock no thread
will release. make_pool returns without waiting for the workers to finish starting, so this checks
the forks themselves happened inside it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from util import ROOT
from watcher.match import Matcher
from watcher.pipeline import make_pool


def _children() -> set[int]:
    me = os.getpid()
    return {int(p) for p in Path(f"/proc/{me}/task/{me}/children").read_text().split()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/task/<tid>/children (Linux)")
@pytest.mark.parametrize("workers", [2, 3])
def test_make_pool_has_forked_every_worker_when_it_returns(workers: int) -> None:
    before = _children()
    pool = make_pool(workers, Matcher.load(ROOT / "seeds" / "keywords.yaml"))
    try:
        assert pool is not None
        assert len(_children() - before) == workers
    finally:
        pool.shutdown(wait=True)
    assert not _children() - before  # and none outlives the pool
