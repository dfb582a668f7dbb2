"""Load and validate sources.yaml.

Validation reports every problem at once, each with the file, the line and what to do, because a user
who fixes one typo per run gives up. Line numbers come from PyYAML's node tree (`yaml.compose`), which
keeps the position of every key and value.

Sections (`fetch:`, `dedup:`, `digest:`, `smtp:`) are dataclasses below; their fields, types and
defaults *are* the schema, so adding a setting is adding a field.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError, Problem
from .yamlcheck import Checker, read_mapping, scalar

LANGUAGES = ("en", "vi", "ar", "zh")
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> int:
    """'15m' -> 900 seconds. Raises ValueError with a message a user can act on."""
    m = _INTERVAL.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"bad interval {text!r}: write a whole number and a unit, like 15m, 2h or 1d")
    return int(m.group(1)) * _UNIT[m.group(2)]


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
    workers: int = 0  # parser processes; 0 means one per core
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
class Source:
    name: str
    url: str
    language: str | None = None
    interval: int = 3600  # seconds
    enabled: bool = True
    tags: tuple[str, ...] = ()
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
    default_interval: int = 3600

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
}
TOP_KEYS = ("sources", "seeds", "state", "keywords", "interval", *SECTIONS)
SOURCE_KEYS = ("name", "url", "language", "interval", "enabled", "tags")


def default_config_path() -> Path:
    return Path(os.environ.get("WATCHER_CONFIG", "sources.yaml"))


def _typed(ck: Checker, node: yaml.Node, want: type, what: str) -> typing.Any:
    if want is list:
        if not isinstance(node, yaml.SequenceNode):
            ck.add(node, f"{what} must be a list, like [a, b]")
            return None
        return [scalar(n) for n in node.value]
    if not isinstance(node, yaml.ScalarNode):
        ck.add(node, f"{what} must be a single value, not a list or mapping")
        return None
    value = scalar(node)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
        ck.add(node, f"{what} must be {names.get(want, want.__name__)}, not {value!r}")
        return None
    return value


def _section(ck: Checker, name: str, node: yaml.Node) -> typing.Any:
    cls = SECTIONS[name]
    if not isinstance(node, yaml.MappingNode):
        ck.add(node, f"{name}: must be a mapping of settings, like `{name}: {{key: value}}`")
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {}
    nodes = {k.value: v for k, v in node.value}
    for k, v in node.value:
        if k.value not in fields:
            ck.unknown(k, sorted(fields), f"`{name}:`")
            continue
        want = hints[k.value]
        want = typing.get_origin(want) or want
        got = _typed(ck, v, want, f"{name}.{k.value}")
        if got is not None:
            values[k.value] = got
    inst = cls(**values)
    if name == "fetch":
        for key in ("backoff_cap", "poll_deadline"):
            try:
                parse_interval(getattr(inst, key))
            except ValueError as e:
                ck.add(nodes.get(key, node), f"fetch.{key}: {e}")
    if name == "digest":
        _check_digest(ck, nodes, node, inst)
    return inst


def _check_digest(ck: Checker, nodes: dict[str, yaml.Node], node: yaml.Node, d: DigestSettings) -> None:
    if not re.match(r"^([01]?\d|2[0-3]):[0-5]\d$", d.time):
        ck.add(nodes.get("time", node), f"digest.time {d.time!r} must be a 24-hour local time like \"07:00\" (quote it)")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(d.timezone)
    except Exception:
        ck.add(nodes.get("timezone", node), f"digest.timezone {d.timezone!r} is not a time zone name; use one like Asia/Ho_Chi_Minh")


def _source(ck: Checker, node: yaml.Node, default_interval: int, index: int) -> tuple[str | None, Source | None]:
    """Validate one entry. Returns its name (even when the entry is otherwise broken) and the Source."""
    where = f"source #{index + 1}"
    if not isinstance(node, yaml.MappingNode):
        ck.add(node, f"{where} must be a mapping with at least `name:` and `url:`")
        return None, None
    raw: dict[str, tuple[yaml.Node, typing.Any]] = {}
    for k, v in node.value:
        key = str(k.value)
        if key not in SOURCE_KEYS:
            ck.unknown(k, SOURCE_KEYS, where)
            continue
        raw[key] = (v, None)
    name = url = None
    if "name" in raw:
        name = _typed(ck, raw["name"][0], str, f"{where} name")
        if name is not None and not name.strip():
            ck.add(raw["name"][0], f"{where} has an empty name; give it a short unique name")
            name = None
    else:
        ck.add(node, f"{where} has no `name:`; add a short unique name")
    where = f"source {name!r}" if name else where
    if "url" in raw:
        url = _typed(ck, raw["url"][0], str, f"{where} url")
        if url is not None:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                ck.add(raw["url"][0], f"{where} url {url!r} must be an absolute http:// or https:// address")
                url = None
    else:
        ck.add(node, f"{where} has no `url:`; add the feed's http(s) address")
    language = None
    if "language" in raw:
        language = _typed(ck, raw["language"][0], str, f"{where} language")
        if language is not None and language not in LANGUAGES:
            ck.add(raw["language"][0], f"{where} language {language!r} is not one of {', '.join(LANGUAGES)}")
            language = None
    interval = default_interval
    if "interval" in raw:
        value = _typed(ck, raw["interval"][0], str, f"{where} interval")
        if value is not None:
            try:
                interval = parse_interval(value)
            except ValueError as e:
                ck.add(raw["interval"][0], f"{where}: {e}")
    enabled = True
    if "enabled" in raw:
        got = _typed(ck, raw["enabled"][0], bool, f"{where} enabled")
        enabled = True if got is None else got
    tags: tuple[str, ...] = ()
    if "tags" in raw:
        got = _typed(ck, raw["tags"][0], list, f"{where} tags")
        if got is not None:
            if not all(isinstance(t, str) for t in got):
                ck.add(raw["tags"][0], f"{where} tags must be a list of words")
            else:
                tags = tuple(got)
    if name is None or url is None:
        return name, None
    return name, Source(name=name.strip(), url=url.strip(), language=language, interval=interval, enabled=enabled,
                  tags=tags, line=node.start_mark.line + 1)


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
        if key not in top:
            return default
        got = _typed(ck, top[key], str, key)
        return (base / os.path.expanduser(got)).resolve() if got else default

    seeds = a_path("seeds", base / "seeds")
    state = a_path("state", base / "state")
    keywords = a_path("keywords", seeds / "keywords.yaml")
    default_interval = 3600
    if "interval" in top:
        got = _typed(ck, top["interval"], str, "interval")
        if got is not None:
            try:
                default_interval = parse_interval(got)
            except ValueError as e:
                ck.add(top["interval"], str(e))
    sections = {name: _section(ck, name, top[name]) for name in SECTIONS if name in top}

    sources: list[Source] = []
    if "sources" not in top:
        ck.add(root, "no `sources:` list; add one with `- name: ...` and `url: ...` entries")
    elif not isinstance(top["sources"], yaml.SequenceNode):
        ck.add(top["sources"], "`sources:` must be a list of entries, each starting with `- name:`")
    else:
        seen: dict[str, int] = {}
        for i, node in enumerate(top["sources"].value):
            name, s = _source(ck, node, default_interval, i)
            if name is not None:
                name = name.strip()
                if name in seen:
                    ck.add(node, f"duplicate source name {name!r} (first at line {seen[name]}); names must be unique")
                    continue
                seen[name] = node.start_mark.line + 1
            if s is not None:
                sources.append(s)

    ck.problems.sort(key=lambda p: p.line)
    cfg = Config(path=path.resolve(), sources=tuple(sources), seeds_dir=seeds, state_dir=state,
                 keywords_path=keywords, default_interval=default_interval, **sections)
    return cfg, ck.problems


def load(path: Path | None = None) -> Config:
    """Load a config, or raise ConfigError listing every problem."""
    cfg, problems = check(path or default_config_path())
    if problems or cfg is None:
        raise ConfigError.from_problems(problems)
    return cfg
