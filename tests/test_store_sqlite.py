"""SQLiteStore only: file format, schema versions, processes racing, crashes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from procflow.errors import StoreError
from procflow.store import Commit, NewEvent, SQLiteStore, TaskRow, TimerRow
from procflow.store import migrations as schema_module
from procflow.store.query import key_rows
from tests.test_runtime_helpers import LI, SEQUENCE, engine

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
    assert tables == {
        "instances", "snapshots", "events", "tasks", "timers", "commands", "definitions",
        "task_keys", "instance_search", "meta",
    }  # fmt: skip


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
    assert raw(path, "SELECT state FROM snapshots") == [('{"名":"值","n":[1,2]}',)]
    assert raw(path, "SELECT data FROM events") == [('{"k":0}',)]
    assert raw(path, "SELECT roles, candidates FROM tasks") == [('["pmm"]', "[]")]


def test_sqlite_returns_fresh_snapshots(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.commit([commit("i1", list=[1])])
        store.load("i1")[1]["list"].append(2)
        assert store.load("i1") == (1, {"list": [1]})


def test_memory_path_is_refused() -> None:
    with pytest.raises(ValueError, match="MemoryStore"):
        SQLiteStore(":memory:")


# -- schema versions -------------------------------------------------------------------------


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
    assert "tasks_by_assignee" not in _indexes(path)
    assert "tasks_by_instance" in _indexes(path)  # dropped by schema 3, back in schema 6
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
    assert raw(path, "SELECT instance_id, task_id FROM tasks") == [("i2", "t-n")]
    assert "task_ids" not in {r[1] for r in raw(path, "PRAGMA table_info(instances)")}
    assert raw(path, "PRAGMA user_version") == [(len(schema_module.MIGRATIONS),)]


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
    with pytest.raises(StoreError, match="no-such-dir") as info:
        SQLiteStore(tmp_path / "no-such-dir" / "s.db")
    # the store says it, not only open_store: SQLite's own words were "unable to open"
    assert "the folder" in str(info.value) and "does not exist" in str(info.value)
    with pytest.raises(StoreError, match="is a folder, not a store's file"):
        SQLiteStore(tmp_path)


# -- what a commit writes (`store.writes`) ---------------------------------------------


def _keys_written(path: Path) -> set[tuple[str, ...]]:
    return set(raw(path, "SELECT key, due, task_id, opened, process_id, step_id FROM task_keys"))


def _keys_of(tasks: tuple[TaskRow, ...]) -> set[tuple[str, ...]]:
    return {r for t in tasks for r in key_rows(t, "SC-001")}


def test_task_keys_follow_changed_kept_and_closed_tasks(tmp_path: Path) -> None:
    """The key rows a store keeps with what it wrote are the ones it deletes later: a
    changed task loses exactly its old rows, an unchanged one keeps them untouched,
    and a store that did not write the rows (reopened) reads them back instead."""
    path = tmp_path / "s.db"
    a = TaskRow("i1.1", "i1", "s", ("pmm", "pmm"), None, (), None, AT)  # a role twice
    b = TaskRow("i1.2", "i1", "t", ("qa",), None, ("bob",), "2024-03-09T09:00:00+08:00", AT)
    steps: list[tuple[TaskRow, ...]] = [
        (a, b),
        (a, b._replace(barred=("carol",))),  # b changed, a kept as it was
        (a, b._replace(barred=("carol",))),  # nothing changed: no key row written
        (b._replace(barred=("carol",), assignee="dan"),),  # a closed, b claimed
    ]
    with SQLiteStore(path) as store:
        for n, tasks in enumerate(steps[:3]):
            store.commit([commit("i1", n)._replace(tasks=tasks, timers=())])
            assert _keys_written(path) == _keys_of(tasks)
    with SQLiteStore(path) as store:  # does not know what was written: reads it back
        store.commit([commit("i1", 3)._replace(tasks=steps[3], timers=())])
        assert _keys_written(path) == _keys_of(steps[3])
        store.commit([commit("i1", 4)._replace(tasks=(a,), timers=())])
        assert _keys_written(path) == _keys_of((a,))
        assert [t.task_id for t in store.open_tasks(user="eve", roles=["pmm"])] == ["i1.1"]


def test_a_payload_that_is_not_json_is_named(tmp_path: Path) -> None:
    bad = NewEvent("noted", AT, None, {"x": object()})
    with SQLiteStore(tmp_path / "s.db", durable=False) as store:
        with pytest.raises(TypeError, match="'noted' event data is not JSON"):
            store.commit([commit("i1")._replace(events=(*commit("i1").events, bad))])
        assert store.instances() == []


def _open_files(path: Path) -> list[str]:
    """The descriptors of this process open on ``path`` or its WAL and shared memory."""
    names = (str(path), f"{path}-wal", f"{path}-shm")
    fds = Path("/proc/self/fd")
    return [fd.name for fd in fds.iterdir() if os.path.realpath(fd) in names]


@pytest.mark.parametrize("durable", [True, False])
def test_a_store_dropped_unclosed_releases_its_files_and_says_so(
    tmp_path: Path, durable: bool
) -> None:
    path = (tmp_path / "s.db").resolve()
    store = SQLiteStore(path, durable=durable)
    store.commit([commit("i1")])
    assert _open_files(path)  # its connection, and a durable store's WAL descriptor
    with pytest.warns(ResourceWarning, match=r"SQLiteStore\(.*s\.db'\) was not closed"):
        del store  # the last reference: collected at once
    assert _open_files(path) == []
    with SQLiteStore(path, durable=durable) as again:  # closed by the block: no warning
        assert again.version("i1") == 1
    assert _open_files(path) == []


def test_an_engine_in_a_with_block_closes_its_store(tmp_path: Path) -> None:
    path = (tmp_path / "s.db").resolve()
    with engine(SEQUENCE, store=SQLiteStore(path)) as eng:
        eng.start("SEQ", by=LI)
        assert _open_files(path)
    assert _open_files(path) == []
    with pytest.raises(StoreError, match="closed"):
        eng.tasks(user=LI)
