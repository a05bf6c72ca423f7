"""The SQL stores write an instance's snapshot now and then, and its events every time.

A load gives the stored snapshot and the events after it (`Checkpoint`); the
engine folds them. These tests hold the stores to what that needs: the
tail of events stays bounded by a share of the snapshot's size
(`store.base.Tail`), a store opened cold reads back exactly what the warm
engine held, and stores written before (SQLite schema 5, PostgreSQL schema
2) upgrade with their snapshots current.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import procflow
from procflow import Engine, User
from procflow.errors import DamagedRecord, StoreError
from procflow.runtime import StaticDirectory, replay
from procflow.runtime.codec import decode
from procflow.store import Checkpoint, Commit, NewEvent, Store, TaskRow
from procflow.store.base import EVENT_ROW, SNAPSHOT_SHARE
from tests.conftest import Backend
from tests.test_store_sqlite import AT, commit

EACH = procflow.loads(
    "procflow: 1\nid: EACH\ntitle: each\nactors: {lead: 組長, member: 組員}\n"
    "steps:\n  - {id: plan, actor: lead}\n"
    "  - {id: report, actor: member, for_each: member}\n  - {id: read, actor: lead}\n"
)
LEAD = User("lead", {"lead"})


def _engine(store: Store, members: list[str]) -> Engine:
    engine = Engine({"EACH": EACH}, store=store)
    engine.directory = StaticDirectory({"member": members})
    return engine


def _state_version(backend: Backend, iid: str) -> tuple[int, int]:
    found: tuple[int, int] = tuple(
        backend.sql(
            "SELECT i.version, s.state_version FROM instances AS i JOIN snapshots AS s"
            " ON s.instance_id = i.instance_id WHERE i.instance_id = ?",
            (iid,),
        )[0]
    )
    return found


def test_a_cold_store_reads_back_what_the_warm_engine_held(shared_backend: Backend) -> None:
    members = [f"m{i}" for i in range(60)]
    with shared_backend.open() as store:
        warm = _engine(store, members)
        inst = warm.start("EACH", by=LEAD)
        inst = warm.complete(inst.tasks[0].id, by=LEAD)
        tasks = {t.candidates[0]: t.id for t in inst.tasks}
        for member in members[:25]:
            inst = warm.complete(tasks[member], by=User(member, {"member"}))
        version, state = store.load(inst.id)
        # the commands after the first for-each completions did not write the snapshot
        assert isinstance(state, Checkpoint)
        assert 0 < state.version < version and len(state.events) == version - state.version
        held = warm.core.load(inst.id)
    with shared_backend.open() as store:  # a new handle: nothing cached, anywhere
        cold = _engine(store, members)
        assert cold.core.load(inst.id) == held
        again = cold.instance(inst.id)
        assert sorted(t.candidates[0] for t in again.tasks) == sorted(members[25:])
        assert replay(store.events(inst.id)) == held[1]
        # and it goes on from there: every member's task, then the lead's
        for member in members[25:]:
            again = cold.complete(tasks[member], by=User(member, {"member"}))
        assert [t.step_id for t in again.tasks] == ["read"]
        assert [t.task_id for t in store.open_tasks(instance_id=inst.id)] == [again.tasks[0].id]
        assert replay(store.events(inst.id)) == decode(store.load(inst.id)[1])


def _event(n: int) -> NewEvent:
    return NewEvent("step", AT, None, {"n": n, "pad": "e" * 36})


def _next(iid: str, expected: int, n: int) -> Commit:
    return commit(iid, expected)._replace(
        events=(_event(n),), state={"v": expected + 1, "pad": "s" * 2000}
    )


def test_the_snapshot_is_written_once_the_tail_outgrows_its_share(
    shared_backend: Backend,
) -> None:
    size = len('{"v":1,"pad":""}') + 2000  # what the store wrote, about
    per_event = EVENT_ROW + len('{"n":0,"pad":""}') + 36
    most = math.ceil(size * SNAPSHOT_SHARE / per_event) + 1  # events a tail may hold
    written = []
    with shared_backend.open() as store:
        store.commit([_next("i1", 0, 0)])
        assert store.load("i1") == (1, {"v": 1, "pad": "s" * 2000})
        for version in range(1, 4 * most):
            store.commit([_next("i1", version, version)])
            now, at = _state_version(shared_backend, "i1")
            assert now == version + 1
            assert now - at <= most
            written.append(at)
            loaded = store.load("i1")
            if at == now:
                assert loaded == (now, {"v": now, "pad": "s" * 2000})
            else:
                assert loaded == (
                    now,
                    Checkpoint(
                        {"v": at, "pad": "s" * 2000}, at, tuple(store.events("i1", after=at))
                    ),
                )
        assert 2 < len(set(written)) < len(written)  # now and then: neither never nor always
        last = written[-1]
    with shared_backend.open() as store:  # a handle that does not know the tail writes it
        version = _state_version(shared_backend, "i1")[0]
        store.commit([_next("i1", version, version)])
        assert _state_version(shared_backend, "i1") == (version + 1, version + 1)
        assert last < version + 1


def test_a_commit_that_fails_writes_no_snapshot_and_no_tail(shared_backend: Backend) -> None:
    with shared_backend.open() as store:
        store.commit([_next("i1", 0, 0)])
        store.commit([_next("i1", 1, 1)])
        store.commit([commit("i2")])
        before = (_state_version(shared_backend, "i1"), store.load("i1"))
        taken = TaskRow("t-i2", "i1", "s", (), None, (), None)  # i2's task id
        with pytest.raises(StoreError, match="already belongs"):
            store.commit([_next("i1", 2, 2)._replace(tasks=(taken,))])
        assert (_state_version(shared_backend, "i1"), store.load("i1")) == before
        store.commit([_next("i1", 2, 2)])  # what the store knows is still the truth
        assert _state_version(shared_backend, "i1")[0] == 3
        assert decode_plain(store.load("i1")) == (3, 3)


def decode_plain(loaded: tuple[int, Any]) -> tuple[int, int]:
    """(version, the ``v`` of the state the load gives, its events folded by counting)."""
    version, state = loaded
    if isinstance(state, Checkpoint):
        return version, state.state["v"] + len(state.events)
    return version, state["v"]


def _old_store(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> int:
    """A store at the schema before snapshots were written now and then, with instance
    i1 at version 2 and its open tasks t-a, t-b, as that schema's procflow wrote it."""
    module = backend.migrations
    old = len(module.MIGRATIONS) - 1
    with monkeypatch.context() as patch:
        patch.setattr(module, "MIGRATIONS", module.MIGRATIONS[:old])
        backend.open().close()
    assert backend.schema_version() == old
    sqlite = backend.name == "sqlite"
    backend.sql(
        "INSERT INTO instances (instance_id, process_id, definition_hash, status, version,"
        " started_at, state" + (", task_ids" if sqlite else "") + ") VALUES"
        " ('i1', 'SC-001', 'h1', 'running', 2, ?, '{\"v\":2}'" + (", ?" if sqlite else "") + ")",
        (AT, '["t-a","t-b"]') if sqlite else (AT,),
    )
    for seq in (1, 2):
        backend.sql("INSERT INTO events VALUES ('i1', ?, 'step', ?, NULL, '{}')", (seq, AT))
    for pos, task_id in enumerate(("t-a", "t-b")):
        roles: Any = '["pmm"]' if sqlite else ["pmm"]
        none: Any = "[]" if sqlite else []
        backend.sql(
            "INSERT INTO tasks (task_id, instance_id, pos, step_id, roles, assignee, candidates,"
            " due, opened, barred) VALUES (?, 'i1', ?, 's', ?, NULL, ?, NULL, '', ?)",
            (task_id, pos, roles, none, none),
        )
    return old


