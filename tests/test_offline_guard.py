"""The guard in conftest.py can fail: a lookup of a real host is refused at once and recorded (a test
whose code did that fails at teardown), a reserved name is refused without being recorded, and a
loopback address resolves as usual."""

from __future__ import annotations

import socket

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
