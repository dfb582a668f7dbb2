"""Damaged and read-only stores (issue 9, item 11), tested as classes on real SQLite files.

Every command, on every kind of damage, either gives the same output as on the healthy store or
refuses in ONE line that names the file and says how to recover: never a traceback, never a wrong
answer, and the file is left exactly as it was (nothing lost). A read-only store (folder, file or
mount) can be read by every command that only reads, which never writes to it; a command that writes
says in one line that the store is read-only.

Commands run in-process through `watcher.cli.main`, the entry point a user runs. The read-only cases
run in a forked child that cannot write the store the way a real user cannot: as root, chmod does not
stop root, so the child drops to `nobody`, or sits in a private mount namespace with the folder
bind-mounted read-only.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils

from util import rss, write_config

from watcher import store
from watcher.cli import main
from watcher import errors

N_SOURCES, N_ITEMS = 3, 14

# Command name -> (arguments, writes). {item} and {out} are filled in per test.
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "status": (["status"], False),
    "export": (["export"], False),
    "export-file": (["export", "--format", "csv", "-o", "{out}"], False),
    "show": (["show", "{item}"], False),
    "review-list": (["review", "list", "--status", "all"], False),
    "digest-dry-run": (["digest", "--dry-run"], False),
    "rematch": (["rematch"], True),
    "dedup-recheck": (["dedup", "--recheck"], True),
    "poll": (["poll", "--force"], True),
    "coverage": (["coverage"], False),
    # --method feed: the fixture feed is local; the other methods could reach for the Wayback Machine.
    "backfill": (["backfill", "--method", "feed", "--since", "2025-11-25", "--source", "src0"], True),
    "fulltext": (["fulltext", "--source", "src0"], True),
}
# Commands that check every page first (PRAGMA quick_check), so they must refuse any damage.
VERIFYING = {"status", "export", "export-file", "digest-dry-run", "rematch", "dedup-recheck", "poll", "backfill",
             "fulltext"}
# Every command that only reads, and some that write, for the read-only stores.
READER_ARGS = {name: args for name, (args, writes) in COMMANDS.items() if not writes} | {
    "dedup-status": ["dedup"], "rematch-dry-run": ["rematch", "--dry-run"]}
WRITER_ARGS = {name: args for name, (args, writes) in COMMANDS.items() if writes} | {
    "poll": ["poll"], "review-accept": ["review", "accept", "1"], "digest": ["digest"], "run": ["run"]}


@dataclass
class Result:
    code: int
    out: str
    err: str


def _words(rng: random.Random, n: int) -> str:
    vocab = ["shipment", "customs", "broker", "invoice", "warehouse", "server", "rack", "cluster", "border",
             "freight", "declared", "routed", "buyer", "reseller", "audit", "port", "cargo", "licence"]
    return " ".join(rng.choice(vocab) + str(rng.randrange(1000)) for _ in range(n))


def _feed(rng: random.Random, s: int) -> str:
    items = []
    for i in range(N_ITEMS):
        # Distinct, relevant stories (the shipped keyword list matches them), long enough to fill pages.
        items.append({
            "guid": f"s{s}-{i}", "link": f"http://127.0.0.1/s{s}/{i}",
            "title": f"Nvidia H100 chips smuggled to China via Singapore, case {s}-{i}",
            "description": f"Export controls on AI chips: {_words(rng, 220)}",
            "pubDate": "Mon, 01 Dec 2025 10:00:00 GMT",
        })
    return rss(items)


def cli(config: Path, *args: str, capsys: pytest.CaptureFixture) -> Result:
    """`watcher --config CONFIG ARGS` in this process, as the console script runs it."""
    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["watcher", "--config", str(config), *args]
    try:
        main()
        code = 0  # main() always exits; reaching here would itself be a failure below
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    cap = capsys.readouterr()
    return Result(code, cap.out, cap.err)


def _outputs_equal(a: str, b: str) -> bool:
    # The digest says when it was built, to the minute; everything else must match exactly.
    def norm(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Built ")]
    return norm(a) == norm(b)


# ------------------------------------------------------------------ the healthy store, built once


@dataclass
class Pristine:
    folder: Path          # sources.yaml and state/ (state/watcher.db, closed, no -wal)
    pages: dict[str, list[int]]   # "b-tree:pagetype" (and "freelist") -> its page numbers
    page_size: int
    item: int             # an item id for `show`
    outputs: dict[str, str]       # command -> stdout on the healthy store


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    from feedserver import FeedServer

    _import_all()
    # World-readable, so the child that runs as `nobody` can reach it (pytest's own tmp is 0700).
    folder = Path(tempfile.mkdtemp(prefix="watcher-store-"))
    folder.chmod(0o755)
    server = FeedServer().start()
    try:
        rng = random.Random(9)
        # backfill_rate 20/s: the server is gone once the store is built, and `backfill` on a store it can
        # use retries a refused connection after twice its interval (1 s at the default rate).
        sources = [{"name": f"src{s}", "url": server.add(f"/s{s}.xml", _feed(rng, s)), "backfill_rate": 20}
                   for s in range(N_SOURCES)]
        config = write_config(folder, sources)
        _run_plain(config, "poll")
        gc.collect()  # any connection the command left open closes: the file alone is the store
        db_path = folder / "state" / "watcher.db"
        conn = sqlite3.connect(db_path, isolation_level=None)
        # Free pages, as a store has after old rows are deleted: the freelist is a b-tree of its own.
        conn.execute("CREATE TABLE scratch (b BLOB)")
        conn.executemany("INSERT INTO scratch VALUES (zeroblob(3000))", [()] * 40)
        conn.execute("DROP TABLE scratch")
        pages: dict[str, list[int]] = {}  # "items:leaf" -> its pages, in order
        for name, kind, pageno in conn.execute("SELECT name, pagetype, pageno FROM dbstat ORDER BY pageno"):
            pages.setdefault(f"{name}:{kind}", []).append(pageno)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        n_items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        assert not db_path.with_name("watcher.db-wal").exists()
        header = db_path.read_bytes()[:100]
        pages["freelist"] = [int.from_bytes(header[32:36], "big")]
        assert n_items == N_SOURCES * N_ITEMS and pages.get("items:internal") and pages["freelist"][0] > 0, \
            "the fixture store is too small to have the pages the damage cases need"
        item = n_items // 2
        outputs = {}
        for name, args in READER_ARGS.items():
            copy = _copy(folder, tmp_path_factory.mktemp("pristine"))
            r = _run_plain(copy / "sources.yaml", *_fill(args, item, copy / "out.csv"))
            outputs[name] = (copy / "out.csv").read_text(encoding="utf-8") if name == "export-file" else r.out
        yield Pristine(folder, pages, page_size, item, outputs)
    finally:
        server.stop()
        for p in folder.rglob("*"):
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def _run_plain(config: Path, *args: str) -> Result:
    """main() with real stdout/stderr swapped for buffers (for fixtures, which cannot take capsys)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["watcher", "--config", str(config), *args]
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    assert code == 0, f"fixture command {args} failed: {err.getvalue()}"
    return Result(code, out.getvalue(), err.getvalue())


