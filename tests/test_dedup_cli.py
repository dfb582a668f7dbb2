"""`watcher dedup --recheck`: a seed added after items were stored is applied to them."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from dedup_helpers import T0, Store, seed_path
from watcher.cli import cli
from watcher.dedup import SeedIndex


def _config(tmp_path, seeds):
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(f"sources:\n  - name: a\n    url: http://127.0.0.1:9/a.xml\nseeds: {seeds}\nstate: {tmp_path / 'state'}\n",
                   encoding="utf-8")
    return cfg


def test_recheck_after_a_new_seed(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    state = tmp_path / "state"
    st = Store(state.parent / "state", seeds=SeedIndex.load(seeds, state / "cache"))
    text = "\n".join(l for l in seed_path("001").read_text(encoding="utf-8").splitlines() if l.strip())
    copy_id, d = st.add(source="a", title="Copy", summary=text[:400])
    st.add(source="a", title="Copy again", summary=text[:400], published=T0 + timedelta(hours=1))
    other_id, _ = st.add(source="a", title="Other story",
                         summary="Huawei giới thiệu chip Ascend mới cho trung tâm dữ liệu tại Trung Quốc.")
    assert d.duplicate_of is None  # no seeds yet
    st.db.conn.close()
    (seeds / "001.txt").write_text(seed_path("001").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = _config(tmp_path, seeds)
    runner = CliRunner()
    dry = runner.invoke(cli, ["--config", str(cfg), "dedup", "--recheck", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would change" in dry.output and "seed:001.txt" in dry.output
    res = runner.invoke(cli, ["--config", str(cfg), "dedup", "--recheck", "--verbose"])
    assert res.exit_code == 0, res.output
    assert "2 changed" in res.output, res.output
    from watcher import store

    db = store.connect(state / "watcher.db")
    rows = dict(db.execute("SELECT id, duplicate_of FROM items").fetchall())
    assert rows[copy_id] == "seed:001.txt" and rows[other_id] is None
    again = runner.invoke(cli, ["--config", str(cfg), "dedup", "--recheck"])
    assert "0 changed" in again.output, again.output
    status = runner.invoke(cli, ["--config", str(cfg), "dedup"])
    assert status.exit_code == 0 and "seeds: 1" in status.output


def test_recheck_rejects_a_bad_date(tmp_path):
    (tmp_path / "seeds").mkdir()
    cfg = _config(tmp_path, tmp_path / "seeds")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "dedup", "--recheck", "--since", "yesterday"])
    assert res.exit_code == 2 and "'yesterday' is not a date" in res.output and "YYYY-MM-DD" in res.output
