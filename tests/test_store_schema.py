"""Every shared store: reopening, several handles, schema versions and migrations, and
damaged rows. SQLite's file format, and PostgreSQL's faults, have files of their own."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from procflow.errors import Conflict, DamagedRecord, StoreError
from procflow.store import TaskRow, TimerRow
from tests.conftest import Backend
from tests.test_store_sqlite import commit


def test_reopening_keeps_data_and_schema(shared_backend: Backend) -> None:
    with shared_backend.open() as store:
        store.commit([commit("i1", events=2)], command_id="c1", result={"r": 1})
        store.put_definition("h1", "SC-001", "text")
    with shared_backend.open() as store:
        assert store.load("i1") == (2, {"v": 2})
        assert store.command_result("c1") == {"r": 1}
        assert store.definition("h1") == "text"
    assert shared_backend.schema_version() == len(shared_backend.migrations.MIGRATIONS)


def test_two_handles_on_one_store_see_each_other(shared_backend: Backend) -> None:
    with shared_backend.open() as a, shared_backend.open() as b:
        a.commit([commit("i1")])
        assert b.load("i1")[0] == 1
        b.commit([commit("i1", 1)])
        with pytest.raises(Conflict):
            a.commit([commit("i1", 1)])
        assert a.load("i1") == b.load("i1") == (2, {"v": 2})


def test_closed_store_refuses_calls(backend: Backend) -> None:
    store = backend.open()
    store.commit([commit("i1")])
    store.close()
    store.close()  # harmless
    if backend.shared:
        with pytest.raises(StoreError, match="closed") as caught:
            store.load("i1")
        assert caught.value.retry_safe


# -- schema versions -------------------------------------------------------------------------


def _set_version(backend: Backend, version: int) -> None:
    if backend.name == "sqlite":
        backend.sql(f"PRAGMA user_version = {version}")
    else:
        backend.sql("INSERT INTO procflow_schema (version) VALUES (?)", (version,))


def test_newer_schema_is_refused(shared_backend: Backend) -> None:
    shared_backend.open().close()
    future = len(shared_backend.migrations.MIGRATIONS) + 1
    _set_version(shared_backend, future)
    with pytest.raises(StoreError, match=rf"schema version {future} .*newer procflow"):
        shared_backend.open()


def _add_priority(conn: Any) -> None:
    conn.execute("ALTER TABLE instances ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE instances SET priority = 7")


def _broken(conn: Any) -> None:
    conn.execute("CREATE TABLE half_done (x INTEGER)")
    conn.execute("this is not SQL")


def test_older_schema_is_upgraded(shared_backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    module = shared_backend.migrations
    current = len(module.MIGRATIONS)
    with shared_backend.open() as store:  # a store of the current version
        store.commit([commit("i1")])
    monkeypatch.setattr(module, "MIGRATIONS", (*module.MIGRATIONS, _add_priority))
    with pytest.raises(StoreError, match=rf"schema version {current} is older.*store migrate"):
        shared_backend.open(upgrade=False)
    with shared_backend.open() as store:
        assert store.load("i1") == (1, {"v": 1})
    assert shared_backend.schema_version() == current + 1
    assert shared_backend.sql("SELECT priority FROM instances") == [(7,)]
    with shared_backend.open(upgrade=False):  # already current: nothing runs again
        pass
    assert shared_backend.sql("SELECT priority FROM instances") == [(7,)]


def test_failed_migration_leaves_the_store_untouched(
    shared_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = shared_backend.migrations
    shared_backend.open().close()
    monkeypatch.setattr(module, "MIGRATIONS", (*module.MIGRATIONS, _add_priority, _broken))
    with pytest.raises(StoreError, match=r"cannot open: .*syntax error"):
        shared_backend.open()
    assert shared_backend.schema_version() == len(module.MIGRATIONS) - 2
    assert not any("half_done" in str(row) for row in _tables(shared_backend))
    assert shared_backend.sql("SELECT * FROM instances") == []
    with pytest.raises(Exception, match="priority"):
        shared_backend.sql("SELECT priority FROM instances")


def _tables(backend: Backend) -> list[Any]:
    if backend.name == "sqlite":
        return backend.sql("SELECT name FROM sqlite_master")
    return backend.sql("SELECT tablename FROM pg_tables")


# -- damaged rows ----------------------------------------------------------------------------


def _two_instances(backend: Backend) -> None:
    with backend.open() as store:
        for iid in ("bad", "good"):
            store.commit(
                [
                    commit(iid)._replace(
                        tasks=(TaskRow(f"t-{iid}", iid, "s", ("pmm",), None, (), None),)
                    )
                ],
                command_id=f"c-{iid}",
                result={"instance": iid},
            )


@pytest.mark.parametrize(
    ("damage", "value", "call"),
    [
        ("UPDATE snapshots SET state = ? WHERE instance_id = 'bad'", "{junk", "load"),
        ("UPDATE snapshots SET state = ? WHERE instance_id = 'bad'", "[1, 2]", "load"),
        ("UPDATE events SET data = ? WHERE instance_id = 'bad'", "not json", "events"),
        ("UPDATE events SET data = ? WHERE instance_id = 'bad'", '"text"', "events"),
        ("UPDATE commands SET result = ? WHERE command_id = 'c-bad'", "{", "command_result"),
    ],
    ids=["state-junk", "state-list", "event-junk", "event-text", "result-junk"],
)
def test_a_damaged_row_names_its_instance_and_spares_the_others(
    shared_backend: Backend, damage: str, value: str, call: str
) -> None:
    _two_instances(shared_backend)
    shared_backend.sql(damage, (value,))
    with shared_backend.open() as store:
        ask = store.command_result if call == "command_result" else getattr(store, call)
        with pytest.raises(DamagedRecord, match=r"'c-bad'|'bad'.*damaged") as caught:
            ask("c-bad" if call == "command_result" else "bad")
        assert caught.value.instance_id == (None if call == "command_result" else "bad")
        assert "Traceback" not in str(caught.value)
        # everyone else still gets answers
        assert store.load("good") == (1, {"v": 1})
        assert [e.seq for e in store.events("good")] == [1]
        assert [r.instance_id for r in store.instances()] == ["bad", "good"]
        assert [t.task_id for t in store.open_tasks(user="u", roles=["pmm"])] == ["t-bad", "t-good"]
        assert store.command_result("c-good") == {"instance": "good"}


def test_a_damaged_task_row_is_left_out_of_inboxes(
    shared_backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    _two_instances(shared_backend)
    if shared_backend.name == "postgres":  # roles are text[]: no JSON to damage
        with pytest.raises(Exception, match="malformed array literal"):
            shared_backend.sql("UPDATE tasks SET roles = '{junk' WHERE task_id = 't-bad'")
        return
    shared_backend.sql("UPDATE tasks SET roles = '[\"pmm\"' WHERE task_id = 't-bad'")
    with shared_backend.open() as store, caplog.at_level(logging.ERROR, "procflow.store"):
        assert [t.task_id for t in store.open_tasks(user="u", roles=["pmm"])] == ["t-good"]
        assert [t.task_id for t in store.open_tasks()] == ["t-good"]
        assert "task 't-bad' of instance 'bad'" in caplog.text
        with pytest.raises(DamagedRecord, match="t-bad"):
            store.task("t-bad")


def test_timers_survive_a_reopening(shared_backend: Backend) -> None:
    with shared_backend.open() as store:
        store.commit([commit("i1")._replace(timers=(TimerRow("i1", "d", "2024-03-02"),))])
    with shared_backend.open() as store:
        assert store.due_timers("2024-03-02") == [TimerRow("i1", "d", "2024-03-02")]
