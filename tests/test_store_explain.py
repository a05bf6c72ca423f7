"""Every query shape of the inbox and instance listings reads an index: the plans of SQLite
(``EXPLAIN QUERY PLAN``) and PostgreSQL (``EXPLAIN``, after ``ANALYZE``) over a store of
32,000 instances never scan ``tasks``, ``task_keys``, ``instances`` or ``instance_search``
whole, and SQLite never sorts inside an arm (an index gives its order)."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from procflow.store import finding
from procflow.store.base import InstanceQuery, TaskQuery
from procflow.store.finding import Statement
from procflow.store.query import plan
from procflow.store.relational import _LOAD, _STATES, RelationalStore
from tests.conftest import Backend
from tests.test_store_contract import commit
from tests.test_store_query import row

pytestmark = pytest.mark.slow  # each test loads thousands of instances first

TABLES = ("tasks", "task_keys", "instances", "instance_search", "events", "snapshots")
ROLES = [f"role{n}" for n in range(12)]
NOW = "2024-03-05T01:00:00+00:00"

TASK_SHAPES = {
    "inbox": TaskQuery(user="u7", roles=frozenset({"role1", "role2"})),
    "inbox, barred": TaskQuery(user="u3", roles=frozenset({"role3"})),
    "inbox by opening": TaskQuery(user="u7", roles=frozenset({"role1"}), order="opened"),
    "inbox, next page": TaskQuery(
        user="u7", roles=frozenset({"role1"}), after=("2024-03-02T00:00:00+00:00", "i1.1")
    ),
    "inbox of a process and step": TaskQuery(
        user="u7", roles=frozenset({"role1"}), process_id="P1", step_id="s2"
    ),
    "inbox of a role": TaskQuery(user="u7", roles=frozenset({"role1", "role2"}), role="role2"),
    "inbox, overdue": TaskQuery(user="u7", roles=frozenset({"role1"}), due_by=NOW),
    "inbox, not overdue": TaskQuery(user="u7", roles=frozenset({"role1"}), not_due_by=NOW),
    "inbox, due before": TaskQuery(user="u7", roles=frozenset({"role1"}), due_before=NOW),
    "a role's tasks": TaskQuery(role="role4"),
    "assigned": TaskQuery(assignee="u5"),
    "assigned, seen by another": TaskQuery(assignee="u5", user="u6", roles=frozenset()),
    "a step": TaskQuery(process_id="P2", step_id="s1"),
    "a step of any process": TaskQuery(step_id="s1"),
    "a process": TaskQuery(process_id="P3", order="opened"),
    "everything overdue": TaskQuery(due_by=NOW),
    "everything": TaskQuery(),
    "one instance": TaskQuery(instance_id="i17", user="u7", roles=frozenset({"role1"})),
}

INSTANCE_SHAPES = {
    "all": InstanceQuery(),
    "a process": InstanceQuery(process_id="P1"),
    "a process, running": InstanceQuery(process_id="P1", status="running"),
    "running": InstanceQuery(status="running"),
    "started by": InstanceQuery(started_by="u3", status="running"),
    "started after": InstanceQuery(started_after="2024-03-03T00:00:00"),
    "next page": InstanceQuery(process_id="P1", after=("2024-03-02T00:00:00", "i99")),
    "a value": InstanceQuery(where=(("d.budget", '"7"'),)),
    "two values": InstanceQuery(where=(("d.budget", '"7"'), ("d.kind", '"a"')), process_id="P1"),
}


def _fill(store: Any, instances: int = 3000) -> None:
    """Instances with one or two tasks each, spread over roles, users, steps and moments."""
    batch = []
    for n in range(instances):
        iid = f"i{n}"
        day = 1 + n % 9
        tasks = [
            row(f"{iid}.1", iid, step=f"s{n % 5}", roles=(ROLES[n % len(ROLES)],),
                due=f"2024-03-0{day}T09:00:00+08:00", opened=f"2024-02-0{day}T09:00:00+08:00",
                barred=("u3",) if n % 50 == 0 else ()),
        ]  # fmt: skip
        if n % 7 == 0:
            tasks.append(row(f"{iid}.2", iid, step="s9", assignee=f"u{n % 40}"))
        if n % 11 == 0:
            tasks.append(row(f"{iid}.3", iid, step="s8", candidates=(f"u{n % 40}", "u7")))
        c = commit(iid, process_id=f"P{n % 4}", started_at=f"2024-03-0{day}T09:00:00",
                   status="running" if n % 3 else "completed", tasks=tuple(tasks))  # fmt: skip
        search = (("d.budget", f'"{n % 100}"'), ("d.kind", '"a"'))
        batch.append(c._replace(started_by=f"u{n % 40}", search=search))
        if len(batch) == 500:
            store.commit(batch)
            batch = []
    if batch:
        store.commit(batch)


def _task_statements(store: RelationalStore, q: TaskQuery) -> list[Statement]:
    """The statements `find_tasks` and `count_tasks` run for ``q``."""
    dialect = store._dialect()
    p = plan(q)
    found = []
    if p.discover is not None:
        found.append(finding.discover(dialect, p.discover))
    if q.instance_id is not None:
        return found  # one instance's tasks: `open_tasks`, checked below
    arms = store._arms(q)
    assert arms, q
    found.append(finding.find_tasks(dialect, q, arms, barred=q.user == "u3", limit=51))
    found.append(finding.count_tasks(dialect, q, arms, barred=q.user == "u3"))
    if q.user is not None:
        found.append(Statement(finding.barred_probe(dialect), {"barred": "b:" + q.user}))
    return found


def _sqlite_plan(backend: Backend, statement: Statement) -> list[tuple[int, int, str]]:
    """(id, parent id, detail) of each node of SQLite's plan."""
    rows = backend.sql(f"EXPLAIN QUERY PLAN {statement.sql}", statement.params)
    return [(r[0], r[1], r[3]) for r in rows]


