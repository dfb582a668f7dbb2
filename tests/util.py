"""Helpers shared by the end-to-end tests: a config on disk, and the project's shipped seeds/keywords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# PYTHONPATH for every Python process a test starts: the project, and first tests/offline, whose
# sitecustomize.py keeps that process on 127.0.0.1 as tests/conftest.py keeps the test process.
SUBPROCESS_PYTHONPATH = os.pathsep.join([str(ROOT / "tests" / "offline"), str(ROOT)])

# Every Chromium the tests start reaches 127.0.0.1 and nothing else. The hostile fixtures link and frame
# https://evil.example/ on purpose, and no test may touch the internet: every other host goes to a proxy
# on a port nothing listens on (which also stops IP literals) and no other name resolves.
CHROMIUM_LOCAL_ONLY = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
                       "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def write_config(tmp_path: Path, sources: list[dict], extra: str = "") -> Path:
    """A sources.yaml in tmp_path using the project's own seeds and keyword list, state in tmp_path."""
    lines = [
        f"seeds: {json.dumps(str(ROOT / 'seeds'))}",
        f"state: {json.dumps(str(tmp_path / 'state'))}",
        f"keywords: {json.dumps(str(ROOT / 'seeds' / 'keywords.yaml'))}",
    ]
    if extra:
        lines.append(extra.rstrip())
    lines.append("sources:")
    for s in sources:
        lines.append(f"  - name: {json.dumps(s['name'])}")
        for k, v in s.items():
            if k != "name":
                lines.append(f"    {k}: {json.dumps(v)}")
    path = tmp_path / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PIPED: dict[str, str | None] = {"COLUMNS": None, "LINES": None}  # unset: no terminal size


class _Script:
    """What CliRunner invokes: the console script's own entry point (watcher.cli.main), so errors
    become one line and an exit status exactly as for a user."""

    name = "watcher"

    def main(self, args: list[str], prog_name: str | None = None, **_: object) -> None:
        from watcher.cli import main

        main(list(args))


def run_cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `watcher --config CONFIG ARGS` in this process (click's CliRunner), through the same entry
    point as the console script; stdout, stderr and the exit status come back as from a subprocess."""
    from click.testing import CliRunner

    # Output goes to a pipe, as in a script: no terminal width. (pytest-xdist workers set COLUMNS=80,
    # which `review list` would take for a terminal's.)
    r = CliRunner().invoke(_Script(), ["--config", str(config), *args], env=PIPED,  # type: ignore[arg-type]
                           catch_exceptions=False)
    p = subprocess.CompletedProcess(["watcher", "--config", str(config), *args], r.exit_code, r.stdout, r.stderr)
    if check and p.returncode != 0:
        raise AssertionError(f"watcher {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def run_console(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed console script (`.venv/bin/watcher`) in a subprocess: the smoke tests."""
    script = Path(sys.executable).parent / "watcher"
    env = {k: v for k, v in os.environ.items() if k not in PIPED}
    p = subprocess.run([str(script), "--config", str(config), *args],
                       capture_output=True, text=True, env={**env, "PYTHONPATH": SUBPROCESS_PYTHONPATH}, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"watcher {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def rss(items: list[dict], title: str = "Test feed", link: str = "http://127.0.0.1/") -> str:
    """A small RSS 2.0 document; each item dict has guid, title, and optionally link, description, pubDate."""
    from xml.sax.saxutils import escape

    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
             f"<link>{escape(link)}</link><description>fixture</description>"]
    for it in items:
        parts.append("<item>")
        for tag in ("title", "link", "guid", "description", "pubDate"):
            if it.get(tag):
                parts.append(f"<{tag}>{escape(it[tag])}</{tag}>")
        parts.append("</item>")
    parts.append("</channel></rss>\n")
    return "".join(parts)
