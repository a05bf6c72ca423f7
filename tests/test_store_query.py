"""Inbox and instance queries of every store (`Store.find_tasks`, `count_tasks`,
`find_instances`): the same answers as the reference (`store.query.task_matches`), pages
that neither skip nor repeat while others write, and the upgrade from the schema before."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procflow.store import MemoryStore, SQLiteStore, Store, TaskRow
from procflow.store.base import InstanceQuery, InstanceRow, TaskQuery
from procflow.store.query import (
    after_cursor,
    due_key,
    instance_matches,
    sort_key,
    task_matches,
)
from tests.conftest import Backend
from tests.test_store_contract import commit

AT = "2024-03-01T09:00:00+08:00"


def row(
    task_id: str,
    instance_id: str,
    *,
    step: str = "review",
    roles: tuple[str, ...] = ("pmm",),
    assignee: str | None = None,
    candidates: tuple[str, ...] = (),
    due: str | None = None,
    opened: str = AT,
    barred: tuple[str, ...] = (),
) -> TaskRow:
    return TaskRow(task_id, instance_id, step, roles, assignee, candidates, due, opened, barred)


def reference(store: Store, q: TaskQuery) -> list[TaskRow]:
    """What every store must answer: every open task filtered in Python, in order."""
    found = [
        t
        for i in store.instances()
        for t in store.open_tasks(instance_id=i.instance_id)
        if task_matches(t, i.process_id, q) and after_cursor(q, t)
    ]
    return sorted(found, key=lambda t: (sort_key(t, q.order), t.task_id))


def walk(store: Store, q: TaskQuery, size: int) -> list[TaskRow]:
    """Every task of ``q``, read a page of ``size`` at a time from the cursor."""
    out: list[TaskRow] = []
    while True:
        page = store.find_tasks(q, limit=size)
        out += page
        if len(page) < size:
            return out
        last = page[-1]
        q = q._replace(after=(sort_key(last, q.order), last.task_id))


# -- a readable example ------------------------------------------------------------------------


def _inbox_store(store: Store) -> None:
    store.commit([commit("i1", process_id="P", tasks=(
        row("i1.1", "i1", roles=("pmm",), due="2024-03-05T09:00:00+08:00"),
        row("i1.2", "i1", roles=("pmm", "gm"), due="2024-03-04T09:00:00+08:00"),
    ))])  # fmt: skip
    store.commit([commit("i2", process_id="P", started_at="2024-03-02T09:00:00+08:00", tasks=(
        row("i2.1", "i2", roles=("pmm",), assignee="bob"),
        row("i2.2", "i2", step="sign", roles=("gm",), candidates=("carol", "dave")),
        row("i2.3", "i2", step="sign", roles=("pmm",), barred=("alice",),
            due="2024-03-03T09:00:00+08:00"),
    ))])  # fmt: skip
    store.commit([commit("i3", process_id="Q", started_at="2024-03-03T09:00:00+08:00", tasks=(
        row("i3.1", "i3", step="draft", roles=("pmm",), opened="2024-02-01T09:00:00+08:00"),
    ))])  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the rule: candidate or assignee, else a role held; never when barred
        (TaskQuery(user="alice", roles=frozenset({"pmm"})), ["i1.2", "i1.1", "i3.1"]),
        (TaskQuery(user="bob", roles=frozenset()), ["i2.1"]),
        (
            TaskQuery(user="carol", roles=frozenset({"pmm"})),
            ["i2.3", "i1.2", "i1.1", "i2.2", "i3.1"],
        ),
        (
            TaskQuery(user="zed", roles=frozenset({"gm", "pmm"})),
            ["i2.3", "i1.2", "i1.1", "i3.1"],
        ),  # i1.2 once, though under two of zed's roles
        # filters
        (TaskQuery(role="gm"), ["i1.2", "i2.2"]),
        (
            TaskQuery(role="pmm", user="carol", roles=frozenset({"pmm"})),
            ["i2.3", "i1.2", "i1.1", "i3.1"],
        ),
        (TaskQuery(process_id="Q"), ["i3.1"]),
        (TaskQuery(step_id="sign"), ["i2.3", "i2.2"]),
        (TaskQuery(process_id="P", step_id="review"), ["i1.2", "i1.1", "i2.1"]),
        (TaskQuery(assignee="bob"), ["i2.1"]),
        (TaskQuery(assignee="bob", user="carol", roles=frozenset({"pmm"})), []),
        (TaskQuery(instance_id="i2", user="carol", roles=frozenset()), ["i2.2"]),
        (TaskQuery(due_by=due_key("2024-03-04T09:00:00+08:00")), ["i2.3", "i1.2"]),
        (TaskQuery(due_before=due_key("2024-03-04T09:00:00+08:00")), ["i2.3"]),
        (
            TaskQuery(not_due_by=due_key("2024-03-04T09:00:00+08:00"), process_id="P"),
            ["i1.1", "i2.1", "i2.2"],
        ),  # no due moment: never overdue
        (TaskQuery(order="opened", process_id="P", step_id="sign"), ["i2.2", "i2.3"]),
        (TaskQuery(order="opened"), ["i3.1", "i1.1", "i1.2", "i2.1", "i2.2", "i2.3"]),
        (TaskQuery(), ["i2.3", "i1.2", "i1.1", "i2.1", "i2.2", "i3.1"]),
        (TaskQuery(role="nobody"), []),
    ],
)
def test_queries_find_what_the_rule_admits(
    store: Store, query: TaskQuery, expected: list[str]
) -> None:
    _inbox_store(store)
    assert [t.task_id for t in store.find_tasks(query)] == expected
    assert [t.task_id for t in reference(store, query)] == expected
    assert store.count_tasks(query) == len(expected)
    assert [t.task_id for t in walk(store, query, 2)] == expected


def test_a_task_leaves_and_enters_the_keys_with_its_changes(backend: Backend) -> None:
    # two handles: the second one's commit is not known to the first (SQLite's fresh path)
    with backend.open() as one, backend.open() as other:
        store_of = [one, other if backend.shared else one]
        one.commit([commit("i1", tasks=(row("i1.1", "i1"),))])
        q = TaskQuery(user="bob", roles=frozenset({"pmm"}))
        assert [t.task_id for t in one.find_tasks(q)] == ["i1.1"]
        store_of[1].commit([commit("i1", 1, tasks=(row("i1.1", "i1", assignee="carol"),))])
        assert one.find_tasks(q) == [] and one.count_tasks(q) == 0
        assert one.count_tasks(TaskQuery(role="pmm")) == 1  # claimed, still a pmm task
        one.commit([commit("i1", 2, tasks=(row("i1.1", "i1", barred=("bob",)),))])
        assert one.find_tasks(q) == []
        one.commit([commit("i1", 3, tasks=(row("i1.1", "i1"), row("i1.2", "i1", step="x")))])
        assert [t.task_id for t in one.find_tasks(q)] == ["i1.1", "i1.2"]
        store_of[1].commit([commit("i1", 4, tasks=())])
        assert one.find_tasks(TaskQuery()) == [] and one.count_tasks(TaskQuery()) == 0
        if backend.name != "memory":
            assert backend.sql("SELECT count(*) FROM task_keys") == [(0,)]


def test_a_page_neither_skips_nor_repeats_while_others_write(store: Store) -> None:
    q = TaskQuery(role="pmm")
    for n in range(6):
        due = f"2024-03-1{n}T09:00:00+08:00"
        store.commit([commit(f"i{n}", tasks=(row(f"i{n}.1", f"i{n}", due=due),))])
    first = store.find_tasks(q, limit=3)
    assert [t.task_id for t in first] == ["i0.1", "i1.1", "i2.1"]
    # meanwhile: one before the cursor is done, one after it too, and two new ones come
    store.commit([commit("i1", 1, tasks=())])
    store.commit([commit("i4", 1, tasks=())])
    store.commit([commit("a", tasks=(row("a.1", "a", due="2024-03-01T09:00:00+08:00"),))])
    store.commit([commit("z", tasks=(row("z.1", "z", due="2024-03-19T09:00:00+08:00"),))])
    last = first[-1]
    rest = store.find_tasks(q._replace(after=(sort_key(last, "due"), last.task_id)), limit=10)
    assert [t.task_id for t in rest] == ["i3.1", "i5.1", "z.1"]


def test_instances_are_found_by_their_values_and_summary(store: Store) -> None:
    budget = (("proposal.budget", '"100"'),)
    store.commit([commit("i1", process_id="P", started_at="2024-03-01T09:00:00")._replace(
        started_by="li", search=budget)])  # fmt: skip
    store.commit([commit("i2", process_id="P", started_at="2024-03-02T09:00:00")._replace(
        started_by="wang", search=(*budget, ("proposal.kind", '"annual"')))])  # fmt: skip
    store.commit([commit("i3", process_id="Q", started_at="2024-03-03T09:00:00",
                         status="done")._replace(started_by="li", search=budget)])  # fmt: skip
    cases = [
        (InstanceQuery(where=budget), ["i1", "i2", "i3"]),
        (InstanceQuery(where=budget, process_id="P"), ["i1", "i2"]),
        (InstanceQuery(where=(*budget, ("proposal.kind", '"annual"'))), ["i2"]),
        (InstanceQuery(where=(("proposal.budget", '"7"'),)), []),
        (InstanceQuery(started_by="li"), ["i1", "i3"]),
        (InstanceQuery(process_id="P", status="running"), ["i1", "i2"]),
        (InstanceQuery(status="done"), ["i3"]),
        (InstanceQuery(started_after="2024-03-01T09:00:00"), ["i2", "i3"]),
        (InstanceQuery(after=("2024-03-02T09:00:00", "i2")), ["i3"]),
        (InstanceQuery(), ["i1", "i2", "i3"]),
    ]
    for query, expected in cases:
        assert [r.instance_id for r in store.find_instances(query)] == expected, query
        assert [r.instance_id for r in store.find_instances(query, limit=1)] == expected[:1]
    assert store.instance("i2").started_by == "wang"
    assert store.searchable("i2") == (*budget, ("proposal.kind", '"annual"'))
    store.commit([commit("i2", 1, process_id="P", started_at="2024-03-02T09:00:00")._replace(
        started_by="wang", search=(("proposal.budget", '"7"'),))])  # fmt: skip
    assert [r.instance_id for r in store.find_instances(InstanceQuery(where=budget))] == [
        "i1", "i3"
    ]  # fmt: skip


def test_every_handle_signs_cursors_with_one_key(shared_backend: Backend) -> None:
    with shared_backend.open() as one, shared_backend.open() as other:
        key = one.cursor_key()
        assert len(key) == 32
        assert other.cursor_key() == key
    with shared_backend.open() as again:
        assert again.cursor_key() == key  # kept in the store
    shared_backend.fresh()
    with shared_backend.open() as third:
        assert third.cursor_key() != key


# -- every store agrees with the reference ----------------------------------------------------

_users = st.sampled_from(["ann", "bob", "cy"])
_roles = st.lists(st.sampled_from(["pmm", "gm", "cto"]), max_size=2, unique=True).map(tuple)
_dues = st.sampled_from([None, "2024-03-01T09:00:00+08:00", "2024-03-02T01:00:00+00:00",
                         "2024-03-02T09:00:00+08:00", "2024-03-03T09:00:00+08:00"])  # fmt: skip
_tasks = st.tuples(
    st.sampled_from(["draft", "review"]),
    _roles,
    st.sampled_from([None, "ann", "bob"]),
    st.lists(_users, max_size=2, unique=True).map(tuple),
    _dues,
    st.sampled_from(["", "2024-03-01T08:00:00+08:00", "2024-03-01T09:00:00+08:00"]),
    st.lists(_users, max_size=1).map(tuple),
)
_history = st.lists(
    st.tuples(
        st.sampled_from(["i1", "i2", "i3", "i4"]),
        st.sampled_from(["P", "Q"]),
        st.lists(_tasks, max_size=3),
    ),
    min_size=1,
    max_size=10,
)
_queries = st.builds(
    TaskQuery,
    user=st.none() | _users,
    roles=st.frozensets(st.sampled_from(["pmm", "gm", "cto"])),
    role=st.none() | st.sampled_from(["pmm", "gm"]),
    process_id=st.none() | st.sampled_from(["P", "Q"]),
    step_id=st.none() | st.sampled_from(["draft", "review"]),
    instance_id=st.none() | st.sampled_from(["i1", "i2"]),
    assignee=st.none() | st.sampled_from(["ann", "bob"]),
    due_before=st.none() | st.sampled_from(["2024-03-02T01:00:00+00:00"]),
    due_by=st.none() | st.sampled_from(["2024-03-02T01:00:00+00:00"]),
    not_due_by=st.none() | st.sampled_from(["2024-03-01T01:00:00+00:00"]),
    order=st.sampled_from(["due", "opened"]),
    after=st.none()
    | st.tuples(
        st.sampled_from(["", "2024-03-01T01:00:00+00:00", "2024-03-02T01:00:00+00:00", "~"]),
        st.sampled_from(["i1.0", "i2.1"]),
    ),
)


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=_history, queries=st.lists(_queries, min_size=1, max_size=6))
def test_every_store_answers_as_the_reference(
    shared_backend: Backend, history: list[Any], queries: list[TaskQuery]
) -> None:
    shared_backend.fresh()
    # two handles on the store: the second writes every other commit, so that what the
    # first one remembers it wrote goes stale and its next commit must find out
    with shared_backend.open() as one, shared_backend.open() as other, MemoryStore() as mem:
        versions: dict[str, tuple[int, str]] = {}
        for n, (iid, process_id, specs) in enumerate(history):
            rows = tuple(
                row(f"{iid}.{k}", iid, step=s, roles=r, assignee=a, candidates=c, due=d,
                    opened=o, barred=b)
                for k, (s, r, a, c, d, o, b) in enumerate(specs)
            )  # fmt: skip
            version, pid = versions.get(iid, (0, process_id))
            c = commit(iid, version, tasks=rows, process_id=pid)
            mem.commit([c])
            (other if n % 2 else one).commit([c])
            versions[iid] = (version + 1, pid)
        for q in queries:
            expected = reference(mem, q)
            for store in (mem, one):
                assert store.find_tasks(q) == expected, q
                assert store.count_tasks(q) == len(reference(mem, q._replace(after=None))), q
                assert walk(store, q, 2) == expected, q
                assert store.find_tasks(q, limit=1) == expected[:1]


_pairs = st.lists(
    st.tuples(st.sampled_from(["d.a", "d.b"]), st.sampled_from(['"1"', "true"])),
    max_size=2,
    unique_by=lambda p: p[0],
).map(tuple)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    instances=st.lists(
        st.tuples(
            st.sampled_from(["P", "Q"]),
            st.sampled_from(["running", "completed"]),
            st.sampled_from([None, "ann", "bob"]),
            st.sampled_from(["2024-03-01T09:00:00", "2024-03-02T09:00:00"]),
            _pairs,
        ),
        max_size=8,
    ),
    query=st.builds(
        InstanceQuery,
        process_id=st.none() | st.sampled_from(["P", "Q"]),
        status=st.none() | st.sampled_from(["running", "completed"]),
        started_by=st.none() | st.sampled_from(["ann", "bob"]),
        started_after=st.none() | st.sampled_from(["2024-03-01T09:00:00"]),
        where=_pairs,
        after=st.none(),  # positions come from the pages walked below
    ),
)
def test_every_store_finds_instances_as_the_reference(
    shared_backend: Backend, instances: list[Any], query: InstanceQuery
) -> None:
    shared_backend.fresh()
    with shared_backend.open() as store:
        rows: list[tuple[InstanceRow, Any]] = []
        for n, (pid, status, by, at, search) in enumerate(instances):
            c = commit(f"i{n}", process_id=pid, status=status, started_at=at)
            store.commit([c._replace(started_by=by, search=search)])
            rows.append((store.instance(f"i{n}"), search))
        expected = sorted(
            (r for r, search in rows if instance_matches(r, search, query)),
            key=lambda r: (r.started_at, r.instance_id),
        )
        assert store.find_instances(query) == expected
        found: list[InstanceRow] = []
        q = query
        while page := store.find_instances(q, limit=2):
            found += page
            q = q._replace(after=(page[-1].started_at, page[-1].instance_id))
        assert found == expected


# -- upgrading from the schema before ----------------------------------------------------------


def _schema_4_file(path: Path) -> None:
    from procflow.store import migrations

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for migrate in migrations.MIGRATIONS[:4]:
        migrate(conn)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO instances (instance_id, process_id, definition_hash, status, version,"
        " started_at, parent_id, state, task_ids) VALUES"
        " ('i1', 'P', 'h1', 'running', 1, ?, NULL, '{}', '[\"i1.1\",\"i1.2\"]')",
        (AT,),
    )
    conn.execute("INSERT INTO events VALUES ('i1', 1, 'started', ?, 'li', '{}')", (AT,))
    conn.execute(
        "INSERT INTO tasks VALUES ('i1.1', 'i1', 0, 'review', '[\"pmm\"]', NULL, '[]',"
        " '2024-03-02T09:00:00+08:00'), ('i1.2', 'i1', 1, 'sign', '[\"gm\"]', 'bob', '[]', NULL)"
    )
    conn.execute("COMMIT")
    conn.close()


def test_a_schema_4_file_is_upgraded_with_its_tasks_in_the_inboxes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_4_file(path)
    with SQLiteStore(path) as store:
        assert [t.task_id for t in store.find_tasks(TaskQuery(user="ann", roles=frozenset({"pmm"})))
                ] == ["i1.1"]  # fmt: skip
        assert [t.task_id for t in store.find_tasks(TaskQuery(assignee="bob"))] == ["i1.2"]
        assert store.find_tasks(TaskQuery(order="opened"))[0].opened == ""  # opened before
        assert store.instance("i1").started_by == "li"
        assert store.find_instances(InstanceQuery(started_by="li"))[0].instance_id == "i1"
        store.commit([commit("i1", 1, process_id="P", tasks=(row("i1.3", "i1"),))])
        assert [t.task_id for t in store.find_tasks(TaskQuery())] == ["i1.3"]
        assert len(store.cursor_key()) == 32


def test_a_schema_1_postgres_store_is_upgraded_with_its_tasks_in_the_inboxes(
    pg_server: Any,
) -> None:
    import psycopg

    from procflow.store import pg_schema
    from procflow.store.postgres import PostgresStore

    url = pg_server.new_url()
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE procflow_schema (version integer PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")  # fmt: skip
        pg_schema.MIGRATIONS[0](conn)
        conn.execute("INSERT INTO procflow_schema (version) VALUES (1)")
        conn.execute(
            "INSERT INTO instances VALUES ('i1', 'P', 'h1', 'running', 1, %s, NULL, '{}')", (AT,)
        )
        conn.execute("INSERT INTO events VALUES ('i1', 1, 'started', %s, 'li', '{}')", (AT,))
        conn.execute(
            "INSERT INTO tasks VALUES ('i1.1', 'i1', 0, 'review', '{pmm}', NULL, '{}', NULL),"
            " ('i1.2', 'i1', 1, 'sign', '{gm}', 'bob', '{}', NULL)"
        )
    with PostgresStore(url) as store:
        inbox = store.find_tasks(TaskQuery(user="ann", roles=frozenset({"pmm"})))
        assert [t.task_id for t in inbox] == ["i1.1"]
        assert [t.task_id for t in store.find_tasks(TaskQuery(assignee="bob"))] == ["i1.2"]
        assert store.instance("i1").started_by == "li"
        store.commit([commit("i1", 1, process_id="P", tasks=(row("i1.3", "i1"),))])
        assert [t.task_id for t in store.find_tasks(TaskQuery())] == ["i1.3"]
        assert len(store.cursor_key()) == 32
    assert pg_server.execute("SELECT max(version) FROM procflow_schema", url=url) == [
        (len(pg_schema.MIGRATIONS),)
    ]
