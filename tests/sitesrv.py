"""Small web sites on 127.0.0.1 for the backfill tests: routes are functions of the request.

    site = Site().start()
    site.route("/feed/", lambda q: (200, {"Content-Type": "application/rss+xml"}, body))
    site.url("/feed/")                     # http://127.0.0.1:PORT/feed/
    site.log                               # [(monotonic time, path, query string), ...] in arrival order
    site.stop()

A route function gets the query as a dict (one value per key) and returns (status, headers, body).
Unknown paths are 404. Only ever binds 127.0.0.1, on an ephemeral port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

Answer = tuple[int, dict[str, str], bytes | str]
Handler = Callable[[dict[str, str]], Answer]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        site = self.server.site
        with site.lock:
            site.log.append((time.monotonic(), parts.path, parts.query))
            handler = site.routes.get(parts.path)
        if handler is None:
            status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
        else:
            status, headers, body = handler(dict(parse_qsl(parts.query, keep_blank_values=True)))
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: "Site"


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.log: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        # stop() waits for serve_forever to look at its shutdown flag, once per poll_interval (default
        # 0.5 s), paid by every test that stops a site.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "Site":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def static(self, path: str, body: bytes | str, content_type: str = "application/xml", status: int = 200) -> str:
        return self.route(path, lambda q: (status, {"Content-Type": content_type}, body))

    def paths(self) -> list[str]:
        with self.lock:
            return [p for _, p, _ in self.log]
