"""What `keywords derive` would do to the matches on ordinary news: the proposal's `keywords test` diff.

    .venv/bin/python bench/derive_noise.py [--feeds ../shared/realdata/feeds] [--seeds seeds]

Reproducible, offline: serves every file under --feeds from a local server on 127.0.0.1, and in a
temporary project (a copy of the seeds and the shipped keyword list, state in the temp folder) runs,
as a user would:

  1. `watcher keywords derive --out fresh.yaml`   on the empty store: only the shipped stop lists apply
  2. `watcher poll`                               stores the real feeds
  3. `watcher keywords derive --out stored.yaml`  with the stored items as the background
  4. `watcher keywords test FILE` for both proposals

and prints how many items each proposal would add and drop, and the terms the added items matched
on (as `keywords test` names them). These feeds are ordinary news, nearly none about the topic, so every added item is a false alert
the proposal would cause. The feeds are a background for this measurement only: watcher never ships
or reads them.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from click.testing import CliRunner  # noqa: E402
from feedserver import FeedServer  # noqa: E402

from watcher import config as config_mod  # noqa: E402
from watcher.cli import cli  # noqa: E402
from watcher.keywords import load_keywords  # noqa: E402

_ADD = re.compile(r"^would add (\d+) items", re.M)
_DROP = re.compile(r"^would drop (\d+) items", re.M)
_TERMS = re.compile(r"^  on the terms: (.*)$", re.M)


def _run(config: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    if r.exit_code != 0:
        sys.exit(f"watcher {' '.join(args)} exited {r.exit_code}:\n{r.output}")
    return r.output


def _project(tmp: Path, seeds: Path, urls: list[str]) -> Path:
    shutil.copytree(seeds, tmp / "seeds", ignore=shutil.ignore_patterns("keywords.proposed.yaml", "*.yaml~"))
    lines = [f"state: {json.dumps(str(tmp / 'state'))}", "sources:"]
    for i, url in enumerate(urls):
        # fulltext: never: the real feeds' items link to the real sites, which a bench must not reach.
        lines += [f"  - name: s{i:03d}", f"    url: {json.dumps(url)}", "    fulltext: never"]
    config = tmp / "sources.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=Path, default=ROOT.parent / "shared" / "realdata" / "feeds")
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    args = ap.parse_args()
    if not args.feeds.is_dir():
        sys.exit(f"{args.feeds}: no feeds folder; pass --feeds DIR (the real feeds live in ../shared/realdata/feeds)")
    files = sorted(p for p in args.feeds.rglob("*") if p.is_file())
    server = FeedServer().start()
    try:
        urls = [server.add(f"/{i}/{f.name}", f.read_bytes(), content_type="application/xml")
                for i, f in enumerate(files)]
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            config = _project(tmp, args.seeds, urls)
            fresh, stored = tmp / "seeds" / "fresh.yaml", tmp / "seeds" / "stored.yaml"
            _run(config, "keywords", "derive", "--out", str(fresh))
            poll = _run(config, "poll")
            _run(config, "keywords", "derive", "--out", str(stored))
            db = sqlite3.connect(config_mod.load(config).db_path)
            items = db.execute("SELECT count(*) FROM items").fetchone()[0]
            print(f"{len(files)} feed files, {items} items stored; poll: {poll.strip().splitlines()[-1]}")
            for label, proposal in (("derive on an empty store (shipped lists only)", fresh),
                                    ("derive with the stored items as background", stored)):
                n_terms = sum(len(t.terms) for t in load_keywords(proposal).rules)
                out = _run(config, "keywords", "test", str(proposal), "--limit", "0")
                add, drop = int(_ADD.search(out).group(1)), int(_DROP.search(out).group(1))
                terms = _TERMS.search(out)
                print(f"\n{label}: {n_terms} terms proposed")
                print(f"  keywords test: would add {add} items, would drop {drop}")
                print(f"  added on the terms: {terms.group(1) if terms else '-'}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
