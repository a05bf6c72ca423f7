"""SQLiteStore only: file format, schema versions, processes racing, crashes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from procflow.errors import Conflict, StoreError
from procflow.store import Commit, NewEvent, SQLiteStore, TaskRow, TimerRow
from procflow.store import migrations as schema_module
from tests.test_runtime_helpers import acknowledged_then_killed

AT = "2024-03-01T09:00:00"


def commit(instance_id: str, expected: int = 0, *, events: int = 1, **state: Any) -> Commit:
    return Commit(
        instance_id=instance_id,
        expected_version=expected,
        events=tuple(NewEvent("step", AT, None, {"k": k}) for k in range(events)),
        state=state or {"v": expected + events},
        process_id="SC-001",
        definition_hash="h1",
        status="running",
        started_at=AT,
        parent_id=None,
        tasks=(TaskRow(f"t-{instance_id}", instance_id, "s", ("pmm",), None, (), None),),
        timers=(TimerRow(instance_id, "d", "2024-03-02"),),
    )


def raw(path: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- file format --------------------------------------------------------------------------


def test_new_file_is_wal_with_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path):
        pass
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    assert raw(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]
    assert raw(path, "PRAGMA application_id") == [(schema_module.APPLICATION_ID,)]
    tables = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"instances", "events", "tasks", "timers", "commands", "definitions"}


@pytest.mark.parametrize(("durable", "autocheckpoint"), [(True, 0), (False, 1000)])
def test_connections_sync_normal(tmp_path: Path, durable: bool, autocheckpoint: int) -> None:
    """SQLite syncs at checkpoints only; a durable store syncs the WAL and checkpoints itself."""
    store = SQLiteStore(tmp_path / "s.db", durable=durable)
    with store, store._connection("test") as conn:
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (autocheckpoint,)
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (5000,)


def test_json_is_compact_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.commit([commit("i1", 名="值", n=[1, 2])])
    assert raw(path, "SELECT state FROM instances") == [('{"名":"值","n":[1,2]}',)]
    assert raw(path, "SELECT data FROM events") == [('{"k":0}',)]
    assert raw(path, "SELECT roles, candidates FROM tasks") == [('["pmm"]', "[]")]


def test_sqlite_returns_fresh_snapshots(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.commit([commit("i1", list=[1])])
        store.load("i1")[1]["list"].append(2)
        assert store.load("i1") == (1, {"list": [1]})


def test_reopening_keeps_data_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.commit([commit("i1", events=2)], command_id="c1", result={"r": 1})
        store.put_definition("h1", "SC-001", "text")
    with SQLiteStore(path) as store:
        assert store.load("i1") == (2, {"v": 2})
        assert store.command_result("c1") == {"r": 1}
        assert store.definition("h1") == "text"
    assert raw(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]


def test_two_stores_on_one_file_see_each_other(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as a, SQLiteStore(tmp_path / "s.db") as b:
        a.commit([commit("i1")])
        assert b.load("i1")[0] == 1
        b.commit([commit("i1", 1)])
        with pytest.raises(Conflict):
            a.commit([commit("i1", 1)])


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.load("i1")


def test_memory_path_is_refused() -> None:
    with pytest.raises(ValueError, match="MemoryStore"):
        SQLiteStore(":memory:")


# -- schema versions -------------------------------------------------------------------------


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    future = len(schema_module.MIGRATIONS) + 1
    raw(path, f"PRAGMA user_version = {future}")
    with pytest.raises(StoreError, match=rf"s\.db: schema version {future} .*newer procflow"):
        SQLiteStore(path)


def _add_priority(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE instances ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE instances SET priority = 7")


def _broken(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE half_done (x)")
    conn.execute("this is not SQL")


def test_older_schema_is_upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    current = len(schema_module.MIGRATIONS)
    with SQLiteStore(path) as store:  # a file of the current version
        store.commit([commit("i1")])
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, _add_priority))
    with SQLiteStore(path) as store:
        assert store.load("i1") == (1, {"v": 1})
    assert raw(path, "PRAGMA user_version") == [(current + 1,)]
    assert raw(path, "SELECT priority FROM instances") == [(7,)]
    with SQLiteStore(path):  # already current: nothing runs again
        pass
    assert raw(path, "SELECT priority FROM instances") == [(7,)]


def _old_file(path: Path, version: int, tasks: list[tuple[str, str, int]]) -> None:
    """A file as procflow wrote it at schema ``version``: instances i1 and i2, ``tasks``.

    Written with the old migrations and plain SQL, as today's store writes the
    current layout only. ``tasks`` are (task id, instance id, pos).
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for migrate in schema_module.MIGRATIONS[:version]:
            migrate(conn)
        conn.execute(f"PRAGMA user_version = {version}")
        for iid in ("i1", "i2"):
            conn.execute(
                "INSERT INTO instances VALUES (?, 'SC-001', 'h1', 'running', 1, ?, NULL, ?)",
                (iid, AT, '{"v":1}'),
            )
            conn.execute("INSERT INTO events VALUES (?, 1, 'step', ?, NULL, '{}')", (iid, AT))
        for task_id, iid, pos in tasks:
            assignee = "bob" if task_id == "t-b" else None
            conn.execute(
                "INSERT INTO tasks VALUES (?, ?, ?, 's', '[\"pmm\"]', ?, '[]', NULL)",
                (task_id, iid, pos, assignee),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _indexes(path: Path) -> set[str]:
    return {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_schema_1_file_is_upgraded_with_its_tasks(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _old_file(path, 1, [("t-i1", "i1", 0), ("t-b", "i2", 0), ("t-i2", "i2", 1)])
    rows = (
        TaskRow("t-b", "i2", "s", ("pmm",), "bob", (), None),
        TaskRow("t-i2", "i2", "s", ("pmm",), None, (), None),
    )
    with SQLiteStore(path) as store:
        assert [t.task_id for t in store.open_tasks()] == ["t-i1", "t-b", "t-i2"]
        assert store.task("t-b") == rows[0]
        store.commit([commit("i2", 1)._replace(tasks=rows[1:])])
        assert [t.task_id for t in store.open_tasks()] == ["t-i1", "t-i2"]
    assert raw(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]
    assert not {"tasks_by_assignee", "tasks_by_instance"} & _indexes(path)
    assert raw(path, "SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE name = 'tasks'")[
        0
    ] == (1,)


def test_schema_2_file_is_upgraded_with_each_instances_task_list(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    # pos, not the task id, gives the order; gaps in pos are allowed
    _old_file(path, 2, [("t-z", "i2", 0), ("t-a", "i2", 5), ("t-m", "i2", 2)])
    assert "tasks_by_instance" in _indexes(path)
    with SQLiteStore(path) as store:
        assert [t.task_id for t in store.open_tasks(instance_id="i2")] == ["t-z", "t-m", "t-a"]
        assert store.open_tasks(instance_id="i1") == []
        mine = store.open_tasks(instance_id="i2", user="al", roles=["pmm"])
        assert [t.task_id for t in mine] == ["t-z", "t-m", "t-a"]
        assert store.open_tasks(instance_id="i2", user="al", roles=["gm"]) == []
        # a store just opened knows nothing of the rows: the old list is replaced
        new = TaskRow("t-n", "i2", "s", (), None, (), None)
        store.commit([commit("i2", 1)._replace(tasks=(new,))])
        assert [t.task_id for t in store.open_tasks()] == ["t-n"]
        assert store.task("t-a") is None
    assert raw(path, "SELECT instance_id, task_ids FROM instances ORDER BY instance_id") == [
        ("i1", "[]"),
        ("i2", '["t-n"]'),
    ]
    assert "tasks_by_instance" not in _indexes(path)
    assert raw(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]


def test_failed_migration_leaves_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    monkeypatch.setattr(
        schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, _add_priority, _broken)
    )
    with pytest.raises(StoreError, match=r"s\.db: cannot open: .*syntax error"):
        SQLiteStore(path)
    assert raw(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS) - 2,)]
    assert raw(path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []
    assert "priority" not in {r[1] for r in raw(path, "PRAGMA table_info(instances)")}


# -- files that are not ours -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, just some text\n" * 50, os.urandom(8192)],
    ids=["text", "random"],
)
def test_corrupt_file_is_a_store_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"broken\.db: cannot open"):
        SQLiteStore(path)
    assert path.read_bytes() == content


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    raw(path, "CREATE TABLE users (id)")
    with pytest.raises(StoreError, match="not a procflow store"):
        SQLiteStore(path)
    assert raw(path, "SELECT name FROM sqlite_master") == [("users",)]


