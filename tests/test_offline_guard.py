"""The guard in conftest.py (and in every Python process a test starts) can fail: a lookup of a real host is refused at once and recorded (a test
whose code did that fails at teardown), a reserved name is refused without being recorded, and a
loopback address resolves as usual."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def test_a_real_host_is_refused_and_recorded(_only_loopback: list[str]) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("www.python.org", 443)
    assert _only_loopback == ["www.python.org"]
    _only_loopback.clear()  # seen: this test is the control, not a leak


@pytest.mark.parametrize("name", ["feeds.example.com", "x.invalid", "-bad-name", "host.test"])
def test_a_reserved_name_fails_without_being_recorded(_only_loopback: list[str], name: str) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(name, 80)
    assert _only_loopback == []


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "::1"])
def test_loopback_resolves(name: str) -> None:
    assert socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)


PROBE = """
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 443)
except socket.gaierror as e:
    print("refused:", e)
else:
    print("resolved")
"""


@pytest.mark.parametrize("name,recorded", [("www.python.org", True), ("feeds.example.com", False),
                                           ("127.0.0.1", False)])
def test_a_python_subprocess_follows_the_same_rule(tmp_path, name: str, recorded: bool) -> None:
    # The `watcher` processes tests start (run, serve, backfill, the console script) get the guard
    # through tests/offline/sitecustomize.py; here with a log of its own, so this control is no leak.
    log = tmp_path / "tried.txt"
    p = subprocess.run([sys.executable, "-c", PROBE, name], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "WATCHER_TEST_NETLOG": str(log)})
    assert p.stdout.startswith("resolved" if name == "127.0.0.1" else "refused:"), p.stdout + p.stderr
    assert (log.read_text(encoding="utf-8").split() if log.exists() else []) == ([name] if recorded else [])
