"""Run at the start of every Python subprocess a test starts (tests/conftest.py puts this folder first
on PYTHONPATH): the same loopback-only rule as the pytest process (netguard.py), for the `watcher`
commands, `watcher run`, `watcher serve` and benches that tests start as processes of their own. A
name the process tried to reach goes to the file named by WATCHER_TEST_NETLOG, which the test's
`_only_loopback` fixture reads after it."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import netguard  # noqa: E402

del sys.path[0]


def _tried(name: str) -> None:
    log = os.environ.get("WATCHER_TEST_NETLOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{name}\n")


socket.getaddrinfo = netguard.guard(socket.getaddrinfo, _tried)
