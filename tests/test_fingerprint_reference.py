"""The fast (numpy) shingle hashing against a slow, obviously-correct Python reference.

Dedup decisions and the stored index depend on these exact values, so an optimisation that changes
them must show up here (and bump the seed cache version)."""

from __future__ import annotations

import random

import pytest

from watcher.dedup import shingles as sh
from watcher.dedup.fingerprint import fingerprint
from watcher.dedup.index import LEAD_TOKENS

M64 = 1 << 64


def ref_token(t: str) -> int:
    """A token's hash: the polynomial of its UTF-8 bytes and the following space, base _P, mod 2**64."""
    return sum(b * pow(sh._P, k, M64) for k, b in enumerate((t + " ").encode())) % M64


def ref_shingles(toks: list[str], size: int = sh.SIZE) -> set[int]:
    h = [ref_token(t) for t in toks]
    if len(h) < size:
        return {sh._short(h)}
    out = set()
    for i in range(len(h) - size + 1):
        acc = size
        for j in range(size):
            acc = (acc * sh._MIXI[j] + h[i + j]) % M64
        acc ^= acc >> 29
        acc = acc * sh._MIXI[3] % M64
        acc ^= acc >> 32
        out.add(acc & sh._MASK)
    return out


def _random_tokens(rnd: random.Random, n: int) -> list[str]:
    return ["".join(rnd.choice("ab日é1ر") for _ in range(rnd.randint(1, 7))) for _ in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_token_hashes_match_the_reference(seed):
    rnd = random.Random(seed)
    for _ in range(60):
        toks = _random_tokens(rnd, rnd.randint(1, 20))
        assert sh._token_hashes((" ".join(toks) + " ").encode()).tolist() == [ref_token(t) for t in toks]


@pytest.mark.parametrize("seed", range(5))
def test_shingles_match_the_reference(seed):
    rnd = random.Random(100 + seed)
    for _ in range(60):
        toks = _random_tokens(rnd, rnd.randint(1, 12))
        assert sh.shingles(toks) == ref_shingles(toks)


@pytest.mark.parametrize("title,summary,content", [
    ("Nvidia H20 export curbs", "US rules tighten.\n\nUS rules tighten.", "US rules tighten.\nMore text here now"),
    ("Kiểm soát xuất khẩu chip", "kiem soat xuat khau chip", ""),
    ("英伟达H20芯片", "出口管制 收紧", "美国商务部宣布新的出口管制规则"),
    ("", "", ""),
])
def test_a_fingerprint_is_its_paragraph_shingles_once_each(title, summary, content):
    fp = fingerprint(title, summary, content, None)
    want: set[int] = set()
    seen: set[str] = set()
    for part in (title, summary, content):
        for p in part.split("\n"):
            toks = sh.tokens(p)
            if toks and " ".join(toks) not in seen:
                seen.add(" ".join(toks))
                want |= ref_shingles(toks)
    assert set(fp.full) == want
    lead = sh.tokens(summary if summary.strip() else content)[:LEAD_TOKENS]
    assert set(fp.lead) == (ref_shingles(lead) if len(lead) >= LEAD_TOKENS // 2 else set())
