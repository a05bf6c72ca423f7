"""The SQL of the inbox and instance queries, one builder for SQLite and PostgreSQL.

Owns `Dialect` (what differs between the two: placeholders, forcing an
index) and the statements of
`Store.find_tasks`, `Store.count_tasks` and `Store.find_instances` for a
plan of `store.query`:

- **Tasks.** Each arm walks one key of ``task_keys`` in the query's order
  from the cursor (``(sort, task_id) > (…)`` on the index), checks the
  residual filters on the key row (process, step, due moment) or, for a role
  or a user the arm does not imply, by probing the task's other keys (the
  same due moment and task id under ``q:<role>``/``r:<role>``, or
  ``a:<user>``/``c:<user>``: a primary-key lookup), leaves out the tasks the
  user is barred from (a probe under ``b:<user>``), and stops at the limit.
  No arm reads a task row. The arms are merged with ``UNION`` (a task under two keys
  counts once), ordered, and cut to the limit again; the task rows are read
  for the page only.
- **A process's steps, or all.** The step keys present are found by a loose
  index scan (a recursive query that seeks the next key after each one), so
  that reading them costs one seek per step, not one row per task.
- **Instances.** One index drives: the searchable value (``instance_search``)
  when ``where`` is given, else the instance index whose columns the equality
  filters fill, always then ``started_at`` and id, so that the order and the
  cursor come from the index too.

Must not import anything from procflow but `store.query` and `store.rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from procflow.store.query import Arm, InstanceQuery, TaskQuery

TASK_COLUMNS = (
    "t.task_id, t.instance_id, t.step_id, t.roles, t.assignee, t.candidates, t.due, t.opened,"
    " t.barred"
)
"""The columns of a `TaskRow`, as the stores read them."""

INSTANCE_COLUMNS = (
    "i.instance_id, i.process_id, i.definition_hash, i.status, i.version, i.started_at,"
    " i.parent_id, i.started_by"
)
"""The columns of an `InstanceRow`."""


class Dialect(NamedTuple):
    """What differs between the SQL of two stores.

    Attributes:
        param: A named parameter's placeholder.
        indexed: The clause that makes the named index drive a query ("" to leave it
            to the planner).
    """

    param: Callable[[str], str]
    indexed: Callable[[str], str]


class Statement(NamedTuple):
    sql: str
    params: dict[str, Any]


def prefix_end(prefix: str) -> str:
    """The least text after every text that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def discover(d: Dialect, prefix: str) -> Statement:
    """The step keys that start with ``prefix``: one index seek each (a loose index scan)."""
    lo, hi = d.param("lo"), d.param("hi")
    sql = (
        "WITH RECURSIVE found(key) AS ("
        f" SELECT (SELECT min(key) FROM task_keys WHERE key > {lo} AND key < {hi})"
        " UNION ALL"
        f" SELECT (SELECT min(k.key) FROM task_keys AS k WHERE k.key > found.key AND k.key < {hi})"
        " FROM found WHERE found.key IS NOT NULL"
        ") SELECT key FROM found WHERE key IS NOT NULL"
    )
    return Statement(sql, {"lo": prefix, "hi": prefix_end(prefix)})


def barred_probe(d: Dialect) -> str:
    """Whether the user is barred from any task at all (then arms must leave those out)."""
    # min() over the key's index: one seek (an unsorted LIMIT 1 may be planned as a scan)
    return f"SELECT min(due) FROM task_keys WHERE key = {d.param('barred')}"


def _arm(
    d: Dialect, q: TaskQuery, arm: Arm, i: int, params: dict[str, Any], *, barred: bool,
    page: bool, limit: int | None, select: str = "k.task_id",
) -> str:  # fmt: skip
    sort = "k.due" if q.order == "due" else "k.opened"
    p = d.param
    params[f"k{i}"] = arm.key
    where = [f"k.key = {p(f'k{i}')}"]
    if page and q.after is not None:
        where.append(f"({sort}, k.task_id) > ({p('after_sort')}, {p('after_id')})")
    for name, op in (("due_before", "<"), ("due_by", "<="), ("not_due_by", ">")):
        if getattr(q, name) is not None:
            where.append(f"k.due {op} {p(name)}")
    if arm.process:
        if q.process_id is not None:
            where.append(f"k.process_id = {p('process_id')}")
        if q.step_id is not None:
            where.append(f"k.step_id = {p('step_id')}")
    # the other filters on the task are probes of its other keys: the same (due, task id)
    # under another key is a primary-key lookup, and no arm reads a task row
    if arm.role:
        where.append(_filed(p("role_q"), p("role_r")))
    if arm.visible:
        where.append(_filed(p("user_a"), p("user_c")))
    if barred:
        where.append(f"NOT {_filed(p('barred'))}")
    tables = "task_keys AS k"
    if not page:
        return f"SELECT {select} FROM {tables} WHERE {' AND '.join(where)}"
    cut = "" if limit is None else f" LIMIT {p('limit')}"
    return (
        f"SELECT {sort} AS sort, k.task_id AS task_id FROM {tables}"
        f" WHERE {' AND '.join(where)} ORDER BY {sort}, k.task_id{cut}"
    )


