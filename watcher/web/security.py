"""What keeps another web page from using the review page: Host, Origin, CSRF token, CSP.

The page has no login: it is for one analyst on their own machine. What it must stop is a page on
another site (open in the same browser) driving it:
- a foreign `Host` header is DNS rebinding (evil.example resolving to 127.0.0.1), refused on every
  request, so such a page can neither read the queue nor post to it;
- every POST must come from our own origin (`Origin`, else `Referer`, when the browser sends one) and
  carry the CSRF token: an HMAC of the browser's session cookie (SameSite=Strict, HttpOnly) under a
  key made when the server starts. A cross-site form can send neither the header nor the cookie;
- every response has a Content-Security-Policy that allows scripts only from our own static files
  (no inline script, no inline handlers, no eval), so a feed string that slipped through escaping
  still could not run.

The checks are pure functions; `Guard` is the ASGI middleware that applies them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

SESSION_COOKIE = "watcher_session"
TOKEN_HEADER = "x-csrf-token"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, port: int, who: str) -> str | None:
    """What `watcher serve` says before it listens on an address other machines can reach."""
    if is_loopback(host):
        return None
    shown = f"[{host}]" if ":" in host else host
    return (f"warning: the review page has no login; anyone who can reach {shown}:{port} can read the queue "
            f"and record decisions as {who}. Use --host 127.0.0.1 unless you mean it.")


def allowed_hosts(bind: str, port: int) -> frozenset[str]:
    """The Host header values this server answers to: the loopback names, the address it is bound to,
    and, when bound to every interface, this machine's own names and addresses."""
    names = set(LOOPBACK_NAMES)
    if bind not in ("0.0.0.0", "::", ""):
        names.add(f"[{bind}]" if ":" in bind else bind)
    else:
        host = socket.gethostname()
        names |= {host.lower(), socket.getfqdn().lower()}
        try:
            names |= set(socket.gethostbyname_ex(host)[2])
        except OSError:
            pass
    return frozenset(f"{n}:{port}" for n in names) | (frozenset(names) if port == 80 else frozenset())


def host_ok(host: str | None, allowed: frozenset[str]) -> bool:
    return host is not None and host.lower() in allowed


def origin_ok(origin: str | None, host: str) -> bool:
    """A request's Origin (or Referer) is ours: http://<the Host it was sent to>. None: not sent."""
    if origin is None:
        return True
    if origin == "null":  # sandboxed frames, file:// pages, some redirects: never ours
        return False
    parts = urlsplit(origin)
    return parts.scheme == "http" and parts.netloc.lower() == host.lower()


@dataclass(frozen=True)
class Tokens:
    """CSRF tokens: HMAC-SHA256 of the session cookie under a key that lives as long as the server."""

    key: bytes

    @classmethod
    def new(cls) -> "Tokens":
        return cls(secrets.token_bytes(32))

    def token(self, session: str) -> str:
        return hmac.new(self.key, session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: str | None) -> bool:
        if not session or not token:
            return False
        return hmac.compare_digest(self.token(session), token)


def new_session() -> str:
    return secrets.token_urlsafe(32)


def session_cookie(session: str) -> str:
    return f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"


def cookie_value(header: str | None, name: str = SESSION_COOKIE) -> str | None:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def refusal(method: str, headers: dict[str, str], allowed: frozenset[str], tokens: Tokens) -> str | None:
    """Why this request is refused (403), or None. `headers`: lower-cased names. Pure."""
    host = headers.get("host")
    if not host_ok(host, allowed):
        return (f"this page answers only to {', '.join(sorted(allowed))}; the Host {host!r} looks like DNS "
                f"rebinding")
    if method not in UNSAFE_METHODS:
        return None
    assert host is not None  # host_ok refuses a request without one
    if not origin_ok(headers.get("origin"), host):
        return f"a request from another site ({headers.get('origin')}) may not change anything here"
    if "origin" not in headers and headers.get("referer") is not None:
        ref = urlsplit(headers["referer"])
        if not origin_ok(f"{ref.scheme}://{ref.netloc}", host):
            return "a request from another site may not change anything here"
    if not tokens.valid(cookie_value(headers.get("cookie")), headers.get(TOKEN_HEADER)):
        return "missing or wrong CSRF token; reload the page and try again"
    return None


class Guard:
    """ASGI middleware: refuses what `refusal` refuses with 403, adds the security headers, and gives
    a browser without a session cookie one (the page reads its token from `scope["state"]`)."""

    def __init__(self, app, *, allowed: frozenset[str], tokens: Tokens):
        self.app, self.allowed, self.tokens = app, allowed, tokens

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        why = refusal(scope["method"], headers, self.allowed, self.tokens)
        if why is not None:
            body = f"403 Forbidden: {why}\n".encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode()), *HEADERS]})
            await send({"type": "http.response.body", "body": body})
            return
        cookie = cookie_value(headers.get("cookie"))
        fresh = cookie is None
        session = new_session() if cookie is None else cookie
        scope.setdefault("state", {})["csrf_token"] = self.tokens.token(session)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [h for h in HEADERS if h[0] not in {k.lower() for k, _ in message.get("headers", [])}]
                if fresh:
                    extra.append((b"set-cookie", session_cookie(session).encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
