"""serve: the review page (watcher/web), served by uvicorn on this machine."""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser

import click

from ..errors import StoreReadOnlyError, UsageError, WatcherError
from . import App, pass_app


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or one line saying why not and what to do.

    Bound here, before "the review page is at ..." is printed: uvicorn binds later and reports a port in
    use or a host that is not this machine's as its own log line, after we had announced the page."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise UsageError(f"cannot serve on {where}: --host {host!r} is not an address or name of this machine "
                         f"({getattr(e, 'strerror', None) or e}); use --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise WatcherError(f"cannot serve on {where}: the port is in use by another program (another "
                               f"`watcher serve`?); stop it or pick another --port") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"cannot serve on {where}: {host} is not an address of this machine; "
                             f"use --host 127.0.0.1") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise WatcherError(f"cannot serve on {where}: this user may not listen on port {port} (ports below "
                               f"1024 need privileges); pick a --port from 1024 up, such as 8700") from None
        raise WatcherError(f"cannot serve on {where}: {e.strerror or e}") from None
    return sock


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but this machine's loopback lets others in: the page has no login.")
@click.option("--port", type=click.IntRange(1, 65535), default=8700, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the system browser.")
@pass_app
def serve(app: App, host: str, port: int, open_browser: bool) -> None:
    """The review page: queue, items, sources, digests and keyword tuning in the browser."""
    import uvicorn

    from ..web.app import create_app, reviewer
    from ..web.security import bind_warning, is_loopback

    cfg = app.config
    try:
        db = app.db
    except StoreReadOnlyError:
        # A backup, or a store in a read-only folder: browse it; decisions answer that they cannot be kept.
        db = app.reader
        click.echo(f"the store {cfg.db_path} is read-only: the page shows it, and decisions made there "
                   f"cannot be saved", err=True)
    web = create_app(cfg, host=host, port=port, db=db)
    sock = listen(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    warning = bind_warning(host, port, reviewer(cfg))
    if warning:
        click.echo(warning, err=True)
    click.echo(f"the review page is at {url} (deciding as {reviewer(cfg)}); Ctrl-C stops it", err=True)
    if open_browser:
        threading.Timer(0.8, webbrowser.open, [url if is_loopback(host) else f"http://127.0.0.1:{port}/"]).start()
    config = uvicorn.Config(web, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
    uvicorn.Server(config).run(sockets=[sock])


COMMANDS = [serve]
