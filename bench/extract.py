"""Article extraction quality and speed on real pages: watcher's extractor against the bs4 <p> baseline.

    .venv/bin/python bench/extract.py [--articles ../shared/realdata/html_articles] [--limit N] [--worst 5]

Pages and expected text:
- article-extraction-benchmark/: html/<id>.html.gz, expected text `articleBody` in ground-truth.json
  (181 English pages).
- fundus/<country>/: <Publisher>_<date>.html.gz, expected text in <Publisher>.json: the versions (V1,
  V1_1, V2, ...) in order belong to the publisher's pages in date order; the text is body.summary, then
  each section's headline and paragraphs. "non-Latin" is the fundus pages whose expected text is mostly
  in another script (Chinese, Japanese, Korean, Arabic, Hebrew, Cyrillic, Greek, Thai...).

Scoring, as the benchmark's own evaluation does: the text is cut into tokens (words; each CJK
character is a token, Chinese and Japanese write no spaces), tokens into 4-token shingles, and a
page's precision and recall are over the sets of shingles; F1 per page, averaged over the pages of a
group. An empty extraction scores 0. ms/page is the median wall time of one extraction, decoding
included, in this process.

Extractors, in the same run on the same decoded pages:
- watcher: watcher.fulltext.extract.extract_page (trafilatura, favor_precision=True, no comments)
- bs4 <p>: BeautifulSoup(lxml) and the text of every <p>, what watcher's feed parsing uses bs4 for
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bs4 import BeautifulSoup  # noqa: E402

from watcher.fulltext.extract import decode, extract_page  # noqa: E402

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+", re.U)


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    toks = [t.lower() for t in _TOKEN.findall(text or "")]
    if len(toks) < n:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def f1(got: str, want: str) -> float:
    g, w = shingles(got), shingles(want)
    if not g or not w:
        return 1.0 if not g and not w else 0.0
    common = len(g & w)
    if not common:
        return 0.0
    p, r = common / len(g), common / len(w)
    return 2 * p * r / (p + r)


def script_of(text: str) -> str:
    """The script most letters of the text are in: latin, cjk, arabic, hebrew, cyrillic, ..."""
    counts: dict[str, int] = {}
    for c in text:
        if c.isalpha():
            name = unicodedata.name(c, "")
            s = "cjk" if ("CJK" in name or "HIRAGANA" in name or "KATAKANA" in name or "HANGUL" in name) \
                else (name.split(" ")[0].lower() or "other")
            counts[s] = counts.get(s, 0) + 1
    return max(counts, key=counts.get) if counts else "latin"


def bs4_paragraphs(html: str) -> str:
    soup = BeautifulSoup(html, "lxml")
    return "\n".join(p.get_text(" ", strip=True) for p in soup.find_all("p"))


def load_aeb(base: Path) -> list[tuple[str, str, bytes, str]]:
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for key, v in sorted(truth.items()):
        path = base / "html" / f"{key}.html.gz"
        if path.exists():
            out.append(("article-extraction-benchmark", v.get("url", ""), gzip.decompress(path.read_bytes()),
                        v["articleBody"]))
    return out


def _fundus_text(v: dict) -> str:
    body = v.get("body") or {}
    parts = list(body.get("summary") or [])
    for s in body.get("sections") or []:
        parts += list(s.get("headline") or []) + list(s.get("paragraphs") or [])
    return "\n".join(parts)


def load_fundus(base: Path) -> list[tuple[str, str, bytes, str]]:
    out = []
    for country in sorted(p for p in base.iterdir() if p.is_dir()):
        meta_path = country / "meta.info"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        for expected in sorted(country.glob("*.json")):
            versions = json.loads(expected.read_text(encoding="utf-8"))
            pages = sorted(country.glob(f"{expected.stem}_*.html.gz"))
            if len(pages) != len(versions):
                continue  # cannot tell which text belongs to which page
            for page, key in zip(pages, sorted(versions, key=_version_key)):
                want = _fundus_text(versions[key])
                if want.strip():
                    url = (meta.get(page.name) or {}).get("url", f"https://{expected.stem.lower()}.example/")
                    out.append(("fundus", url, gzip.decompress(page.read_bytes()), want))
    return out


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, default=ROOT.parent / "shared" / "realdata" / "html_articles")
    ap.add_argument("--limit", type=int, default=0, help="at most this many pages per set (0: all)")
    ap.add_argument("--worst", type=int, default=0, help="list this many lowest-scoring pages per group")
    args = ap.parse_args()
    if not args.articles.is_dir():
        sys.exit(f"{args.articles}: no such folder; pass --articles DIR")
    sets = [load_aeb(args.articles / "article-extraction-benchmark"), load_fundus(args.articles / "fundus")]
    pages = [p for s in sets for p in (s[:args.limit] if args.limit else s)]
    groups: dict[str, dict[str, list]] = {}
    for name, url, raw, want in pages:
        script = script_of(want)
        keys = [name] + ([f"{name} Latin"] if script == "latin" else ["non-Latin", f"non-Latin: {script}"]) \
            if name == "fundus" else [name]
        t0 = time.perf_counter()
        got = extract_page(raw, "text/html", url)
        t_w = time.perf_counter() - t0
        html, _ = decode(raw, "text/html")
        t0 = time.perf_counter()
        base = bs4_paragraphs(html or raw.decode("utf-8", "replace"))
        t_b = time.perf_counter() - t0
        score_w, score_b = f1(got.text, want), f1(base, want)
        for k in keys:
            g = groups.setdefault(k, {"w": [], "b": [], "tw": [], "tb": [], "pages": []})
            g["w"].append(score_w)
            g["b"].append(score_b)
            g["tw"].append(t_w)
            g["tb"].append(t_b)
            g["pages"].append((score_w, url, got.status))
    print(f"{'group':<32} {'pages':>5}  {'watcher F1':>10} {'ms/page':>8}  {'bs4 <p> F1':>10} {'ms/page':>8}")
    order = ["article-extraction-benchmark", "fundus", "fundus Latin", "non-Latin"]
    for k in order + sorted(k for k in groups if k not in order):
        g = groups.get(k)
        if not g:
            continue
        print(f"{k:<32} {len(g['w']):>5}  {statistics.mean(g['w']):>10.3f} {1000 * statistics.median(g['tw']):>8.0f}"
              f"  {statistics.mean(g['b']):>10.3f} {1000 * statistics.median(g['tb']):>8.0f}")
        if args.worst and k in order:
            for s, url, status in sorted(g["pages"])[:args.worst]:
                print(f"    {s:.3f} {status:<8} {url}")


if __name__ == "__main__":
    main()