def _fill(args: list[str], item: int, out: Path) -> list[str]:
    return [a.format(item=item, out=out) for a in args]


def _copy(pristine_folder: Path, dest: Path) -> Path:
    """A copy of the healthy project whose config points at the copy's own state folder."""
    shutil.copytree(pristine_folder / "state", dest / "state", ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    text = (pristine_folder / "sources.yaml").read_text(encoding="utf-8")
    (dest / "sources.yaml").write_text(text.replace(str(pristine_folder / "state"), str(dest / "state")),
                                       encoding="utf-8")
    return dest


# ------------------------------------------------------------------ kinds of damage


def _overwrite(path: Path, offset: int, n: int) -> None:
    rng = random.Random(offset)
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes(rng.randrange(256) for _ in range(n)))


def _page(p: Pristine, key: str) -> int:
    numbers = p.pages[key]
    return numbers[len(numbers) // 2]


def _random_page(key: str):
    def damage(path: Path, p: Pristine) -> None:
        _overwrite(path, (_page(p, key) - 1) * p.page_size, p.page_size)
    return damage


def _other_apps_db(path: Path, p: Pristine) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('a', '1')")
    conn.commit()
    conn.close()


def _garbage_wal(path: Path, p: Pristine) -> None:
    # A crash can leave a -wal behind; torn or overwritten, SQLite ignores frames whose checksums fail.
    path.with_name(path.name + "-wal").write_bytes(random.Random(1).randbytes(3 * p.page_size + 32))


DAMAGE = {
    # name: (make it, what the one line must say; None: no damage the store cannot absorb)
    "header-magic": (lambda path, p: _overwrite(path, 0, 16), "is not an SQLite database"),
    "header-fields": (lambda path, p: _overwrite(path, 16, 84), "is damaged"),
    "schema-page": (lambda path, p: _overwrite(path, 100, p.page_size - 100), "is damaged"),
    "items-leaf": (_random_page("items:leaf"), "is damaged"),
    "items-interior": (_random_page("items:internal"), "is damaged"),
    "items-overflow": (_random_page("items:overflow"), "is damaged"),  # the rest of a long text
    "index-page": (_random_page("items_published:leaf"), "is damaged"),
    "freelist": (_random_page("freelist"), "is damaged"),
    "truncated-half": (lambda path, p: os.truncate(path, path.stat().st_size // p.page_size // 2 * p.page_size),
                       "is damaged"),
    "truncated-header": (lambda path, p: os.truncate(path, 60), "is damaged"),
    "empty": (lambda path, p: os.truncate(path, 0), "is empty (0 bytes)"),
    "text": (lambda path, p: path.write_text("these are my notes, not a database\n" * 50), "is not an SQLite database"),
    "random": (lambda path, p: path.write_bytes(random.Random(2).randbytes(path.stat().st_size)),
               "is not an SQLite database"),
    "other-apps-db": (_other_apps_db, "not a watcher store"),
    "garbage-wal": (_garbage_wal, None),
}
# Damage that only some reads run into: `show` and `review list`, which read a few rows and do not check
# every page, may answer, and then must answer what the healthy store says. (SQLite keeps no checksum
# of row data, so a changed byte that leaves valid text could go unseen by any check: random bytes over
# a whole page, as here, break the page's structure, which is seen.)
LOCAL = {"items-leaf", "items-interior", "items-overflow", "index-page", "freelist"}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_is_one_clear_line_and_loses_nothing(pristine: Pristine, tmp_path: Path, capsys,
                                                             damage: str, command: str) -> None:
    project = _copy(pristine.folder, tmp_path)
    db = project / "state" / "watcher.db"
    make, says = DAMAGE[damage]
    make(db, pristine)
    before = db.read_bytes()
    out = project / "out.csv"
    out.write_text("the previous export\n", encoding="utf-8")
    args, writes = COMMANDS[command]

    r = cli(project / "sources.yaml", *_fill(args, pristine.item, out), capsys=capsys)

    assert "Traceback" not in r.err
    if says is None:  # nothing the store cannot absorb: the command just works, with every item there
        assert r.code == 0, r.err
        if not writes:
            got = out.read_text(encoding="utf-8") if command == "export-file" else r.out
            assert _outputs_equal(got, pristine.outputs[command])
            assert db.read_bytes() == before
        n = sqlite3.connect(db).execute("SELECT count(*) FROM items").fetchone()[0]
        assert n == N_SOURCES * N_ITEMS
        return
    refused = r.code != 0
    if damage not in LOCAL or command in VERIFYING:
        assert refused, f"{command} did not notice {damage}:\n{r.out[:500]}"
    if refused:
        lines = r.err.strip().splitlines()
        assert r.code == 1 and len(lines) == 1, r.err
        assert str(db) in lines[0] and says in lines[0]
        if says == "is damaged":
            assert ".recover" in lines[0] and "backup" in lines[0]
        if command == "export-file":  # the previous export is untouched, no half-written file beside it
            assert out.read_text(encoding="utf-8") == "the previous export\n"
            assert sorted(p.name for p in project.iterdir()) == ["out.csv", "sources.yaml", "state"]
    else:  # it answered: then it answered exactly what the healthy store says
        got = out.read_text(encoding="utf-8") if command == "export-file" else r.out
        assert _outputs_equal(got, pristine.outputs[command])
    assert db.read_bytes() == before, "the damaged file was changed: a recovery could lose more"


@pytest.mark.parametrize("damage", [d for d, (_, says) in DAMAGE.items() if says])
def test_run_refuses_a_damaged_store_at_start(pristine: Pristine, tmp_path: Path, damage: str) -> None:
    # `run` serves for ever, so it runs in a child that is killed if it does not stop by itself.
    project = _copy(pristine.folder, tmp_path)
    db = project / "state" / "watcher.db"
    DAMAGE[damage][0](db, pristine)
    before = db.read_bytes()

    def run() -> int:
        sys.argv = ["watcher", "--config", str(project / "sources.yaml"), "run"]
        main()
        return 0

    code = _in_child(run, tmp_path / "out", tmp_path / "err")
    err = (tmp_path / "err").read_text(encoding="utf-8")
    assert code == 1 and len(err.strip().splitlines()) == 1 and str(db) in err and DAMAGE[damage][1] in err, err
    assert db.read_bytes() == before


def test_a_zero_byte_store_is_not_silently_started_afresh(pristine: Pristine, tmp_path: Path, capsys) -> None:
    # A crash or a full disk can leave the file at 0 bytes. SQLite reads that as a new database, and a
    # poll would fill it: every item "new" again, every review decision gone, without a word.
    project = _copy(pristine.folder, tmp_path)
    db = project / "state" / "watcher.db"
    os.truncate(db, 0)
    r = cli(project / "sources.yaml", "poll", capsys=capsys)
    assert r.code == 1 and "empty (0 bytes)" in r.err
    assert db.stat().st_size == 0 and not db.with_name("watcher.db-wal").exists()
    db.unlink()  # what the message says to do to start afresh
    assert cli(project / "sources.yaml", "poll", capsys=capsys).code == 0
    assert sqlite3.connect(db).execute("SELECT count(*) FROM items").fetchone()[0] == N_SOURCES * N_ITEMS


def test_damage_met_mid_write_rolls_the_write_back_and_says_so(pristine: Pristine, tmp_path: Path) -> None:
    # The store boundary: a damaged page met inside a write transaction is StoreDamagedError, and the
    # transaction's other changes are not kept.
    project = _copy(pristine.folder, tmp_path)
    path = project / "state" / "watcher.db"
    _random_page("items:leaf")(path, pristine)
    db = store.connect(path)
    with pytest.raises(errors.StoreDamagedError, match=r"is damaged .*\.recover"):
        with store.write(db):
            db.execute("UPDATE sources SET last_error = 'x'")
            db.execute("UPDATE items SET score = score + 1")  # every page of items: meets the damage
    assert db.execute("SELECT count(*) FROM sources WHERE last_error = 'x'").fetchone()[0] == 0


def test_a_full_disk_is_one_clear_error_and_keeps_nothing_of_the_write(tmp_path: Path) -> None:
    db = store.connect(tmp_path / "w.db")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 2}")  # what a full disk looks like to SQLite
    with pytest.raises(errors.StoreError, match=r"no space left to write the store .*w\.db"):
        with store.write(db):
            db.execute("INSERT INTO sources (name, url) VALUES ('a', 'http://x/')")
            db.conn.executemany("INSERT INTO dedup_keys (key, item_id) VALUES (?, 1)", [(i,) for i in range(50_000)])
    assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == 0


# ------------------------------------------------------------------ read-only stores


libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 1, 32, 4096, 16384, 1 << 18
NOBODY = 65534
CHILD_TIMEOUT_S = 60


def _in_child(fn, out: Path, err: Path) -> int:
    """Run fn() in a forked child with stdout/stderr to these files; its exit status."""
    fo, fe = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 70
        try:
            os.dup2(fo, 1)
            os.dup2(fe, 2)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
            code = fn()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(fo)
    os.close(fe)
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while True:  # a command that should have refused and did not (`run` serves for ever) must not hang
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"the command still ran after {CHILD_TIMEOUT_S}s")
        time.sleep(0.01)


