"""The review page (`watcher serve`): a local web app for the morning review and keyword tuning.

app.py       routes and handlers (Starlette), over the same store and config as the CLI
security.py  Host / Origin / CSRF checks and the Content-Security-Policy (ASGI middleware)
queries.py   the page's own reads, by name (kept in watcher/store/review_page.py with all SQL)
views.py     pure shaping of stored rows into what the templates show
templates/   Jinja2, autoescaped; static/  htmx (vendored), app.js, style.css
"""