def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no-such-dir"):
        SQLiteStore(tmp_path / "no-such-dir" / "s.db")


# -- concurrency ----------------------------------------------------------------------------


def test_threads_share_one_store(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    with SQLiteStore(tmp_path / "s.db") as store:

        def work(name: str) -> None:
            versions: dict[str, int] = {}
            try:
                for k in range(20):
                    iid = f"{name}-{k % 4}"
                    version = versions.get(iid, 0)
                    store.commit([commit(iid, version)], command_id=f"{name}-{k}")
                    versions[iid] = version + 1
                    assert store.load(iid)[0] == version + 1
                    store.open_tasks(user="bob", roles=["pmm"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert [r.version for r in store.instances()] == [5] * 16


def _race_worker(path: str, rounds: int, barrier: Any, results: Any) -> None:
    """Runs in a spawned process: race the parent's other worker on every instance."""
    outcomes = []
    with SQLiteStore(path) as store:
        for k in range(rounds):
            barrier.wait(timeout=20)
            try:
                store.commit([commit(f"r{k}", 1, winner=os.getpid())])
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")
    results.put((os.getpid(), outcomes))


def test_racing_processes_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    rounds = 20
    with SQLiteStore(path) as store:
        for k in range(rounds):
            store.commit([commit(f"r{k}")])
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_race_worker, args=(str(path), rounds, barrier, results))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    got = dict(results.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    with SQLiteStore(path) as store:
        for k in range(rounds):
            pair = sorted(outcome[k] for outcome in got.values())
            assert pair == ["conflict", "ok"]
            winner = next(pid for pid, outcome in got.items() if outcome[k] == "ok")
            assert store.load(f"r{k}") == (2, {"winner": winner})


# -- crash ------------------------------------------------------------------------------------

_WRITER = """
import sys
from procflow.store import Commit, NewEvent, SQLiteStore, TaskRow, TimerRow

path, first = sys.argv[1], int(sys.argv[2])
store = SQLiteStore(path)
n = first
while True:
    iid = f"i{n % 3}"
    try:
        version = store.load(iid)[0]
    except LookupError:
        version = 0
    events = tuple(
        NewEvent("step", "2024-03-01T09:00:00", "u", {"n": n, "k": k, "pad": "x" * 500})
        for k in range(3)
    )
    store.commit(
        [Commit(iid, version, events, {"version": version + 3, "n": n}, "SC-001", "h1",
                "running", "2024-03-01T09:00:00", None,
                (TaskRow(f"t{n}", iid, "s", ("pmm",), None, (), None),),
                (TimerRow(iid, "d", str(n)),))],
        command_id=f"c{n}",
        result={"n": n},
    )
    print(f"c{n}", flush=True)
    n += 1
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_killed_writer_loses_no_acknowledged_command(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    acked: list[str] = []
    for round_, wait_for in enumerate([3, 11, 19, 29, 37]):
        acked += acknowledged_then_killed(_WRITER, str(path), str(round_ * 100_000), lines=wait_for)

        with SQLiteStore(path) as store:
            for command_id in acked:
                assert store.command_result(command_id) == {"n": int(command_id[1:])}
            total = 0
            for row in store.instances():
                version, state = store.load(row.instance_id)
                events = store.events(row.instance_id)
                assert version == row.version == state["version"] == len(events)
                assert [e.seq for e in events] == list(range(1, version + 1))
                assert version % 3 == 0
                for start in range(0, version, 3):  # each command's 3 events, in order
                    group = events[start : start + 3]
                    assert [e.data["k"] for e in group] == [0, 1, 2]
                    assert len({e.data["n"] for e in group}) == 1
                assert events[-1].data["n"] == state["n"]
                [open_task] = store.open_tasks(instance_id=row.instance_id)
                assert open_task.task_id == f"t{state['n']}"
                total += version // 3
            commands = raw(path, "SELECT count(*) FROM commands")[0][0]
            assert total == commands >= len(acked)