def test_a_store_of_the_schema_before_is_upgraded_with_current_snapshots(
    shared_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _old_store(shared_backend, monkeypatch)
    with shared_backend.open() as store:
        assert shared_backend.schema_version() == old + 1
        assert _state_version(shared_backend, "i1") == (2, 2)
        assert store.load("i1") == (2, {"v": 2})
        assert store.load_many(["i1"]) == {"i1": (2, {"v": 2})}
        assert [t.task_id for t in store.open_tasks(instance_id="i1")] == ["t-a", "t-b"]
        new = TaskRow("t-c", "i1", "s", ("pmm",), None, (), None)
        store.commit([commit("i1", 2)._replace(tasks=(new,))])
        assert [t.task_id for t in store.open_tasks(instance_id="i1")] == ["t-c"]
        assert store.task("t-a") is None
        assert store.load("i1") == (3, {"v": 3})


@pytest.mark.parametrize(
    ("damage", "value"),
    [
        ("UPDATE events SET data = ? WHERE instance_id = 'i1' AND seq = 3", "not json"),
        ("DELETE FROM events WHERE instance_id = 'i1' AND seq = ?", 3),
    ],
    ids=["junk", "missing"],
)
def test_a_damaged_event_after_the_snapshot_names_its_instance(
    shared_backend: Backend, damage: str, value: Any
) -> None:
    with shared_backend.open() as store:
        for version in range(3):
            store.commit([_next("i1", version, version)])
        store.commit([commit("i2")])
    assert _state_version(shared_backend, "i1") == (3, 1)  # events 2 and 3 after it
    shared_backend.sql(damage, (value,))
    with shared_backend.open() as store:
        with pytest.raises(DamagedRecord, match="'i1'") as caught:
            store.load("i1")
        assert caught.value.instance_id == "i1"
        assert store.load_many(["i1", "i2"]) == {"i2": (1, {"v": 1})}
