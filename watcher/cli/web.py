"""serve: the review page (watcher/web), served by uvicorn on this machine."""

from __future__ import annotations

import threading
import webbrowser

import click

from . import App, pass_app


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
    web = create_app(cfg, host=host, port=port, db=app.db)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    warning = bind_warning(host, port, reviewer(cfg))
    if warning:
        click.echo(warning, err=True)
    click.echo(f"the review page is at {url} (deciding as {reviewer(cfg)}); Ctrl-C stops it", err=True)
    if open_browser:
        threading.Timer(0.8, webbrowser.open, [url if is_loopback(host) else f"http://127.0.0.1:{port}/"]).start()
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)


COMMANDS = [serve]
