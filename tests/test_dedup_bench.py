"""Smoke test of bench/dedup.py: it runs on a small store and reports what it promises."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_runs_small(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "dedup.py"), "--n", "2000", "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    result = lines[-1]
    assert result["n"] == 2000 and result["repost_recall"] >= 0.9
    assert result["decide_ms_median"] > 0 and result["exact_over_index"] > 0
