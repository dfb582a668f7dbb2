"""Does a change to the worker's per-feed job (watcher/prepare.py and what it calls) change any result?

    .venv/bin/python bench/prepare_equiv.py --record /tmp/equiv-base.json     # on the code before
    .venv/bin/python bench/prepare_equiv.py --compare /tmp/equiv-base.json    # after every change

A correctness gate for speed work, not a benchmark: it runs `prepare_feed` over every feed of the real
corpus (../shared/realdata/feeds), of the dev set (../shared/eval/dev/feeds, every version) and of
tests/fixtures/parse/cases.yaml, each once without a source language and once with the one the feed is
filed under, and digests every field of every PreparedEntry (the entry, its language, match result with
hits, fingerprint bytes, canonical link, content hash) and of the FeedData. Beyond what prepare_feed
itself computes, every entry is also fingerprinted whole (prepare_feed fingerprints only the few that hit
a keyword) and matched without a language, so both code paths are covered on every item. Finally
html_to_text runs over a few thousand generated fragments (tags of every class the converter knows,
entities, comments, CDATA, broken and very deep markup, odd white space) and the hostile strings of
tests/fixtures/xss/vectors.yaml.

Each digest is per field, so a difference says which feed, entry and field changed; rerun both versions
on that feed to see how.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from watcher.dedup.fingerprint import Fingerprint, fingerprint  # noqa: E402
from watcher.match import Matcher  # noqa: E402
from watcher.model import MatchResult  # noqa: E402
from watcher.prepare import PreparedEntry, prepare_feed  # noqa: E402
from watcher.text import html_to_text  # noqa: E402


def h(value: Any) -> str:
    if isinstance(value, bytes):
        data = value
    else:
        data = repr(value).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:20]


def fp_digest(fp: Fingerprint) -> dict[str, str]:
    return {"fp.full": h(fp.full_bytes), "fp.lead": h(fp.lead_bytes), "fp.anchors": h(sorted(fp.anchors)),
            "fp.language": h(fp.language), "fp.keys": h(fp.keys_bytes), "fp.seeds_only": h(fp.seeds_only)}


def match_digest(m: MatchResult, prefix: str) -> dict[str, str]:
    return {f"{prefix}.relevant": h(m.relevant), f"{prefix}.score": h(m.score), f"{prefix}.topics": h(m.topics),
            f"{prefix}.keywords": h(m.keywords), f"{prefix}.hits": h([repr(x) for x in m.hits])}


def entry_digest(p: PreparedEntry, matcher: Matcher) -> dict[str, str]:
    e = p.entry
    out = {f"entry.{k}": h(v) for k, v in vars(e).items()}
    out["language"] = h(p.language)
    out.update(match_digest(p.match, "match"))
    out.update(fp_digest(p.fingerprint))
    out["canonical_link"] = h(p.canonical_link)
    out["content_hash"] = h(p.content_hash)
    out["fulltext"] = h(p.fulltext)
    # Both fingerprint paths and a language-free match on every entry, whatever its score.
    whole = fingerprint(e.title, e.summary, e.content, p.language, seeds_only=False)
    out.update({"whole." + k: v for k, v in fp_digest(whole).items()})
    seeds = fingerprint(e.title, e.summary, e.content, p.language, seeds_only=True)
    out.update({"seeds." + k: v for k, v in fp_digest(seeds).items()})
    out.update(match_digest(matcher.match(e.title, e.summary, e.content, None), "match_nolang"))
    return out


def feeds(shared: Path) -> list[tuple[str, bytes, dict[str, str], str | None]]:
    """(name, body, headers, the language the feed is filed under)."""
    out: list[tuple[str, bytes, dict[str, str], str | None]] = []
    real = shared / "realdata" / "feeds"
    for p in sorted(x for x in real.rglob("*") if x.is_file()):
        lang = p.relative_to(real).parts[0]
        out.append((f"real/{p.relative_to(real)}", p.read_bytes(), {}, lang if lang in ("en", "zh", "vi") else None))
    dev = shared / "eval" / "dev"
    langs = {f["file"]: f["language"] for f in json.loads((dev / "feeds.json").read_text("utf-8"))}
    for p in sorted(x for x in (dev / "feeds").rglob("*") if x.is_file()):
        out.append((f"dev/{p.relative_to(dev / 'feeds')}", p.read_bytes(), {}, langs.get(p.name)))
    for i, case in enumerate(yaml.safe_load((ROOT / "tests" / "fixtures" / "parse" / "cases.yaml").read_text("utf-8"))):
        enc = case.get("encoding", "utf-8")
        body = (case.get("prefix", "") + case["body"]).encode(enc, "replace") if isinstance(case.get("body"), str) else b""
        if case.get("bom"):
            body = "\ufeff".encode(enc) + body
        out.append((f"case/{i}", body, case.get("headers") or {}, None))
    return out


# --- generated HTML fragments ------------------------------------------------------------------------
_TAGS = ["p", "div", "br", "b", "i", "a", "span", "script", "style", "li", "ul", "h2", "table", "tr", "td",
         "nav", "form", "iframe", "blockquote", "pre", "img", "hr", "svg", "figure", "figcaption", "em",
         "header", "footer", "aside", "noscript", "template", "title", "head", "body", "html", "option",
         "select", "textarea", "font", "center", "section", "x-custom", "o:p", "math", "wbr", "dd", "dt"]
_WORDS = ["chip", "Nvidia", "H20", "xuất khẩu", "kiểm soát", "芯片", "出口管制", "الرقائق", "&amp;", "&lt;b&gt;",
          "&nbsp;", "&#8212;", "&eacute;", "&bogus;", "a&b", "1 < 2", "x>y", "\u00a0", "\u200b", "\t", "\n",
          "\r\n", "  ", "ﬁ", "Straße", "🙂", "<!-- c -->", "<![CDATA[cd <b>x</b>]]>", "<?pi x?>", "<!DOCTYPE html>",
          "'", '"', "—", "…", "\u2029", "\u3000", "\x0b", "\x0c", "&#0;", "&#x1F600;", "&#xD800;"]


def fragment(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        r = rng.random()
        if r < 0.45 or depth > 6:
            parts.append(rng.choice(_WORDS) + rng.choice(["", " ", "\n", ""]))
        elif r < 0.9:
            tag = rng.choice(_TAGS)
            attrs = rng.choice(["", ' class="x"', " id=a", ' href="/x?a=1&b=2"', " hidden", ' style="display:none"'])
            inner = fragment(rng, depth + 1)
            close = rng.choice([f"</{tag}>", f"</{tag}>", f"</{tag}>", "", f"</{rng.choice(_TAGS)}>"])
            parts.append(f"<{tag}{attrs}>{inner}{close}" if tag not in ("br", "img", "hr", "wbr") or rng.random() < .2
                         else rng.choice([f"<{tag}>", f"<{tag}/>", f"<{tag} />"]))
        else:
            parts.append(rng.choice(["<", ">", "</", "<p", "<!--", "-->", "&", "&#", "</>", "<>", "< p>"]))
    return "".join(parts)


def fragments() -> list[str]:
    rng = random.Random(20261202)
    out = [fragment(rng) for _ in range(6000)]
    out += ["<div>" * n + "deep" + "</div>" * n for n in (10, 300, 3000)]
    out += ["<b>" * 5000 + "unclosed", "<p>" * 2000 + "paras", "<span>x" * 2000, "<br>" * 500]
    out += [" plain text, no markup ", "a &amp; b", "", "&", "<", "x\u00a0\u00a0y", "\n\nA\n\n\nB\n"]
    vectors = yaml.safe_load((ROOT / "tests" / "fixtures" / "xss" / "vectors.yaml").read_text("utf-8"))
    for v in vectors.values():
        if isinstance(v, list):
            out += [x for x in v if isinstance(x, str)]
    return out


def record() -> dict[str, Any]:
    shared = ROOT.parent / "shared"
    matcher = Matcher.load(ROOT / "seeds" / "keywords.yaml")
    result: dict[str, Any] = {"feeds": {}, "html": {}}
    n_entries = 0
    for name, body, headers, lang in feeds(shared):
        for source_language in dict.fromkeys([None, lang]):
            pf = prepare_feed(matcher, body, headers, f"http://127.0.0.1/{name}", source_language)
            f = pf.feed
            head = {k: h(v) for k, v in vars(f).items() if k != "entries"}
            head["n_entries"] = h(len(f.entries))
            head["n_prepared"] = h(len(pf.entries))
            result["feeds"][f"{name}|{source_language}"] = {
                "feed": head, "entries": [entry_digest(p, matcher) for p in pf.entries]}
            n_entries += len(pf.entries)
    for i, frag in enumerate(fragments()):
        result["html"][str(i)] = h(html_to_text(frag))
    result["counts"] = {"feed_runs": len(result["feeds"]), "entries": n_entries, "fragments": len(result["html"])}
    return result


def compare(base: dict[str, Any], now: dict[str, Any]) -> int:
    diffs = 0

    def say(msg: str) -> None:
        nonlocal diffs
        diffs += 1
        if diffs <= 60:
            print(msg)

    for key in sorted(set(base["feeds"]) | set(now["feeds"])):
        a, b = base["feeds"].get(key), now["feeds"].get(key)
        if a is None or b is None:
            say(f"{key}: only in {'now' if a is None else 'base'}")
            continue
        for k in sorted(set(a["feed"]) | set(b["feed"])):
            if a["feed"].get(k) != b["feed"].get(k):
                say(f"{key}: feed.{k} differs")
        for i, (x, y) in enumerate(zip(a["entries"], b["entries"])):
            for k in sorted(set(x) | set(y)):
                if x.get(k) != y.get(k):
                    say(f"{key}: entry {i}: {k} differs")
    for k in sorted(set(base["html"]) | set(now["html"]), key=int):
        if base["html"].get(k) != now["html"].get(k):
            say(f"html fragment {k} differs")
    print(f"{now['counts']}; {diffs} difference(s)" + (" (first 60 shown)" if diffs > 60 else ""))
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--record", type=Path, help="write the digests here")
    g.add_argument("--compare", type=Path, help="compare with digests recorded before")
    a = ap.parse_args()
    now = record()
    if a.record:
        a.record.write_text(json.dumps(now, sort_keys=True), "utf-8")
        print(f"{now['counts']} written to {a.record}")
    else:
        sys.exit(1 if compare(json.loads(a.compare.read_text("utf-8")), now) else 0)


if __name__ == "__main__":
    main()
