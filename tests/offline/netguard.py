"""The rule every test process follows: name lookups reach loopback addresses only.

Used in the pytest process by tests/conftest.py (`_only_loopback`) and in every Python subprocess a
test starts by tests/offline/sitecustomize.py. A lookup of any other name fails at once, with no
query leaving the machine; a name that is not reserved for failing (RFC 2606, RFC 6761) is reported
as a test that tried to reach the internet.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

# Names no DNS server answers for the internet (RFC 2606, RFC 6761) or that glibc refuses to send: a
# test may use them on purpose to see a lookup fail.
RESERVED = (".test", ".example", ".invalid", ".localhost", "example.com", "example.net", "example.org")


def loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
        return True
    except ValueError:
        return False


def meant_to_fail(host: str) -> bool:
    h = host.lower().rstrip(".")
    return h.startswith("-") or any(h == r.lstrip(".") or h.endswith(r if r.startswith(".") else "." + r)
                                    or h == r for r in RESERVED)


def guard(real: Callable[..., Any], tried: Callable[[str], None]) -> Callable[..., Any]:
    """socket.getaddrinfo that only looks up loopback names; `tried` hears of every other real name."""

    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        if loopback(name) or (flags & socket.AI_PASSIVE and ip_literal(name)):
            # A passive lookup of an address is for binding a server to it: no query, no traffic.
            return real(host, *args, **kwargs)
        if not meant_to_fail(name):
            tried(name)
        raise socket.gaierror(socket.EAI_NONAME, f"tests stay on 127.0.0.1: {name} not looked up")

    return guarded
