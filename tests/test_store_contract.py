"""The `Store` contract, on every kind of store (`tests.conftest.BACKENDS`); and every
shared store agrees with `MemoryStore` on random histories."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procflow.errors import Conflict, InstanceNotFound, StoreError
from procflow.store import (
    Changes,
    Commit,
    DefinitionNotFound,
    MemoryStore,
    NewEvent,
    Store,
    TaskRow,
    TimerRow,
)
from tests.conftest import Backend

AT = "2024-03-01T09:00:00+08:00"


def task(
    task_id: str,
    instance_id: str = "i1",
    *,
    roles: tuple[str, ...] = ("pmm",),
    assignee: str | None = None,
    candidates: tuple[str, ...] = (),
    due: str | None = None,
) -> TaskRow:
    return TaskRow(task_id, instance_id, "review", roles, assignee, candidates, due)


def commit(
    instance_id: str = "i1",
    expected: int = 0,
    *,
    events: int = 1,
    state: dict[str, Any] | None = None,
    tasks: tuple[TaskRow, ...] = (),
    timers: tuple[TimerRow, ...] = (),
    status: str = "running",
    process_id: str = "SC-001",
    started_at: str = AT,
    parent_id: str | None = None,
) -> Commit:
    new = tuple(
        NewEvent("step", AT, "alice", {"n": expected + k + 1, "名": "值"}) for k in range(events)
    )
    return Commit(
        instance_id=instance_id,
        expected_version=expected,
        events=new,
        state={"v": expected + events} if state is None else state,
        process_id=process_id,
        definition_hash="h1",
        status=status,
        started_at=started_at,
        parent_id=parent_id,
        tasks=tasks,
        timers=timers,
    )


def snapshot(store: Store) -> Any:
    """Everything observable, to show that a failed call changed nothing."""
    rows = store.instances()
    return (
        rows,
        [store.load(r.instance_id) for r in rows],
        [store.events(r.instance_id) for r in rows],
        store.open_tasks(),
        store.due_timers("9999"),
    )


# -- round trip and versions ------------------------------------------------------------


def test_commit_load_events_round_trip(store: Store) -> None:
    state = {"proposal": {"budget": "1500.50", "title": "市場調研"}, "tags": ["a"], "x": None}
    assert store.commit([commit(events=2, state=state, parent_id="p0")]) is None
    assert store.load("i1") == (2, state)
    events = store.events("i1")
    assert [(e.instance_id, e.seq, e.type, e.at, e.by) for e in events] == [
        ("i1", 1, "step", AT, "alice"),
        ("i1", 2, "step", AT, "alice"),
    ]
    assert events[1].data == {"n": 2, "名": "值"}
    row = store.instance("i1")
    assert (row.process_id, row.definition_hash, row.status, row.version) == (
        "SC-001",
        "h1",
        "running",
        2,
    )
    assert (row.started_at, row.parent_id) == (AT, "p0")


def test_versions_count_events_and_seq_continues(store: Store) -> None:
    store.commit([commit(events=2)])
    store.commit([commit(expected=2, events=3, status="done")])
    assert store.load("i1")[0] == store.version("i1") == store.instance("i1").version == 5
    assert [e.seq for e in store.events("i1")] == [1, 2, 3, 4, 5]
    assert [e.seq for e in store.events("i1", after=3)] == [4, 5]
    assert store.events("i1", after=5) == []
    assert store.instance("i1").status == "done"


def test_returned_events_are_fresh_copies(store: Store) -> None:
    store.commit([commit(state={"list": [1]})])
    store.events("i1")[0].data["n"] = 99
    assert store.events("i1")[0].data["n"] == 1


@pytest.mark.parametrize("call", ["load", "events", "instance", "version"])
def test_missing_instance(store: Store, call: str) -> None:
    with pytest.raises(InstanceNotFound, match="nope"):
        getattr(store, call)("nope")
    with pytest.raises(LookupError):
        getattr(store, call)("nope")


# -- conflicts and atomicity -------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_id", "expected"),
    [("i1", 1), ("i1", 0), ("i1", 3), ("new", 1)],
    ids=["stale", "recreate", "future", "absent"],
)
def test_conflict_changes_nothing(store: Store, instance_id: str, expected: int) -> None:
    store.commit([commit(events=2, tasks=(task("t1"),), timers=(TimerRow("i1", "d", AT),))])
    before = snapshot(store)
    with pytest.raises(Conflict, match="expected"):
        store.commit([commit(instance_id, expected, tasks=(), timers=())], command_id="c1")
    assert snapshot(store) == before
    assert store.command_result("c1") is None


def test_multi_commit_is_all_or_nothing(store: Store) -> None:
    store.commit([commit("child", events=1)])
    before = snapshot(store)
    parent = commit("parent", tasks=(task("tp", "parent"),))
    stale_child = commit("child", expected=0, parent_id="parent")
    with pytest.raises(Conflict):
        store.commit([parent, stale_child], command_id="handoff", result={"ok": True})
    assert snapshot(store) == before
    assert store.command_result("handoff") is None
    store.commit([parent, commit("child", expected=1, parent_id="parent")], command_id="handoff")
    assert store.instance("parent").version == 1
    assert store.instance("child").version == 2
    assert store.instance("child").parent_id == "parent"


def test_command_id_makes_retries_idempotent(store: Store) -> None:
    assert store.commit([commit()], command_id="c1", result={"task": "t9", "名": 1}) is None
    assert store.command_result("c1") == {"task": "t9", "名": 1}
    before = snapshot(store)
    # A retry returns the first result, even though its expected version is now stale.
    assert store.commit([commit()], command_id="c1", result={"other": 1}) == {"task": "t9", "名": 1}
    assert snapshot(store) == before
    assert store.commit([commit(expected=1)], command_id="c2") is None
    assert store.command_result("c2") is None
    assert store.command_result("unknown") is None
    assert store.load("i1")[0] == 2


@pytest.mark.parametrize(
    ("commits", "message"),
    [
        ([], "at least one"),
        ([commit(events=0)], "no events"),
        ([commit(expected=-1)], "expects version"),
        ([commit(), commit()], "appears twice"),
        ([commit(tasks=(task("t1", "other"),))], "belongs to"),
        ([commit(tasks=(task("t1"), task("t1")))], "appears twice"),
        ([commit("a", tasks=(task("t1", "a"),)), commit("b", tasks=(task("t1", "b"),))], "twice"),
        ([commit(timers=(TimerRow("other", "d", AT),))], "belongs to"),
        ([commit(timers=(TimerRow("i1", "d", AT), TimerRow("i1", "d", AT)))], "twice"),
    ],
)
def test_malformed_commits_are_rejected(store: Store, commits: list[Commit], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.commit(commits)
    assert store.instances() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"state": {"x": object()}},
        {"state": {"x": float("nan")}},
        {"result": {"d": {1, 2}}},
        {"event": {"x": object()}},
        {"event": {"x": [float("-inf")]}},
    ],
    ids=["object", "nan", "set", "event-object", "event-infinity"],
)
def test_non_json_payload_is_rejected(store: Store, bad: dict[str, Any]) -> None:
    c = commit(state=bad.get("state"))
    if "event" in bad:
        c = c._replace(events=(*c.events, NewEvent("bad", AT, None, bad["event"])))
    with pytest.raises(TypeError, match="not JSON"):
        store.commit([c], command_id="c1", result=bad.get("result"))
    assert store.instances() == []
    assert store.command_result("c1") is None


# -- projections ------------------------------------------------------------------------


def test_tasks_are_replaced_per_instance(store: Store) -> None:
    store.commit([commit("i1", tasks=(task("t1"), task("t2")))])
    store.commit([commit("i2", tasks=(task("t3", "i2"),))])
    assert [t.task_id for t in store.open_tasks()] == ["t1", "t2", "t3"]
    claimed = task("t2", assignee="bob", candidates=("bob", "carol"), due="2024-03-04")
    store.commit([commit("i1", 1, tasks=(task("t4"), claimed))])
    assert store.open_tasks(instance_id="i1") == [task("t4"), claimed]
    assert store.open_tasks(instance_id="i2") == [task("t3", "i2")]
    assert store.open_tasks(instance_id="none") == []
    assert store.task("t1") is None
    assert store.task("t2") == claimed
    store.commit([commit("i1", 2)])
    assert [t.task_id for t in store.open_tasks()] == ["t3"]


def test_changes_give_the_same_projections_as_the_complete_sets(store: Store) -> None:
    """A commit may say what changed (`Commit.changes`); every store ends where the
    complete sets lead: a store that applies the changes, or one that reads the sets."""
    t1, t2, t3 = task("t1"), task("t2"), task("t3")
    timers = (TimerRow("i1", "t1:due", "2024-03-02T00:00"), TimerRow("i1", "t2:due", "2024-03-03"))
    store.commit([commit("i1", tasks=(t1, t2, t3), timers=timers)])
    claimed = task("t2", assignee="bob")
    t4 = task("t4", due="2024-03-09")
    after = (claimed, t3, t4)
    late = (TimerRow("i1", "t4:due", "2024-03-09T00:00"),)
    changes = Changes((claimed, t4), ("t1",), late, ("t1:due", "t2:due"))
    store.commit([commit("i1", 1, tasks=after, timers=late)._replace(changes=changes)])
    assert store.open_tasks(instance_id="i1") == [claimed, t3, t4]
    assert store.task("t1") is None and store.task("t4") == t4
    assert store.due_timers("9999") == list(late)
    assert store.counts()["tasks"] == 3 and store.counts()["timers"] == 1
    moved = (TimerRow("i1", "t4:due", "2024-03-01T00:00"),)  # a timer that moves earlier
    gone = Changes((), ("t3",), moved, ("t4:due",))
    store.commit([commit("i1", 2, tasks=(claimed, t4), timers=moved)._replace(changes=gone)])
    assert store.open_tasks(instance_id="i1") == [claimed, t4]
    assert store.due_timers("2024-03-01T12:00") == list(moved)
    assert store.counts()["timers"] == 1


def test_task_id_of_another_instance_is_refused(store: Store) -> None:
    store.commit([commit("i1", tasks=(task("t1"),))])
    before = snapshot(store)
    with pytest.raises(StoreError, match="t1"):
        store.commit([commit("i2", tasks=(task("t1", "i2"),))])
    assert snapshot(store) == before


INBOX = (
    task("open_pmm", roles=("pmm", "gm")),
    task("open_cto", roles=("cto",)),
    task("claimed_by_bob", roles=("pmm",), assignee="bob"),
    task("delegated_to_carol", roles=("pmm",), candidates=("carol",)),
    task("for_bob_or_dan", roles=("ka",), candidates=("bob", "dan")),
)


@pytest.mark.parametrize(
    ("user", "roles", "expected"),
    [
        (None, None, [t.task_id for t in INBOX]),
        ("alice", ["pmm"], ["open_pmm"]),
        ("alice", ["gm", "cto"], ["open_pmm", "open_cto"]),
        ("bob", ["pmm"], ["open_pmm", "claimed_by_bob", "for_bob_or_dan"]),
        ("bob", None, ["claimed_by_bob", "for_bob_or_dan"]),
        ("carol", [], ["delegated_to_carol"]),
        (None, ["cto"], ["open_cto"]),
        ("eve", ["nobody"], []),
    ],
)
def test_open_tasks_visible_to_user(
    store: Store, user: str | None, roles: list[str] | None, expected: list[str]
) -> None:
    store.commit([commit(tasks=INBOX)])
    assert [t.task_id for t in store.open_tasks(user=user, roles=roles)] == expected


def test_roles_must_not_be_a_bare_string(store: Store) -> None:
    with pytest.raises(TypeError, match="not the string"):
        store.open_tasks(roles="pmm")


def test_timers_are_replaced_and_due_in_order(store: Store) -> None:
    store.commit([commit("a", timers=(TimerRow("a", "late", "2024-03-05T00:00"),))])
    store.commit(
        [
            commit(
                "b",
                timers=(
                    TimerRow("b", "z", "2024-03-02T00:00"),
                    TimerRow("b", "y", "2024-03-02T00:00"),
                    TimerRow("b", "x", "2024-03-03T00:00"),
                ),
            )
        ]
    )
    due = store.due_timers("2024-03-03T00:00")
    assert [(t.instance_id, t.timer_id) for t in due] == [("b", "y"), ("b", "z"), ("b", "x")]
    assert store.due_timers("2024-03-01T23:59") == []
    store.commit([commit("b", 1, timers=(TimerRow("b", "w", "2024-03-01T00:00"),))])
    assert store.due_timers("2024-03-06") == [
        TimerRow("b", "w", "2024-03-01T00:00"),
        TimerRow("a", "late", "2024-03-05T00:00"),
    ]


def test_instances_filter_order_and_limit(store: Store) -> None:
    store.commit([commit("c", started_at="2024-01-02", process_id="P2")])
    store.commit([commit("b", started_at="2024-01-01", status="done")])
    store.commit([commit("a", started_at="2024-01-02")])
    assert [r.instance_id for r in store.instances()] == ["b", "a", "c"]
    assert [r.instance_id for r in store.instances(status="running")] == ["a", "c"]
    assert [r.instance_id for r in store.instances(process_id="SC-001")] == ["b", "a"]
    assert [r.instance_id for r in store.instances(status="done", process_id="P2")] == []
    assert [r.instance_id for r in store.instances(limit=2)] == ["b", "a"]
    assert store.instances(limit=0) == []
    with pytest.raises(ValueError, match="negative"):
        store.instances(limit=-1)


def test_definitions_keep_every_version(store: Store) -> None:
    store.put_definition("h2", "SC-001", "id: SC-001\n# v2\n")
    store.put_definition("h1", "SC-001", "id: SC-001\n")
    store.put_definition("h2", "SC-001", "id: SC-001\n# v2\n")  # idempotent
    store.put_definition("h3", "SC-002", "id: SC-002\n")
    assert store.definitions("SC-001") == ["h2", "h1"]
    assert store.definitions("none") == []
    assert store.definition("h1") == "id: SC-001\n"
    with pytest.raises(StoreError, match="other content"):
        store.put_definition("h1", "SC-001", "changed")
    with pytest.raises(DefinitionNotFound):
        store.definition("missing")
    with pytest.raises(LookupError):
        store.definition("missing")


# -- concurrency ------------------------------------------------------------------------


def test_racing_threads_exactly_one_wins(store: Store) -> None:
    rounds = 15
    for k in range(rounds):
        store.commit([commit(f"r{k}")])
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, str]] = []

    def racer(name: str) -> None:
        for k in range(rounds):
            barrier.wait(timeout=10)
            try:
                store.commit([commit(f"r{k}", 1, state={"winner": name})])
                outcomes.append((k, name))
            except Conflict:
                outcomes.append((k, "conflict"))

    threads = [threading.Thread(target=racer, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for k in range(rounds):
        names = [name for i, name in outcomes if i == k]
        assert sorted(names) in (["conflict", "x"], ["conflict", "y"])
        winner = next(name for name in names if name != "conflict")
        assert store.load(f"r{k}") == (2, {"winner": winner})


# -- both stores agree ------------------------------------------------------------------

_ids = st.sampled_from(["a", "b", "c"])
_task_rows = st.builds(
    lambda tid, roles, assignee, cands: task(tid, roles=roles, assignee=assignee, candidates=cands),
    st.sampled_from(["t1", "t2", "t3", "t4"]),
    st.lists(st.sampled_from(["pmm", "gm"]), max_size=2, unique=True).map(tuple),
    st.sampled_from([None, "bob"]),
    st.lists(st.sampled_from(["bob", "carol"]), max_size=2, unique=True).map(tuple),
)
_commit_specs = st.tuples(
    _ids,
    st.sampled_from([0, 0, 0, 0, -1, 1]),
    st.integers(1, 3),
    st.lists(_task_rows, max_size=3),
    st.lists(st.sampled_from(["2024-01-01", "2024-01-02", "2024-01-03"]), max_size=2),
    st.sampled_from(["running", "done"]),
)
_steps = st.lists(
    st.tuples(st.lists(_commit_specs, min_size=1, max_size=2), st.sampled_from([None, "x", "y"])),
    max_size=12,
)


def _apply(store: Store, step: Any, versions: dict[str, int]) -> Any:
    specs, command_id = step
    commits = []
    for iid, delta, n, tasks, fires, status in specs:
        commits.append(
            commit(
                iid,
                max(0, versions.get(iid, 0) + delta),
                events=n,
                tasks=tuple(
                    TaskRow(t.task_id, iid, t.step_id, t.roles, t.assignee, t.candidates, t.due)
                    for t in tasks
                ),
                timers=tuple(TimerRow(iid, f"d{k}", f) for k, f in enumerate(fires)),
                status=status,
            )
        )
    try:
        return store.commit(commits, command_id=command_id, result={"step": repr(step)})
    except (StoreError, ValueError) as exc:
        return type(exc).__name__


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    # the test makes a fresh store for each example (`Backend.fresh`)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=_steps)
def test_every_store_agrees_with_memory(shared_backend: Backend, steps: list[Any]) -> None:
    shared_backend.fresh()
    mem = MemoryStore(strict=True)
    # a second handle on the same store writes every third step: each handle's memory of
    # what it last wrote (SQLite writes only changes) goes stale, and must be noticed
    with mem, shared_backend.open() as one, shared_backend.open() as other:
        for i, step in enumerate(steps):
            versions = {r.instance_id: r.version for r in mem.instances()}
            writer = other if i % 3 == 2 else one
            assert _apply(mem, step, versions) == _apply(writer, step, versions)
            assert mem.open_tasks() == one.open_tasks() == other.open_tasks()
        assert snapshot(mem) == snapshot(one) == snapshot(other)
        for user, roles in [("bob", None), ("carol", ["gm"]), (None, ["pmm"])]:
            assert mem.open_tasks(user=user, roles=roles) == one.open_tasks(user=user, roles=roles)
        assert mem.due_timers("2024-01-02") == one.due_timers("2024-01-02")
        assert [mem.command_result(c) for c in "xy"] == [one.command_result(c) for c in "xy"]
        assert mem.stored_commands() == one.stored_commands()
        assert mem.counts() == one.counts()
