"""``procflow store copy|info|migrate`` and ``--store``: a copy loses nothing.

A SQLite store filled through the engine (calls, hand-offs, deadlines fired
and pending, a cancelled instance, command ids, two versions of one
definition) is copied into PostgreSQL and back; every copied instance
replays to the same snapshot, and the copies hold what the source held.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import procflow
from procflow.cli.main import main
from procflow.errors import StoreError
from procflow.runtime import replay
from procflow.runtime.codec import decode
from procflow.store import Store, migrations
from procflow.store.transfer import check_copy, copy_store
from tests.pg_cluster import Server
from tests.test_runtime_deadlines import DEADLINE
from tests.test_runtime_helpers import CHEN, LI, WANG, engine, only
from tests.test_runtime_processes import CHILD, NEXT, PARENT
from tests.test_store_sqlite import _old_file


def cli(*args: str, keys: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=keys)


def fill(store: Store) -> None:
    """Instances of every kind, through the engine."""
    clock = procflow.ManualClock(datetime(2026, 3, 2, 9))
    texts = (PARENT, CHILD, NEXT, DEADLINE.replace("MODE", "offer"))
    eng = engine(*texts, store=store, clock=clock)
    for k in range(3):
        inst = eng.start("PARENT", by=LI, command_id=f"start-{k}")
        inst = eng.complete(only(inst.tasks).id, by=LI, data={"plan": {"budget": f"9{k}0"}},
                            command_id=f"draft-{k}")  # fmt: skip
        if k:
            [child] = inst.waiting_on
            child_task = only(eng.instance(child).tasks).id
            eng.complete(child_task, by=WANG, data={"findings": {"summary": "好"}})
            eng.complete(only(eng.instance(inst.id).tasks).id, by=CHEN)
    for _ in range(4):
        eng.start("DL", by=WANG)
    clock.set(datetime(2026, 3, 4, 12))
    eng.tick()  # some reminders fired, the other timers pending
    eng.cancel(eng.start("DL", by=WANG).id, by=WANG, reason="測試")
    # a second version of one process: both definitions are kept
    changed = DEADLINE.replace("MODE", "offer").replace("title: deadlines", "title: v2")
    eng2 = engine(PARENT, CHILD, NEXT, changed, store=store, clock=clock)
    eng2.start("DL", by=WANG, command_id="v2")


def test_copy_sqlite_to_postgres_and_back_loses_nothing(tmp_path: Path, pg_server: Server) -> None:
    source = f"sqlite:///{tmp_path}/flows.db"
    with procflow.open_store(source) as store:
        fill(store)
        counts = store.counts()
    assert counts["instances"] >= 12 and counts["timers"] > 0 and counts["instances.cancelled"] == 1
    middle = pg_server.new_url()
    done = cli("store", "copy", source, middle)
    assert done.exit_code == 0, done.output
    assert f"copied and checked {counts['instances']} instances" in done.output
    back = f"sqlite:///{tmp_path}/back.db"
    assert cli("store", "copy", middle, back).exit_code == 0
    with (
        procflow.open_store(source) as a,
        procflow.open_store(middle) as b,
        procflow.open_store(back) as c,
    ):
        for store in (b, c):
            check_copy(a, store)  # raises on the first difference
            for row in a.instances():
                events = store.events(row.instance_id)
                mine, copied = a.load(row.instance_id)[1], store.load(row.instance_id)[1]
                assert replay(events) == decode(copied) == decode(mine)
        assert len(a.definitions("DL")) == len(b.definitions("DL")) == 2
        # the copy goes on working: a retried command returns its first result
        clock = procflow.ManualClock(datetime(2026, 3, 4, 12))
        eng = engine(PARENT, CHILD, NEXT, store=b, clock=clock)
        first = a.command_result("start-0")
        assert first is not None
        assert eng.start("PARENT", by=LI, command_id="start-0").id == first["instance"]
        assert b.counts()["instances"] == counts["instances"]


def test_copy_refuses_a_target_that_is_not_empty(tmp_path: Path) -> None:
    a = f"sqlite:///{tmp_path}/a.db"
    with procflow.open_store(a) as store:
        fill(store)
    assert cli("store", "copy", a, f"sqlite:///{tmp_path}/b.db").exit_code == 0
    again = cli("store", "copy", a, f"sqlite:///{tmp_path}/b.db")
    assert again.exit_code == 1
    assert "already holds" in again.output and "copy into an empty store" in again.output


def test_the_check_finds_a_difference(tmp_path: Path) -> None:
    with (
        procflow.open_store(f"sqlite:///{tmp_path}/a.db") as a,
        procflow.open_store(f"sqlite:///{tmp_path}/b.db") as b,
    ):
        fill(a)
        copy_store(a, b, batch=3)
        victim = a.instances()[2].instance_id
        b_path = tmp_path / "b.db"
        import sqlite3

        conn = sqlite3.connect(b_path)
        conn.execute("UPDATE snapshots SET state = '{}' WHERE instance_id = ?", (victim,))
        conn.commit()
        conn.close()
        with pytest.raises(StoreError, match=rf"instance '{victim}' differs .*: snapshot"):
            check_copy(a, b)


def test_info_and_migrate(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path, 2, [("t-1", "i1", 0)])
    url = f"sqlite:///{path}"
    info = cli("store", "info", url)
    assert info.exit_code == 0, info.output
    latest = len(migrations.MIGRATIONS)
    assert (
        f"schema:      2 (this procflow writes {latest}: run 'procflow store migrate" in info.output
    )
    assert "instances" not in info.output  # an old schema is not opened
    migrated = cli("store", "migrate", url)
    assert migrated.exit_code == 0, migrated.output
    assert f"migrated from schema 2 to {latest}" in migrated.output
    assert "nothing to do" in cli("store", "migrate", url).output
    info = cli("store", "info", url)
    assert f"schema:      {latest}\n" in info.output
    assert "instances:   2 (running 2)" in info.output
    assert "open tasks:  1" in info.output


def test_info_on_postgres(pg_server: Server) -> None:
    url = pg_server.new_url()
    with procflow.open_store(url) as store:
        fill(store)
        counts = store.counts()
    info = cli("store", "info", url)
    assert info.exit_code == 0, info.output
    assert f"events:      {counts['events']}" in info.output
    assert "password" not in info.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("store", "info", "mysql://x"), 2, "unknown kind of store 'mysql'"),
        (("store", "info", "memory:"), 2, "nothing to read"),
        (("store", "info", "sqlite:///no/such/file.db"), 1, "no such file"),
        (("store", "copy", "memory:", "nope"), 2, "Invalid value for TARGET"),
        (("store", "copy", "sqlite:///x.db", "sqlite:///y.db"), 1, "x.db: no such file"),
        (("store", "info", "sqlite:///."), 1, ".: is a folder, not a store's file"),
        (("store", "copy", "memory:", "sqlite:///no/y.db"), 1, "the folder 'no' does not exist"),
        (("store", "migrate", "postgresql://nobody@127.0.0.1:9/x"), 1, "cannot read"),
    ],
)
def test_bad_store_arguments_are_one_line(
    args: tuple[str, ...], code: int, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # sqlite:///x.db is made in the working directory
    result = cli(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()  # a source that is not there is not made


def test_run_keeps_its_state_in_the_store_given(pg_server: Server, tmp_path: Path) -> None:
    process = Path(__file__).parent / "fixtures" / "valid" / "approval.yaml"
    url = pg_server.new_url()
    out = cli("run", str(process), "--store", url, keys="s\nq\n")
    assert out.exit_code == 0, out.output
    assert "✓ started" in out.output
    with procflow.open_store(url) as store:
        assert store.counts()["instances"] == 1
    both = cli("run", str(process), "--store", url, "--db", str(tmp_path / "x.db"), keys="q\n")
    assert both.exit_code == 2 and "not both" in both.output
    bad = cli("run", str(process), "--store", "sqlite:flows.db", keys="q\n")
    assert bad.exit_code == 2 and "--store" in bad.output
