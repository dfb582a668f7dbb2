"""Hostile XML must end as a recorded problem or a failure, fast and small, and leak no local file.

Each payload is parsed in a fresh subprocess (so peak memory can be measured with getrusage and a
runaway parse cannot take the test run down) by parse_feed and by each parser forced on its own,
because the neutralisation must protect both. Unprotected, feedparser needs ~1 GB and tens of
seconds on the quadratic-blowup payload. We assert only a memory bound and "finishes within a
generous timeout" (does not hang), never a speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_RSS_GROWTH_KB = 100 * 1024

# Payload builders, run inside the child: name -> Python expression producing bytes.
PAYLOADS = {
    # One 100 KB entity referenced 10,000 times in a ~130 KB feed: a 1 GB string if expanded.
    "quadratic_blowup": (
        "('<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"' + 'x' * 100_000 + '\">]>'"
        " '<rss version=\"2.0\"><channel><title>t</title><item><title>q</title><link>http://h.example/1</link>'"
        " '<description>' + '&a;' * 10_000 + '</description></item></channel></rss>').encode()"
    ),
    # Ten levels of ten references each: 10**10 "lol"s if expanded.
    "billion_laughs": (
        "('<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY lol0 \"lol\">'"
        " + ''.join('<!ENTITY lol%d \"%s\">' % (i, ('&lol%d;' % (i - 1)) * 10) for i in range(1, 11))"
        " + ']><rss version=\"2.0\"><channel><title>t</title><item><title>&lol10;</title>'"
        " '<link>http://h.example/1</link><description>&lol10;</description></item></channel></rss>').encode()"
    ),
    # External entity pointing at a local file.
    "external_entity_file": (
        "b'<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>'"
        " b'<rss version=\"2.0\"><channel><title>t</title><item><title>leak &xxe;</title>'"
        " b'<link>http://h.example/1</link><description>&xxe;</description></item></channel></rss>'"
    ),
    # The same through a parameter entity, and an external DTD on a port nothing listens on.
    "parameter_entity_and_external_dtd": (
        "b'<?xml version=\"1.0\"?><!DOCTYPE rss SYSTEM \"http://127.0.0.1:9/evil.dtd\" ['"
        " b'<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; <!ENTITY e \"&#x25;p;\">]>'"
        " b'<rss version=\"2.0\"><channel><title>t</title><item><title>pe &e;</title>'"
        " b'<link>http://h.example/1</link></item></channel></rss>'"
    ),
    # The DOCTYPE in a broken document, so feedparser's loose (sgmllib) parser would be the one to
    # see it: the case that made feedparser expand what expat refused.
    "blowup_in_broken_xml": (
        "('<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"' + 'y' * 100_000 + '\">]>'"
        " '<rss version=\"2.0\"><channel><title>t</title><item><title>q <b></title><link>http://h.example/1</link>'"
        " '<description>' + '&a;' * 10_000 + '</description></item></channel></rss>').encode()"
    ),
}

CHILD = r"""
import json, resource, sys
from watcher.parse import parse_with
payload = {expr}
out = {{}}
for parser in (None, "feedparser", "fastfeedparser"):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fd = parse_with(parser, payload, {{}}, "http://hostile.example/feed")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out[str(parser)] = {{
        "rss_growth_kb": after - before,
        "failure": fd.failure.kind.value if fd.failure else None,
        "failure_message": fd.failure.message if fd.failure else None,
        "problem": fd.problem,
        "parser": fd.parser,
        "dump": repr(fd),
    }}
print(json.dumps(out))
"""


def _passwd_markers() -> list[str]:
    try:
        lines = Path("/etc/passwd").read_text(errors="replace").splitlines()
    except OSError:
        return ["root:x:0:0"]
    return [ln for ln in lines[:3] if ln.strip()] or ["root:x:0:0"]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_hostile_payload_is_contained(name: str) -> None:
    code = CHILD.format(expr=PAYLOADS[name])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    markers = _passwd_markers()
    for parser, r in results.items():
        where = f"{name} via {parser}"
        assert r["rss_growth_kb"] < MAX_RSS_GROWTH_KB, f"{where}: peak memory grew {r['rss_growth_kb']} KB"
        # Either a recorded problem (entities neutralised) or a failure: never a silent success.
        assert r["problem"] or r["failure"], f"{where}: nothing recorded"
        for marker in markers:
            assert marker not in r["dump"], f"{where}: /etc/passwd content in the output"
        if r["failure"] is None:
            # The declarations were removed before any parser saw them (xmlsafe), not merely refused.
            assert "DOCTYPE/ENTITY declaration" in r["problem"], f"{where}: {r['problem']}"
