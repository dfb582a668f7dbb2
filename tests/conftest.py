"""Shared pytest fixtures: the local feed server, and an environment that cannot reach the internet."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so tests can `from feedserver import ...`

from feedserver import FeedServer  # noqa: E402

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours proxy variables; a proxy would carry "127.0.0.1" requests off this machine.
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


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