def _import_all() -> None:
    """Import every watcher module (and so what each imports) in this process, before any child
    becomes `nobody`: this Python lives under /root (mode 0700 here), so a module first imported by a
    child that has dropped root fails with ModuleNotFoundError. The command under test would then
    crash on a lazy import (trafilatura's configparser, for `backfill`) whenever no earlier test in the
    same worker had imported it: a failure that depended on test order."""
    import pkgutil

    import watcher

    for m in pkgutil.walk_packages(watcher.__path__, "watcher."):
        if not m.name.endswith(".__main__"):  # that one runs the CLI
            importlib.import_module(m.name)
    importlib.import_module("trafilatura")  # imported lazily by watcher/fulltext/extract.py


def _as_user() -> None:
    """Become an ordinary user, for whom permissions hold (they do not hold for root)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _mount_read_only(folder: Path) -> None:
    """Bind-mount folder read-only over itself, in a mount namespace of this process alone."""
    def check(rc: int) -> None:
        if rc != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    check(libc.unshare(CLONE_NEWNS))
    check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None))
    check(libc.mount(str(folder).encode(), str(folder).encode(), None, MS_BIND, None))
    check(libc.mount(None, str(folder).encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None))


def _make_wal_leftovers(state: Path) -> None:
    """A writer killed mid-life: its -wal (with a committed review decision) and -shm stay behind."""
    code = _in_child(lambda: _write_and_die(state / "watcher.db"), state / "child.out", state / "child.err")
    assert code == 0 and (state / "watcher.db-wal").stat().st_size > 0, (state / "child.err").read_text()
    (state / "child.out").unlink()
    (state / "child.err").unlink()


def _write_and_die(path: Path) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("UPDATE items SET review_status = 'accepted' WHERE id = 1")
    os._exit(0)  # no close: nothing is merged into the file, -wal and -shm stay


WAYS = {
    # name: (prepare the state folder, how the child is stopped from writing)
    "folder-and-file": ("chmod", _as_user),
    "file-only": ("chmod-file", _as_user),
    "read-only-mount": (None, "mount"),
    "crash-leftovers": ("leftovers", _as_user),
}
@pytest.fixture(scope="module")
def can_mount(pristine: Pristine) -> bool:
    probe = pristine.folder / "probe"
    probe.mkdir()
    try:
        return _in_child(lambda: (_mount_read_only(probe), 0)[1], probe / "o", probe / "e") == 0
    finally:
        shutil.rmtree(probe)


def _read_only_project(pristine: Pristine, way: str) -> tuple[Path, Path]:
    base = Path(tempfile.mkdtemp(prefix="watcher-ro-", dir=pristine.folder))
    base.chmod(0o755)
    project = _copy(pristine.folder, base / "p")
    (base / "p").chmod(0o755)
    state = project / "state"
    prep = WAYS[way][0]
    if prep == "leftovers":
        _make_wal_leftovers(state)
    for p in [state, *state.rglob("*")]:
        if prep == "chmod-file":  # the folder stays writable by the user; only the file is read-only
            p.chmod(0o777 if p.is_dir() else 0o444)
        elif prep in ("chmod", "leftovers"):
            p.chmod(0o555 if p.is_dir() else 0o444)
    out_dir = base / "out"  # where the user may write the export
    out_dir.mkdir()
    out_dir.chmod(0o777)
    return project, out_dir


def _snapshot(state: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(state.iterdir()) if p.is_file()}


# Every command on the commonest way; a reader and a writer of each kind on the others.
RO_CASES = [("folder-and-file", c) for c in [*READER_ARGS, *WRITER_ARGS]] + [
    (way, c) for way in WAYS if way != "folder-and-file"
    for c in ("status", "export-file", "show", "digest-dry-run", "poll", "review-accept")]


@pytest.mark.parametrize(("way", "command"), RO_CASES)
def test_a_read_only_store_can_be_read_and_is_never_written(pristine: Pristine, can_mount: bool, way: str,
                                                            command: str) -> None:
    if WAYS[way][1] == "mount" and not can_mount:
        pytest.skip("this machine cannot make a read-only mount (needs CAP_SYS_ADMIN)")
    project, out_dir = _read_only_project(pristine, way)
    state = project / "state"
    db = state / "watcher.db"
    before = _snapshot(state)
    out = out_dir / "out.csv"
    args = _fill(READER_ARGS.get(command) or WRITER_ARGS[command], pristine.item, out)

    def run() -> int:
        if WAYS[way][1] == "mount":
            _mount_read_only(state)
        else:
            _as_user()
        sys.argv = ["watcher", "--config", str(project / "sources.yaml"), *args]
        main()
        return 0

    code = _in_child(run, out_dir / "stdout", out_dir / "stderr")
    stdout = (out_dir / "stdout").read_text(encoding="utf-8")
    stderr = (out_dir / "stderr").read_text(encoding="utf-8")

    assert "Traceback" not in stderr, stderr
    if command in WRITER_ARGS:
        lines = stderr.strip().splitlines()
        assert code == 1 and len(lines) == 1, stderr
        assert str(db) in lines[0] and "read-only" in lines[0]
    else:
        assert code == 0, stderr
        got = out.read_text(encoding="utf-8") if command == "export-file" else stdout
        if way != "crash-leftovers":
            assert _outputs_equal(got, pristine.outputs[command])
        elif command in ("export", "export-file", "review-list"):
            # The decision committed in the leftover -wal is part of the store: readers see it.
            row = next(line for line in got.splitlines()
                       if line.startswith(('{"id": 1,', "1,")) or line.split()[:1] == ["1"])
            assert "accepted" in row
    after = _snapshot(state)
    if way != "file-only":
        assert after == before, "a command wrote to a read-only store"
    else:  # a WAL reader may leave SQLite's empty -wal/-shm beside the file in a writable folder
        assert after["watcher.db"] == before["watcher.db"]
        assert set(after) - set(before) <= {"watcher.db-wal", "watcher.db-shm"}


def test_a_read_only_folder_with_unmerged_changes_is_refused_not_read_stale(pristine: Pristine) -> None:
    # A -wal without its -shm in a read-only folder: SQLite cannot read those changes without writing
    # the -shm, and reading the file alone would show a store without them. Say so instead.
    project, out_dir = _read_only_project(pristine, "folder-and-file")
    state = project / "state"
    for p in [state, *state.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    _make_wal_leftovers(state)
    (state / "watcher.db-shm").unlink()
    for p in [state, *state.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)

    def run() -> int:
        _as_user()
        sys.argv = ["watcher", "--config", str(project / "sources.yaml"), "export"]
        main()
        return 0

    code = _in_child(run, out_dir / "stdout", out_dir / "stderr")
    err = (out_dir / "stderr").read_text(encoding="utf-8")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "watcher.db-wal" in err and "copy" in err, err
    assert (out_dir / "stdout").read_text(encoding="utf-8") == ""


def test_reading_commands_never_create_a_store(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    for args in (["status"], ["export"], ["review", "list"], ["digest", "--dry-run"]):
        r = cli(config, *args, capsys=capsys)
        assert r.code == 0 and "Traceback" not in r.err, r.err
    assert not (tmp_path / "state" / "watcher.db").exists()


def _older_store(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    path = tmp_path / "state" / "watcher.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path, isolation_level=None)
    store.migrations.apply(sqlite_utils.Database(conn), stop_before="m020_dedup_index")
    conn.close()
    return config, path


def test_a_store_from_an_older_watcher_is_upgraded_by_any_command_that_may_write_it(tmp_path: Path, capsys) -> None:
    # After upgrading watcher, the first command an analyst types is often `status`: it must not refuse
    # until someone polls. Where the user may write the store, a reader brings it up to date first.
    config, path = _older_store(tmp_path)
    r = cli(config, "status", capsys=capsys)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert not store.migrations.pending(sqlite_utils.Database(sqlite3.connect(path)))


def test_a_store_from_an_older_watcher_that_cannot_be_written_is_refused_unchanged() -> None:
    # A backup of an older store on a read-only folder: reading it would need the newer columns, and
    # upgrading it would write; say so in one line and leave it as it is.
    tmp_path = Path(tempfile.mkdtemp(prefix="watcher-old-"))  # pytest's own tmp is 0700: `nobody` must reach it
    tmp_path.chmod(0o755)
    config, path = _older_store(tmp_path)
    for p in [path.parent, *path.parent.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    before = path.read_bytes()

    def run() -> int:
        _as_user()
        sys.argv = ["watcher", "--config", str(config), "status"]
        main()
        return 0

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out_dir.chmod(0o777)
    code = _in_child(run, out_dir / "stdout", out_dir / "stderr")
    text = (out_dir / "stderr").read_text(encoding="utf-8")
    try:
        assert code == 1 and len(text.strip().splitlines()) == 1 and "older watcher" in text, text
        assert path.read_bytes() == before
    finally:
        for p in [tmp_path, *tmp_path.rglob("*")]:
            p.chmod(0o755)
        shutil.rmtree(tmp_path)
