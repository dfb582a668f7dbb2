"""What the hostile first-run replay of issue 9 found on the fixed code, tested as classes.

Classes of fault:
- a day on the command line at or past the edges of what can be meant (year 1, 9999, before 1990,
  after today, --until before --since) for `digest --date`, `coverage` and `backfill`: one line and
  exit 2, never an OverflowError traceback, never a grid of centuries, nothing recorded;
- a file `watcher export` wrote that `review import` could not read back (a field over the csv
  module's 128 KiB default: a 1 MB title or summary): imported, and a CSV it cannot read is one line;
- `export -o` to something that is not a regular file (a FIFO a script reads, a symlink to the real
  file): written through, never replaced by a file of its own (as root, `-o /dev/null` replaced the
  device node);
- a feed address `check` passed and the fetch layer then refused (a host name that can never resolve):
  `check` and the fetch layer now apply one rule, tested over a table of addresses;
- the lock file that cannot be opened (a folder that is a file, a lock that is a folder, a read-only
  folder, a full disk): one line naming it, never a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from util import rss, run_cli, write_config
from watcher import bounds
from watcher.errors import StoreError, StoreReadOnlyError
from watcher.fetch import check_url
from watcher.lock import instance_lock

TODAY = date.today()

# ---------------------------------------------------------------- days on the command line

DAYS = [
    # (command and arguments, what the one line must say)
    (["digest", "--date", "0001-01-01"], "before 1990"),
    (["digest", "--date", "0001-01-02", "--dry-run"], "before 1990"),  # overflowed in a zone ahead of UTC
    (["digest", "--date", "1989-12-31"], "before 1990"),
    (["digest", "--date", "9999-12-31"], "after today"),
    (["digest", "--date", "9999-12-31", "--dry-run"], "after today"),
    (["coverage", "--since", "9999-12-31"], "after today"),
    (["coverage", "--since", "0001-01-01"], "before 1990"),
    (["coverage", "--since", "1000-01-01"], "before 1990"),  # printed a grid of 1,000 years of weeks
    (["coverage", "--since", "2026-01-01", "--until", "9999-12-31"], "after today"),
    (["coverage", "--since", "2026-01-01", "--until", (TODAY + timedelta(days=400)).isoformat()], "after today"),
    (["coverage", "--since", "2026-01-05", "--until", "2026-01-01"], "swap them"),
    (["backfill", "--since", "2026-01-01", "--until", "9999-12-31", "--dry-run"], "after today"),
    (["backfill", "--since", "0001-01-01", "--dry-run"], "before 1990"),
    (["backfill", "--since", (TODAY + timedelta(days=30)).isoformat()], "after today"),
]


@pytest.mark.parametrize(("args", "says"), DAYS, ids=[" ".join(a) for a, _ in DAYS])
def test_a_day_beyond_what_can_be_meant_is_one_line_and_records_nothing(tmp_path: Path, args: list[str],
                                                                       says: str) -> None:
    config = write_config(tmp_path, [{"name": "only", "url": "http://127.0.0.1:9/feed.xml"}],
                          extra='digest: {time: "07:00", timezone: "Asia/Ho_Chi_Minh"}')
    p = run_cli(config, *args, check=False)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and says in p.stderr, p.stderr
    assert len([line for line in p.stderr.splitlines() if line.startswith("Error")]) == 1
    assert len(p.stdout) < 1000  # no grid of centuries before the refusal
    assert not (tmp_path / "state" / "digests").exists()


def test_days_in_range_still_work(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "only", "url": "http://127.0.0.1:9/feed.xml"}])
    assert run_cli(config, "coverage", "--since", "2026-01-01", "--until", "2026-01-03").returncode == 0
    assert "built" in run_cli(config, "digest", "--date", "1990-01-01").stdout


# ---------------------------------------------------------------- export, then import it back

@pytest.mark.parametrize("field", ["title", "description"])
def test_review_import_reads_back_an_export_with_a_field_over_128_kib(tmp_path: Path, feed_server, field: str) -> None:
    big = "Nvidia H20 export control Entity List " + "x" * 1_000_000
    items = [{"guid": f"g{i}", "link": f"http://127.0.0.1/a/{i}", "title": f"Nvidia H20 export control story {i}",
              "description": f"Entity List additions by BIS, story {i}.", "pubDate": "Mon, 30 Nov 2026 10:00:00 GMT"}
             for i in range(2)]
    items[0][field] = big
    config = write_config(tmp_path, [{"name": "big", "url": feed_server.add("/big.xml", rss(items))}])
    run_cli(config, "poll")
    out = tmp_path / "labels.csv"
    run_cli(config, "export", "--format", "csv", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert big in text  # the export keeps the stored text whole
    # The analyst labels both rows.
    labelled = text.replace(",new,", ",accepted,")
    assert labelled.count(",accepted,") == 2
    out.write_text(labelled, encoding="utf-8")

    p = run_cli(config, "review", "import", str(out), check=False)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert "2 decisions recorded" in p.stdout, p.stdout
    assert run_cli(config, "review", "list", "--status", "accepted").stdout.count("accepted") == 2


# ---------------------------------------------------------------- export -o to what is not a regular file

@pytest.fixture
def exported(tmp_path: Path, feed_server) -> Path:
    items = [{"guid": f"g{i}", "link": f"http://127.0.0.1/a/{i}", "title": f"Nvidia H20 story {i}",
              "description": "x " * 20_000} for i in range(40)]  # ~1.6 MB: more than a pipe holds
    config = write_config(tmp_path, [{"name": "s", "url": feed_server.add("/s.xml", rss(items))}])
    run_cli(config, "poll")
    return config


def test_export_into_a_fifo_writes_through_it_and_keeps_the_fifo(tmp_path: Path, exported: Path) -> None:
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer end, so the reader never waits for ever
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    p = run_cli(exported, "export", "--format", "jsonl", "-o", str(fifo), check=False)
    os.close(keep)
    reader.join(30)
    assert p.returncode == 0, p.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "export replaced the FIFO with a file"
    assert got and got[0].count(b"\n") == 40
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".part")] == []


def test_export_to_a_symlink_writes_its_target_and_keeps_the_link(tmp_path: Path, exported: Path) -> None:
    target = tmp_path / "real.csv"
    target.write_text("the previous export\n", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    run_cli(exported, "export", "--format", "csv", "-o", str(link))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8").count("Nvidia H20 story") == 40


# ---------------------------------------------------------------- one rule for a feed address

URLS = [
    "http://127.0.0.1:8080/feed.xml", "https://example.org/rss", "http://a_b.example.org/x",
    "http://example.org./x", "http://[::1]:8080/x", "https://xn--bcher-kva.example/x",
    "http://a..b/x", "http://%zz/x", "http://ex%41mple.org/x", "http://.example.org/x",
    "http://example..org/x", "http://exa$mple.org/x", "http://" + "a" * 64 + ".org/x",
    "http://127.0.0.1:99999/x", "http://[::1/x", "https://xn--/x", "http:///x", "ftp://example.org/x",
]


@pytest.mark.parametrize("url", URLS)
def test_check_accepts_a_feed_address_exactly_when_the_fetch_layer_can_fetch_it(url: str) -> None:
    _, problem = bounds.check_value("source.url", url, "source 'x' url")
    assert (problem is None) == (check_url(url) is None), (problem, check_url(url))


@pytest.mark.parametrize("url", ["http://a..b/x", "http://%zz/x", "http://exa$mple.org/x"])
def test_check_names_the_line_of_an_address_no_dns_server_can_answer(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, [{"name": "ok", "url": "http://127.0.0.1:9/a.xml"}, {"name": "typo", "url": url}])
    p = run_cli(config, "check", check=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if url in text)
    assert f"sources.yaml:{line}: source 'typo' url" in p.stdout + p.stderr


# ---------------------------------------------------------------- the lock file cannot be opened

def _state_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "state").write_text("not a folder")
    return tmp_path / "state"


def _lock_is_a_folder(tmp_path: Path) -> Path:
    (tmp_path / "state" / "watcher.lock").mkdir(parents=True)
    return tmp_path / "state"


def _os_error(code: int):
    def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        def refuse(*a, **k):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(os, "open", refuse)
        return tmp_path / "state"
    return make


LOCK_FAULTS = {
    "state-is-a-file": (lambda t, m: _state_is_a_file(t), StoreError),
    "lock-is-a-folder": (lambda t, m: _lock_is_a_folder(t), StoreError),
    "permission": (_os_error(errno.EACCES), StoreReadOnlyError),
    "read-only-mount": (_os_error(errno.EROFS), StoreReadOnlyError),
    "disk-full": (_os_error(errno.ENOSPC), StoreError),
}


@pytest.mark.parametrize("fault", list(LOCK_FAULTS))
def test_a_lock_file_that_cannot_be_opened_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              fault: str) -> None:
    make, kind = LOCK_FAULTS[fault]
    state = make(tmp_path, monkeypatch)
    with pytest.raises(kind) as e:
        with instance_lock(state, purpose="backfill"):
            pass
    assert "watcher.lock" in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------- numbers past SQLite's 64-bit INTEGER

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("args", [["show", HUGE], ["review", "accept", HUGE], ["review", "reject", "1", HUGE],
                                  ["review", "list", "--limit", HUGE], ["keywords", "test", "--term", "x", "--limit", HUGE]])
def test_a_number_past_sqlites_integer_is_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    config = write_config(tmp_path, [{"name": "only", "url": "http://127.0.0.1:9/feed.xml"}])
    p = run_cli(config, *args, check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "range" in p.stderr, p.stderr


# ---------------------------------------------------------------- watcher serve: its arguments and its URLs

@pytest.fixture
def page(tmp_path: Path):
    from starlette.testclient import TestClient

    from test_digest import add_item
    from watcher import config as config_mod, store
    from watcher.web.app import create_app

    cfg = config_mod.load(write_config(tmp_path, [{"name": "only", "url": "http://127.0.0.1:9/feed.xml"}]))
    db = store.connect(cfg.db_path)
    add_item(db, id=1)
    return TestClient(create_app(cfg, db=db), base_url="http://127.0.0.1:8700")


@pytest.mark.parametrize(("query", "says"), [
    ("until=9999-12-31", "after today"), ("since=9999-12-31", "after today"),
    ("since=0001-01-01", "before 1990"), ("until=0001-01-01", "before 1990"),
])
def test_the_queue_refuses_a_day_beyond_what_can_be_meant(page, query: str, says: str) -> None:
    r = page.get("/?" + query)
    assert r.status_code == 400 and says in r.text


@pytest.mark.parametrize("path", [f"/items/{HUGE}", "/items/9223372036854775808", "/items/9223372036854775807"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_item_id_past_sqlites_integer_is_not_found(page, path: str, method: str) -> None:
    r = page.request(method, path + ("/decide" if method == "POST" else ""))
    assert r.status_code in (403, 404)  # a POST without the page's token is refused before anything
    assert page.get("/items/1").status_code == 200


def _serve(tmp_path: Path, *args: str):
    config = write_config(tmp_path, [{"name": "only", "url": "http://127.0.0.1:9/feed.xml"}])
    return run_cli(config, "serve", *args, check=False)


def test_serve_on_a_port_in_use_says_so_in_one_line_before_announcing_the_page(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        p = _serve(tmp_path, "--port", str(port))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "in use" in p.stderr and "--port" in p.stderr and "the review page is at" not in p.stderr, p.stderr


@pytest.mark.parametrize("host", ["10.254.254.254", "192.0.2.1", "::ffff:10.254.254.254"])
def test_serve_on_an_address_of_another_machine_says_so_in_one_line(tmp_path: Path, host: str) -> None:
    # Binding sends nothing anywhere: the kernel refuses an address that is not this machine's.
    p = _serve(tmp_path, "--host", host, "--port", "18799")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "not an address of this machine" in p.stderr and "the review page is at" not in p.stderr, p.stderr
