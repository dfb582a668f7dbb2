"""Whether a URL's host name could ever be looked up: one rule for `watcher check` and the fetch layer.

`check` used to accept what the fetch layer then refused ("a..b", "%zz"), so a typo passed `check`
and only showed up as a failing source after the first poll.
"""

from __future__ import annotations

import ipaddress
import re

import httpx

# One DNS label as resolvers accept it (RFC 1123 letters, digits, hyphens; underscores too, which
# some real hosts have). Anything else ("a..b", "%41", "x\y") can never resolve, and asking a DNS
# server about it only turns a typo into a misleading "does not resolve".
_LABEL = re.compile(r"^[a-z0-9_-]{1,63}$")


def host_problem(u: httpx.URL) -> str | None:
    """Why this URL's host can never be looked up, or None (an IP address, or a name of valid labels)."""
    try:
        u.host  # decodes an internationalised name: a broken "xn--" label raises here
    except Exception as e:
        return f"its host name is not a valid internationalised name ({e})"
    raw = u.raw_host.decode("ascii", "replace")
    if not raw:
        return "it has no host name"
    try:
        ipaddress.ip_address(raw)
        return None
    except ValueError:
        pass
    name = raw[:-1] if raw.endswith(".") else raw  # a trailing dot is the DNS root: legal
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.lower().split(".")):
        return f"{raw!r} is not a valid host name (letters, digits and hyphens, separated by single dots)"
    return None
