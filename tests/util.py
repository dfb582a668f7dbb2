"""Helpers shared by the end-to-end tests: a config on disk, and the project's shipped seeds/keywords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


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


def run_cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m watcher --config CONFIG ARGS` the way a user does."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "watcher", "--config", str(config), *args],
                       capture_output=True, text=True, env=env, timeout=300)
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
