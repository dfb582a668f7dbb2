"""Shared pytest fixtures: the local feed server, and an environment that cannot reach the internet."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so tests can `from feedserver import ...`
sys.path.insert(0, str(Path(__file__).parent / "offline"))

# Keep compiled modules in __pycache__ (git-ignored) even where PYTHONDONTWRITEBYTECODE=1 is set, as on
# the shared development machine: without them every xdist worker compiles and assertion-rewrites every
# test module and every watcher module from source (~1.5 s of CPU per worker), and every `watcher`
# subprocess a test starts compiles watcher again (~0.2 s each). Subprocesses keep the variable: they
# only read the caches written here.
sys.dont_write_bytecode = False

import netguard  # noqa: E402
from feedserver import FeedServer  # noqa: E402
from util import SUBPROCESS_PYTHONPATH  # noqa: E402

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours proxy variables; a proxy would carry "127.0.0.1" requests off this machine.
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


# Every Python subprocess a test starts runs tests/offline/sitecustomize.py first: the same loopback-only
# rule as below, its refused names logged to this worker's file (read by _only_loopback after each test).
_NETLOG = Path(tempfile.mkdtemp(prefix="watcher-netlog-")) / "tried.txt"
_NETLOG.touch()
atexit.register(shutil.rmtree, _NETLOG.parent, ignore_errors=True)
os.environ["WATCHER_TEST_NETLOG"] = str(_NETLOG)
os.environ["PYTHONPATH"] = os.pathsep.join([SUBPROCESS_PYTHONPATH, *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Tests never touch the internet: every name lookup in this process (and the parser workers it
    forks, and the Python processes it starts) other than a loopback address fails at once, without a
    query leaving the machine, and a test whose code tried to reach a real host fails, naming it. (Feed
    items link to real sites; a feature that follows links, like full text, must be pointed at
    127.0.0.1 in a test.)"""
    tried: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", netguard.guard(socket.getaddrinfo, tried.append))
    seen = _NETLOG.stat().st_size
    yield tried  # the list itself, so tests/test_offline_guard.py can show the guard sees a lookup
    with _NETLOG.open(encoding="utf-8") as f:
        f.seek(seen)
        tried += f.read().split()
    assert not tried, f"the test tried to reach hosts off this machine: {sorted(set(tried))[:10]}"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A FeedServer on 127.0.0.1:<ephemeral>, stopped after the test (see tests/feedserver.py)."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.errors, f"the test feed server itself crashed: {server.errors!r}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """With WATCHER_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium and fonts-noto-cjk), a
    browser test that skips fails instead: CI must not go green without running them. Elsewhere they
    skip, saying why."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("WATCHER_REQUIRE_BROWSER") == "1" and "browser" in item.path.name:
        report.outcome = "failed"
        report.longrepr = f"WATCHER_REQUIRE_BROWSER=1 but this browser test skipped: {report.longrepr}"


# Modules whose tests share costly module-scoped setup run on one xdist worker, so it is made once per
# run instead of once per worker: test_web_browser (a store filled by backfill and poll, `watcher serve`,
# Chromium), test_harden_store (the healthy store, a poll and ten commands' outputs), test_peer_suites
# (the cross-checks read the per-folder parses). pytest-xdist's own `xdist_group` mark does nothing with
# pytest 9.2 (it rewrites Item._nodeid, which pytest no longer reads), hence this scheduler.
TOGETHER = ("test_web_browser.py", "test_harden_store.py", "test_peer_suites.py")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    if config.getvalue("dist") != "load":  # the default of `-n`; another --dist asked for is kept
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Together(LoadScopeScheduling):
        """xdist's scope scheduling where a scope is one of TOGETHER's modules or else a single test.
        Scopes go out largest first (the modules above), then test by test in collection order."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.rsplit("/", 1)[-1] in TOGETHER else nodeid

        # xdist counts a node's pending tests over every scope it was ever given, at every finished
        # test, and finds each test's index with list.index: with a scope per test both are quadratic
        # (~0.6 s of the controller's CPU for 2,000 tests, while the workers wait for their next test).
        def mark_test_complete(self, node, item_index: int, duration: float = 0) -> None:  # type: ignore[no-untyped-def]
            nodeid = self.registered_collections[node][item_index]
            scope = self._split_scope(nodeid)
            unit = self.assigned_work[node][scope]
            unit[nodeid] = True
            if all(unit.values()):
                del self.assigned_work[node][scope]  # done: nothing pending is left in it
            self._reschedule(node)

        def _assign_work_unit(self, node) -> None:  # type: ignore[no-untyped-def]
            scope, work_unit = self.workqueue.popitem(last=False)
            self.assigned_work.setdefault(node, {})[scope] = work_unit
            index = self.__dict__.setdefault("_index", {}).get(node)
            if index is None:
                index = self._index[node] = {n: i for i, n in enumerate(self.registered_collections[node])}
            node.send_runtest_some([index[n] for n, done in work_unit.items() if not done])

    return Together(config, log)