def _sorts_inside_an_arm(nodes: list[tuple[int, int, str]]) -> list[str]:
    """Sorts SQLite makes inside an arm (``a<n>``, or ``m`` when it is the only arm): an arm
    must come in its index's order. The merge of several arms, and the page's last ORDER BY
    over its few rows, may sort."""
    parent = {i: p for i, p, _ in nodes}
    detail = {i: d for i, _, d in nodes}
    merged = any(d == "CO-ROUTINE u" for _, _, d in nodes)
    bad = []
    for i, _, d in nodes:
        if "TEMP B-TREE FOR ORDER BY" not in d:
            continue
        up = parent[i]
        while up:
            name = detail[up].split()[-1]
            if re.fullmatch(r"a\d+", name) or (name == "m" and not merged):
                bad.append(f"{d} in {detail[up]}")
            up = parent.get(up, 0)
    return bad


def _plan(backend: Backend, statement: Statement) -> list[str]:
    if backend.name == "sqlite":
        return [d for _, _, d in _sqlite_plan(backend, statement)]
    # PostgreSQL: psycopg's named placeholders. With sequential scans priced out, one shows
    # only where no index can serve the query: at 32,000 rows the planner's choice between
    # an index and a scan of a narrow table followed ANALYZE's sample, and varied by run.
    with psycopg.connect(backend.url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        rows = conn.execute(f"EXPLAIN {statement.sql}", statement.params).fetchall()
    return [r[0] for r in rows]


def _full_scans(backend: Backend, lines: list[str]) -> list[str]:
    names = "|".join(TABLES)
    if backend.name == "sqlite":
        # "SCAN t" reads the whole table; "SCAN i USING INDEX x" walks a whole index (allowed
        # only where the index's order is the answer's and a LIMIT stops it: checked apart)
        aliases = r"(?:k|t|i|s|f|s\d|" + names + r")"
        return [line for line in lines if re.match(rf"SCAN {aliases}\b(?! USING)", line)]
    return [line for line in lines if re.search(rf"Seq Scan on ({names})\b", line)]


_COPIES = {  # table -> its columns, the ids among them made unique in each copy
    "instances": ("instance_id, process_id, definition_hash, status, version, started_at,"
                  " parent_id, started_by, search", ("instance_id",)),
    "snapshots": ("instance_id, state_version, state", ("instance_id",)),
    "tasks": ("task_id, instance_id, pos, step_id, roles, assignee, candidates, due, opened,"
              " barred", ("task_id", "instance_id")),
    "task_keys": ("key, due, task_id, opened, process_id, step_id", ("task_id",)),
    "instance_search": ("field, value, started_at, instance_id, process_id", ("instance_id",)),
}  # fmt: skip


def _multiply(backend: Backend, times: int) -> None:
    """Copies of every row under new ids, written by SQL: production sizes for the planner
    in a second (the copies' contents matter to no answer, only to the statistics)."""
    for table, (columns, ids) in _COPIES.items():
        picked = ", ".join(
            f"{c} || '-' || g.n" if c in ids else c for c in (c.strip() for c in columns.split(","))
        )
        series = "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %d)"
        series %= times
        copy = f"INSERT INTO {table} ({columns}) SELECT {picked} FROM {table}, g"  # noqa: S608
        backend.sql(f"{series} {copy}")


@pytest.fixture
def filled(shared_backend: Backend) -> Backend:
    with shared_backend.open() as store:
        _fill(store, 2000)
    _multiply(shared_backend, 15)  # 32,000 instances
    shared_backend.sql("ANALYZE")  # the planners see the store's real sizes
    return shared_backend


def test_every_task_query_reads_an_index(filled: Backend) -> None:
    with filled.open() as store:
        assert isinstance(store, RelationalStore)
        for name, q in TASK_SHAPES.items():
            for statement in _task_statements(store, q):
                lines = _plan(filled, statement)
                assert not _full_scans(filled, lines), (name, statement.sql, lines)
                if filled.name == "sqlite":
                    assert any("USING" in line for line in lines), (name, lines)
                    nodes = _sqlite_plan(filled, statement)
                    assert not _sorts_inside_an_arm(nodes), (name, nodes)
                else:
                    assert any("Index" in line for line in lines), (name, lines)


def test_every_instance_query_reads_an_index(filled: Backend) -> None:
    with filled.open() as store:
        assert isinstance(store, RelationalStore)
        dialect = store._dialect()
        for name, q in INSTANCE_SHAPES.items():
            statement = finding.find_instances(dialect, q, limit=51)
            lines = _plan(filled, statement)
            assert not _full_scans(filled, lines), (name, lines)
            if filled.name == "sqlite":
                assert not any("TEMP B-TREE" in line for line in lines), (name, lines)
                assert any("INDEX" in line for line in lines), (name, lines)
            else:  # (PostgreSQL may sort the few rows it expects from a bitmap scan)
                assert any("Index" in line for line in lines), (name, lines)


def test_the_reads_of_one_task_instance_and_page_use_keys(filled: Backend) -> None:
    params: Any
    shapes = [
        (_LOAD, ("i5",)),
        (
            f"SELECT i.instance_id, i.version, s.state FROM {_STATES}"  # noqa: S608
            " WHERE i.instance_id IN (?, ?, ?)",
            ("i1", "i2", "i3"),
        ),
        ("SELECT task_id FROM tasks WHERE task_id = ?", ("i5.1",)),
        # a cold load's tail of events, and one instance's tasks in order (schema 6)
        ("SELECT seq, data FROM events WHERE instance_id = ? AND seq > ? AND seq <= ?"
         " ORDER BY seq", ("i5", 1, 3)),
        ("SELECT task_id FROM tasks WHERE instance_id = ? ORDER BY pos", ("i5",)),
    ]  # fmt: skip
    for written, params in shapes:
        sql = written.replace("?", "%s") if filled.name == "postgres" else written
        lines = _plan(filled, Statement(sql, params))  # type: ignore[arg-type]
        assert not _full_scans(filled, lines), (sql, lines)
