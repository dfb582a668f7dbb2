"""Link canonicalisation: one spelling per article URL, so that reposts with tracking tags match.

Two links name the same article when they differ only in things that do not select content:
the scheme (http/https), the host's case, a `www.`, `m.`, `mobile.` or `amp.` host prefix, an AMP
path (`/amp/...`, `.../amp`, `?amp=1`, `?outputType=amp`), a trailing slash, a default port, the
fragment, and tracking parameters (`utm_*`, `fbclid`, `gclid`, ...). Parameters that select content
(`?id=`, `?p=`, anything we do not know to be tracking) are kept, sorted so their order does not
matter. The result is a comparison key, not a URL to fetch: it is always written with https.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["canonical_link"]

# Parameters that only say who sent the reader, never which article they get.
_TRACKING = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
    "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "cmpid", "ncid", "ocid", "cid_source", "spm",
    "share", "from", "ref", "ref_src", "ref_url", "referrer", "source", "src", "taid", "guccounter",
    "guce_referrer", "guce_referrer_sig", "at_medium", "at_campaign", "at_custom1", "at_custom2",
    "at_custom3", "at_custom4", "wt_mc", "wt.mc_id", "xtor", "icid", "smid", "partner", "via",
})
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_", "__")
# Parameters that ask for the AMP rendering of the same article.
_AMP_PARAMS = {"amp": None, "outputtype": "amp", "output": "amp", "usqp": None}
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.", "www-m.")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING or low.startswith(_TRACKING_PREFIXES)


def _is_amp_param(name: str, value: str) -> bool:
    want = _AMP_PARAMS.get(name.lower(), False)
    if want is False:
        return False
    return want is None or value.lower() == want


def _host(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1].lower()  # credentials never select content
    if host.startswith("["):  # IPv6 literal: keep as is
        return host
    name, _, port = host.partition(":")
    name = name.rstrip(".")
    changed = True
    while changed:  # "www.m.example.com" and "amp.www.example.com" exist in the wild
        changed = False
        for p in _HOST_PREFIXES:
            if name.startswith(p) and name.count(".") >= 2:
                name = name[len(p):]
                changed = True
    if port and port not in ("80", "443"):
        return f"{name}:{port}"
    return name


# A path made only of these needs no decoding and re-encoding: quote(unquote(path)) is the path.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/:@!$&'()*+,;=~._-]*")
_SLASHES = re.compile(r"/{2,}")
_AMP_DIR = re.compile(r"/amp(?=/|$)", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"\.amp(\.html?)?$", re.IGNORECASE)


def _path(path: str) -> str:
    # Decode then re-encode, so "%7E" and "~", "%C3%A9" and "é" give one spelling.
    if not _PLAIN_PATH.fullmatch(path):
        path = quote(unquote(path), safe="/:@!$&'()*+,;=~-._")
    if "//" in path:
        path = _SLASHES.sub("/", path)
    # AMP renderings: /amp/story, /story/amp, /story.amp.html -> /story
    path = _AMP_DIR.sub("", path)
    path = _AMP_SUFFIX.sub(r"\1", path)
    path = path.rstrip("/")
    return path or ""


# A link urlsplit would cut into a lower-case http(s) scheme, a plain host and a path, and nothing else.
_PLAIN_URL = re.compile(r"(https?)://([A-Za-z0-9.-]+)(/[A-Za-z0-9/:@!$&'()*+,=~._-]*)?")


@lru_cache(maxsize=8192)  # the pipeline asks about each new item's link more than once
def canonical_link(url: str | None) -> str | None:
    """The comparison key of an article link, or None when there is no usable http(s) link.

    >>> canonical_link("http://M.Example.com/a/b/?utm_source=rss&id=7#top")
    'https://example.com/a/b?id=7'
    """
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    if url.startswith("//"):
        url = "https:" + url
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        # No query, fragment, port or credentials: what the general path below builds, without
        # splitting and rebuilding (most article links).
        host = _host(plain.group(2))
        return "https://" + host + _path(plain.group(3) or "") if host else None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    try:
        host = _host(parts.netloc)
    except ValueError:
        return None
    if not host:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k) and not _is_amp_param(k, v)]
    query.sort()
    return urlunsplit(("https", host, _path(parts.path), urlencode(query, quote_via=quote), ""))
