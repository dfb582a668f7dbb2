"""Load and validate sources.yaml.

Validation reports every problem at once, each with the file, the line and what to do, because a user
who fixes one typo per run gives up. Line numbers come from PyYAML's node tree (`yaml.compose`), which
keeps the position of every key and value.

Sections (`fetch:`, `dedup:`, `digest:`, `smtp:`) are dataclasses below; their fields and defaults are
the settings. What each setting may be (type and range, and why) is the table in watcher/bounds.py:
adding a setting is adding a field here and a row there (tests/test_config_bounds.py fails until both
exist). Every command loads the configuration through `load`, so none starts on a file `check` rejects.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .bounds import LANGUAGES, SETTINGS, TEXTUAL, check_value, seconds
from .errors import ConfigError, Problem
from .yamlcheck import Checker, read_mapping, scalar

__all__ = ["LANGUAGES", "Config", "Source", "check", "load", "parse_interval"]


def parse_interval(text: str) -> int:
    """'15m' -> 900 seconds. Raises ValueError with a message a user can act on."""
    secs = seconds(text)
    if not secs:
        raise ValueError(f"bad interval {text!r}: write a whole number and a unit, like 15m, 2h or 1d")
    return secs


@dataclass(frozen=True)
class FetchSettings:
    concurrency: int = 16  # requests in flight at once, all sources together
    per_host: int = 2  # requests in flight at once to one host
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # whole request, body included: httpx's read timeout misses trickles
    max_bytes: int = 10_000_000  # decoded body cap; gzip and brotli bombs stop here
    max_redirects: int = 5
    user_agent: str = "watcher/0.1 (+feed watcher for export-control news; contact: analysts)"
    backoff_cap: str = "1d"  # the longest a failing source waits
    workers: int = 0  # parser processes; 0 means one per core from 8 sources (pipeline.POOL_FROM_SOURCES)
    # A whole poll's deadline: sources not done by then are deferred to the next poll, not failed.
    # Generous, because it only has to end a poll stuck behind hosts that accept and never answer.
    poll_deadline: str = "15m"


@dataclass(frozen=True)
class DedupSettings:
    # Defaults measured by `python bench/dedup.py --measure` (seeds + ../shared/eval/dev): copies of a
    # seed score 0.78-1.0 containment, different stories on the same topic at most 0.17.
    window_days: int = 14  # reposts of another item are looked for this far back
    containment: float = 0.5  # share of an item's shingles (3-word/3-char) found in a seed or earlier item
    resemblance: float = 0.5  # Jaccard of shingle sets: the whole text is the same, rewritten at most lightly
    min_shared: int = 8  # fewer shared shingles than this is a stock phrase, never a duplicate
    crosslingual: bool = True  # flag possible duplicates of a seed in another language
    crosslingual_score: float = 0.6  # the score a cross-lingual flag carries (below any verified match)
    crosslingual_min_anchors: int = 5  # shared numbers, model numbers and Latin names needed
    crosslingual_min_coverage: float = 0.65  # share of the item's anchors found in the seed


@dataclass(frozen=True)
class DigestSettings:
    time: str = "07:00"
    timezone: str = "UTC"
    title: str = "watcher daily digest"
    send: bool = False  # the scheduler mails the digest as well as writing it
    snippet_chars: int = 200  # length of the highlighted excerpt shown under each headline


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str = ""
    password_env: str = "WATCHER_SMTP_PASSWORD"  # the password is read from this variable, never the file
    sender: str = "watcher@localhost"
    to: list = field(default_factory=list)


@dataclass(frozen=True)
class BackfillSettings:
    rate: float = 1.0  # requests per second to one host, unless the source says otherwise
    wayback_url: str = "https://web.archive.org"  # CDX API at /cdx/search/cdx, snapshots at /web/
    wayback_rate: float = 0.2  # one request every 5 s: the Wayback Machine is a shared public service
    max_retry_wait: str = "10m"  # a longer Retry-After stops the backfill (resumable) instead of sleeping


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    language: str | None = None
    interval: int = 3600  # seconds
    enabled: bool = True
    tags: tuple[str, ...] = ()
    backfill_rate: float | None = None  # requests/s to its host during a backfill; None: backfill.rate
    fulltext: str = "auto"  # fetch the article page: auto | always | never (watcher/fulltext/policy.py)
    line: int = 0  # where it is defined, for messages


@dataclass(frozen=True)
class Config:
    path: Path
    sources: tuple[Source, ...]
    seeds_dir: Path
    state_dir: Path
    keywords_path: Path
    fetch: FetchSettings = FetchSettings()
    dedup: DedupSettings = DedupSettings()
    digest: DigestSettings = DigestSettings()
    smtp: SmtpSettings = SmtpSettings()
    backfill: BackfillSettings = BackfillSettings()
    default_interval: int = 3600
    reviewer: str | None = None  # who the review page decides as; None: the OS user

    @property
    def db_path(self) -> Path:
        return self.state_dir / "watcher.db"

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"{self.path}: no source named {name!r}; `watcher status` lists them")


SECTIONS: dict[str, type] = {
    "fetch": FetchSettings,
    "dedup": DedupSettings,
    "digest": DigestSettings,
    "smtp": SmtpSettings,
    "backfill": BackfillSettings,
}
TOP_KEYS = ("sources", "seeds", "state", "keywords", "interval", "reviewer", *SECTIONS)
SOURCE_KEYS = tuple(f.name for f in dataclasses.fields(Source) if f.name != "line")


def default_config_path() -> Path:
    return Path(os.environ.get("WATCHER_CONFIG", "sources.yaml"))


def _value(node: yaml.Node, key: str) -> typing.Any:
    """What `check_value` is given for this node: for settings written as text, the text as written
    (`name: 2024` is the name "2024", `time: 07:00` the time, not YAML 1.1's 420 minutes)."""
    if isinstance(node, yaml.MappingNode):
        return {}  # never a valid setting: reported as the wrong type
    if isinstance(node, yaml.SequenceNode):
        return [scalar(n) if isinstance(n, yaml.ScalarNode) else {} for n in node.value]
    value = scalar(node)
    if SETTINGS[key].kind in TEXTUAL:
        return "" if value is None else str(node.value)
    return value


def _setting(ck: Checker, key: str, node: yaml.Node, label: str) -> typing.Any:
    """The checked value of one setting, or None with the problem recorded at the node's line."""
    got, problem = check_value(key, _value(node, key), label)
    if problem:
        ck.add(node, problem)
    return got


def _mapping(ck: Checker, node: yaml.MappingNode, known: typing.Sequence[str], where: str
             ) -> dict[str, yaml.Node]:
    """The keys of a mapping, each once; unknown and repeated keys are reported."""
    out: dict[str, yaml.Node] = {}
    for k, v in node.value:
        key = str(k.value)
        if key not in known:
            ck.unknown(k, known, where)
        elif key in out:
            ck.add(k, f"{key!r} appears twice in {where}; keep one")
        else:
            out[key] = v
    return out


def _section(ck: Checker, name: str, node: yaml.Node) -> typing.Any:
    cls = SECTIONS[name]
    if not isinstance(node, yaml.MappingNode):
        ck.add(node, f"{name}: must be a mapping of settings, like `{name}: {{key: value}}`")
        return cls()
    values = {}
    for key, v in _mapping(ck, node, [f.name for f in dataclasses.fields(cls)], f"`{name}:`").items():
        got = _setting(ck, f"{name}.{key}", v, f"{name}.{key}")
        if got is None:
            continue
        kind = SETTINGS[f"{name}.{key}"].kind
        # Durations in sections stay as written ("1d"), lists as lists: the fields' own types.
        values[key] = scalar(v).strip() if kind == "duration" else list(got) if kind == "emails" else got
    return cls(**values)


def _source(ck: Checker, node: yaml.Node, default_interval: int, index: int) -> tuple[str | None, Source | None]:
    """Validate one entry. Returns its name (even when the entry is otherwise broken) and the Source."""
    where = f"source #{index + 1}"
    if not isinstance(node, yaml.MappingNode):
        ck.add(node, f"{where} must be a mapping with at least `name:` and `url:`")
        return None, None
    raw = _mapping(ck, node, SOURCE_KEYS, where)
    name = url = None
    if "name" in raw:
        name = _setting(ck, "source.name", raw["name"], f"{where} name")
    else:
        ck.add(node, f"{where} has no `name:`; add a short unique name")
    where = f"source {name!r}" if name else where
    if "url" in raw:
        url = _setting(ck, "source.url", raw["url"], f"{where} url")
    else:
        ck.add(node, f"{where} has no `url:`; add the feed's http(s) address")
    got = {key: _setting(ck, f"source.{key}", raw[key], f"{where} {key}")
           for key in ("language", "interval", "enabled", "tags", "fulltext", "backfill_rate") if key in raw}
    if name is None or url is None:
        return name, None
    return name, Source(name=name, url=url, language=got.get("language"),
                        interval=got.get("interval") or default_interval,
                        enabled=True if got.get("enabled") is None else got["enabled"],
                        tags=got.get("tags") or (), fulltext=got.get("fulltext") or "auto",
                        backfill_rate=got.get("backfill_rate"), line=node.start_mark.line + 1)


def feed_key(url: str) -> str:
    """The same feed however its address is written: case of scheme and host, a default port, an empty
    path and a #fragment make no difference to what the server sends. `url` is a checked address."""
    import httpx

    u = httpx.URL(url)
    default = {"http": 80, "https": 443}[u.scheme]
    port = "" if u.port in (None, default) else f":{u.port}"
    # raw_*: as sent on the wire (host lowercased and IDNA-encoded, path and query percent-encoded).
    host = u.raw_host.decode("ascii")
    host = f"[{host}]" if ":" in host else host  # IPv6
    return f"{u.scheme}://{host}{port}{u.raw_path.decode('ascii')}"


def check(path: Path) -> tuple[Config | None, list[Problem]]:
    """Validate a config file. Returns the config (None if unusable) and every problem found."""
    path = Path(path)
    ck = Checker(path)
    top = read_mapping(ck, missing="pass --config PATH or set WATCHER_CONFIG", shape="a `sources:` list",
                       known=TOP_KEYS)
    if top is None:
        return None, ck.problems
    root = ck.root
    base = path.resolve().parent

    def a_path(key: str, default: Path) -> Path:
        got = _setting(ck, key, top[key], key) if key in top else None
        return (base / os.path.expanduser(got)).resolve() if got else default

    seeds = a_path("seeds", base / "seeds")
    state = a_path("state", base / "state")
    keywords = a_path("keywords", seeds / "keywords.yaml")
    default_interval = 3600
    if "interval" in top:
        default_interval = _setting(ck, "interval", top["interval"], "interval") or default_interval
    reviewer = _setting(ck, "reviewer", top["reviewer"], "reviewer") if "reviewer" in top else None
    sections = {name: _section(ck, name, top[name]) for name in SECTIONS if name in top}
    digest, smtp = sections.get("digest", DigestSettings()), sections.get("smtp", SmtpSettings())
    smtp_node = top.get("smtp")
    to_node = next((v for k, v in smtp_node.value if k.value == "to"), None) \
        if isinstance(smtp_node, yaml.MappingNode) else None
    to_rejected = to_node is not None and check_value("smtp.to", _value(to_node, "smtp.to"))[1] is not None
    if digest.send and not smtp.to and not to_rejected:  # a rejected smtp.to is reported already
        # Caught here, not at 07:00 tomorrow when the first digest would fail to go out.
        ck.add(top["digest"], "digest.send is true but smtp.to lists no address; add `smtp: {to: [you@example.org]}` "
                              "or set digest.send: false")

    sources: list[Source] = []
    if "sources" not in top:
        ck.add(root, "no `sources:` list; add one with `- name: ...` and `url: ...` entries")
    elif not isinstance(top["sources"], yaml.SequenceNode):
        ck.add(top["sources"], "`sources:` must be a list of entries, each starting with `- name:`")
    else:
        names: dict[str, int] = {}
        feeds: dict[str, tuple[str, int]] = {}  # feed_key -> (name, line of its url)
        for i, node in enumerate(top["sources"].value):
            name, s = _source(ck, node, default_interval, i)
            if name is not None:
                if name in names:
                    ck.add(node, f"duplicate source name {name!r} (first at line {names[name]}); names must be unique")
                    continue
                names[name] = node.start_mark.line + 1
            if s is None:
                continue
            url_node = next(v for k, v in node.value if k.value == "url")
            key = feed_key(s.url)
            if key in feeds:
                first, line = feeds[key]
                # Both would fetch the same feed and store every item twice.
                ck.add(url_node, f"source {s.name!r} has the same url as source {first!r} (line {line}): {s.url}; "
                                 f"keep one of them")
                continue
            feeds[key] = (s.name, url_node.start_mark.line + 1)
            sources.append(s)

    ck.problems.sort(key=lambda p: p.line)
    cfg = Config(path=path.resolve(), sources=tuple(sources), seeds_dir=seeds, state_dir=state,
                 keywords_path=keywords, default_interval=default_interval, reviewer=reviewer,
                 **sections)
    return cfg, ck.problems


def load(path: Path | None = None) -> Config:
    """Load a config, or raise ConfigError listing every problem."""
    cfg, problems = check(path or default_config_path())
    if problems or cfg is None:
        raise ConfigError.from_problems(problems)
    return cfg