def _filed(*keys: str) -> str:
    """SQL: the task of the key row ``k`` is also filed under one of ``keys``."""
    where = f"f.key = {keys[0]}" if len(keys) == 1 else f"f.key IN ({', '.join(keys)})"
    return (
        f"EXISTS (SELECT 1 FROM task_keys AS f WHERE {where}"
        " AND f.due = k.due AND f.task_id = k.task_id)"
    )


def _params(q: TaskQuery, limit: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "process_id": q.process_id, "step_id": q.step_id, "role": q.role, "user": q.user,
        "due_before": q.due_before, "due_by": q.due_by, "not_due_by": q.not_due_by,
        "barred": None if q.user is None else "b:" + q.user, "limit": limit,
        "role_q": None if q.role is None else "q:" + q.role,
        "role_r": None if q.role is None else "r:" + q.role,
        "user_a": None if q.user is None else "a:" + q.user,
        "user_c": None if q.user is None else "c:" + q.user,
    }  # fmt: skip
    if q.after is not None:
        params["after_sort"], params["after_id"] = q.after
    return params


def find_tasks(
    d: Dialect, q: TaskQuery, arms: tuple[Arm, ...], *, barred: bool, limit: int | None
) -> Statement:
    """The page: the task rows of the first ``limit`` tasks of the arms, in order."""
    params = _params(q, limit)
    parts = [_arm(d, q, a, i, params, barred=barred, page=True, limit=limit)
             for i, a in enumerate(arms)]  # fmt: skip
    cut = "" if limit is None else f" LIMIT {d.param('limit')}"
    if len(parts) == 1:
        merged = parts[0]
    else:  # the page of the merged arms first: only its tasks are read
        union = " UNION ".join(f"SELECT * FROM ({part}) AS a{i}" for i, part in enumerate(parts))
        merged = f"SELECT * FROM ({union}) AS u ORDER BY sort, task_id{cut}"
    sql = (
        f"SELECT {TASK_COLUMNS} FROM ({merged}) AS m JOIN tasks AS t ON t.task_id = m.task_id"
        " ORDER BY m.sort, m.task_id"
    )
    return Statement(sql, params)


def count_tasks(d: Dialect, q: TaskQuery, arms: tuple[Arm, ...], *, barred: bool) -> Statement:
    """How many tasks the arms hold, each once."""
    params = _params(q, None)
    if len(arms) == 1:
        select = "count(*)"
        return Statement(_arm(d, q, arms[0], 0, params, barred=barred, page=False, limit=None,
                              select=select), params)  # fmt: skip
    parts = [_arm(d, q, a, i, params, barred=barred, page=False, limit=None)
             for i, a in enumerate(arms)]  # fmt: skip
    return Statement(f"SELECT count(*) FROM ({' UNION '.join(parts)}) AS m", params)


_INSTANCE_INDEXES = (
    (("process_id", "status"), "instances_by_process_status"),
    (("started_by",), "instances_by_starter"),
    (("process_id",), "instances_by_process"),
    (("status",), "instances_by_status"),
    ((), "instances_by_start"),
)
"""The instance index a query's equality filters pick, most specific first."""


def find_instances(d: Dialect, q: InstanceQuery, *, limit: int | None) -> Statement:
    """The instances of ``q`` in order, from the index its filters fill."""
    p = d.param
    params: dict[str, Any] = {
        "process_id": q.process_id, "status": q.status, "started_by": q.started_by,
        "started_after": q.started_after, "limit": limit,
    }  # fmt: skip
    if q.after is not None:
        params["after_at"], params["after_id"] = q.after
    given = {name for name in ("process_id", "status", "started_by") if params[name] is not None}
    where: list[str] = []
    if q.where:
        driver, rest = "s", given  # the searchable value drives; the others are checked
        (params["f0"], params["v0"]), extra = q.where[0], q.where[1:]
        source = "instance_search AS s JOIN instances AS i ON i.instance_id = s.instance_id"
        where += [f"s.field = {p('f0')}", f"s.value = {p('v0')}"]
        for n, (name, value) in enumerate(extra, 1):
            params[f"f{n}"], params[f"v{n}"] = name, value
            where.append(
                f"EXISTS (SELECT 1 FROM instance_search AS s{n} WHERE s{n}.field = {p(f'f{n}')}"
                f" AND s{n}.value = {p(f'v{n}')} AND s{n}.started_at = s.started_at"
                f" AND s{n}.instance_id = s.instance_id)"
            )
    else:
        driver = "i"
        columns, index = next((c, i) for c, i in _INSTANCE_INDEXES if set(c) <= given)
        rest = given
        source = "instances AS i" + d.indexed(index)
        del columns
    where += [f"i.{name} = {p(name)}" for name in sorted(rest)]
    if q.started_after is not None:
        where.append(f"{driver}.started_at > {p('started_after')}")
    if q.after is not None:
        where.append(
            f"({driver}.started_at, {driver}.instance_id) > ({p('after_at')}, {p('after_id')})"
        )
    cut = "" if limit is None else f" LIMIT {p('limit')}"
    sql = (
        f"SELECT {INSTANCE_COLUMNS} FROM {source}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {driver}.started_at, {driver}.instance_id{cut}"
    )
    return Statement(sql, params)
