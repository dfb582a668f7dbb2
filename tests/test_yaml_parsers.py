"""sources.yaml and the keyword list are read by libyaml (PyYAML's C parser) when it is there, and by
the pure-Python parser otherwise, or when libyaml rejects the file (so every error has one wording).
Both must report the same problems on the same lines: every case of the config and keyword tables is
checked both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from watcher import yamlcheck
from watcher.config import check
from watcher.keywords import check_keywords

HERE = Path(__file__).parent
CONFIGS = yaml.safe_load((HERE / "config_cases.yaml").read_text(encoding="utf-8"))
KEYWORDS = yaml.safe_load((HERE / "keywords_bad_cases.yaml").read_text(encoding="utf-8"))["cases"]
CASES = ([("sources.yaml", c["name"], c["yaml"]) for c in CONFIGS]
         + [("keywords.yaml", c["name"], c["file"]) for c in KEYWORDS]
         + [("keywords.yaml", "the shipped keyword list", (HERE.parent / "seeds" / "keywords.yaml").read_text("utf-8"))])


def problems(kind: str, path: Path) -> list[tuple[int, str]]:
    found = check(path)[1] if kind == "sources.yaml" else check_keywords(path)[1]
    return [(p.line, p.message) for p in found]


@pytest.mark.skipif(yamlcheck._FAST_LOADER is None, reason="this PyYAML has no libyaml: only one parser to test")
@pytest.mark.parametrize("kind,name,text", CASES, ids=[f"{k}: {n}" for k, n, _ in CASES])
def test_both_parsers_report_the_same(kind: str, name: str, text: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / kind
    path.write_text(text, encoding="utf-8")
    fast = problems(kind, path)
    monkeypatch.setattr(yamlcheck, "_FAST_LOADER", None)
    assert fast == problems(kind, path)
