"""What one `Commit` writes to PostgreSQL: encoded before the transaction, applied in it.

Owns `encode` (a commit with every value encoded, before ``BEGIN``), `check`
(a command of several commits checks every version first) and `apply`
(writes one commit inside the caller's transaction):

- A new instance is ``INSERT … ON CONFLICT DO NOTHING``: nothing inserted is
  a `Conflict` (someone started it first).
- An existing instance's old open tasks and searchable values are read
  first (one statement, through the index on ``tasks.instance_id``), then
  its row is updated ``WHERE version = expected`` (no row: `Conflict`). The
  reads are those of that version: every commit moves the version on, and a
  version is written once, so when the update finds the row at ``expected``
  nobody wrote in between.
- Its tasks and timers are rewritten; the rows of ``task_keys`` and
  ``instance_search`` only where they differ, each set in one statement
  (``unnest`` of arrays).

Must not import anything from procflow but `errors`, `store.base` and `store.query`;
takes the psycopg connection from `store.postgres`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from psycopg import errors as pg_errors

from procflow.errors import Conflict
from procflow.store.base import Commit, TaskRow, conflict_message, dumps, loads, state_json
from procflow.store.query import KeyRow, key_rows

_INSERT_INSTANCE = (
    "INSERT INTO instances (instance_id, process_id, definition_hash, status, version,"
    " started_at, parent_id, started_by, search, state)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (instance_id) DO NOTHING"
)
_UPDATE_INSTANCE = (
    "UPDATE instances SET process_id = %s, definition_hash = %s, status = %s, version = %s,"
    " started_at = %s, parent_id = %s, started_by = %s, search = %s, state = %s"
    " WHERE instance_id = %s AND version = %s"
)
# the instance's version and searchable values, with its open tasks (one row each)
_OLD = (
    "SELECT i.version, i.search, t.task_id, t.step_id, t.roles, t.assignee, t.candidates,"
    " t.due, t.opened, t.barred FROM instances AS i LEFT JOIN tasks AS t"
    " ON t.instance_id = i.instance_id WHERE i.instance_id = %s"
)
_INSERT_EVENT = (
    "INSERT INTO events (instance_id, seq, type, at, by, data) VALUES (%s, %s, %s, %s, %s, %s)"
)
_INSERT_TASK = (
    "INSERT INTO tasks (task_id, instance_id, pos, step_id, roles, assignee, candidates, due,"
    " opened, barred) VALUES (%s, %s, %s, %s, %s::text[], %s, %s::text[], %s, %s, %s::text[])"
)
_INSERT_TIMER = "INSERT INTO timers (instance_id, timer_id, fire_at) VALUES (%s, %s, %s)"
_DELETE_KEYS = (
    "DELETE FROM task_keys WHERE (key, due, task_id) IN"
    " (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))"
)
_INSERT_KEYS = (
    "INSERT INTO task_keys (key, due, task_id, opened, process_id, step_id)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
)
_DELETE_SEARCH = (
    "DELETE FROM instance_search WHERE (field, value, started_at, instance_id) IN"
    " (SELECT f, v, %s, %s FROM unnest(%s::text[], %s::text[]) AS u(f, v))"
)
_INSERT_SEARCH = (
    "INSERT INTO instance_search (field, value, started_at, instance_id, process_id)"
    " SELECT f, v, %s, %s, %s FROM unnest(%s::text[], %s::text[]) AS u(f, v)"
)


def text(json_text: str) -> str:
    """JSON text PostgreSQL can hold: a raw NUL (only ever inside a string) as ``\\u0000``."""
    return json_text.replace("\x00", "\\u0000") if "\x00" in json_text else json_text


def as_json(value: Any, *, what: str) -> str:
    return text(dumps(value, what=what))


class Encoded(NamedTuple):
    """A commit with every value encoded, before the transaction begins."""

    commit: Commit
    instance: tuple[Any, ...]
    events: list[tuple[Any, ...]]
    tasks: list[tuple[Any, ...]]
    timers: list[tuple[Any, ...]]
    keys: set[KeyRow]


class TaskTaken(Exception):
    """Inside a commit: a task id belongs to another instance (the message is made after)."""

    def __init__(self, commit: Commit) -> None:
        super().__init__(commit.instance_id)
        self.commit = commit


def encode(c: Commit) -> Encoded:
    iid, expected = c.instance_id, c.expected_version
    version = expected + len(c.events)
    state = as_json(state_json(c.state), what=f"state of {iid!r}")
    search = as_json([list(pair) for pair in c.search], what="searchable values")
    summary = (c.process_id, c.definition_hash, c.status, version, c.started_at, c.parent_id,
               c.started_by, search, state)  # fmt: skip
    instance = (iid, *summary) if expected == 0 else (*summary, iid, expected)
    events = [
        (iid, seq, e.type, e.at, e.by, as_json(e.data, what=f"{e.type!r} event data"))
        for seq, e in enumerate(c.events, expected + 1)
    ]
    tasks = [
        (t.task_id, iid, pos, t.step_id, list(t.roles), t.assignee, list(t.candidates), t.due,
         t.opened, list(t.barred))
        for pos, t in enumerate(c.tasks)
    ]  # fmt: skip
    timers = [(iid, t.timer_id, t.fire_at) for t in c.timers]
    keys: set[KeyRow] = set()
    for t in c.tasks:
        keys |= key_rows(t, c.process_id)
    return Encoded(c, instance, events, tasks, timers, keys)


def check(conn: Any, commits: Sequence[Commit]) -> None:
    """For a command of several commits: lock the rows in id order, then check each
    commit in the order given (as `MemoryStore` does), before anything is written."""
    ids = sorted(c.instance_id for c in commits)
    versions = dict(
        conn.execute(
            "SELECT instance_id, version FROM instances WHERE instance_id = ANY(%s::text[])"
            " ORDER BY instance_id FOR UPDATE",
            (ids,),
        ).fetchall()
    )
    for c in commits:
        version = versions.get(c.instance_id, 0)
        if version != c.expected_version:
            raise Conflict(conflict_message(c.instance_id, version, c.expected_version))
        if (
            c.tasks
            and conn.execute(
                "SELECT 1 FROM tasks WHERE task_id = ANY(%s::text[]) AND instance_id <> %s LIMIT 1",
                ([t.task_id for t in c.tasks], c.instance_id),
            ).fetchone()
        ):
            raise TaskTaken(c)


def _old(conn: Any, c: Commit) -> tuple[set[KeyRow], tuple[tuple[str, str], ...]]:
    """The key rows and searchable values stored for ``c``'s instance at its expected version.

    Raises:
        Conflict: The instance is not at that version.
    """
    rows = conn.execute(_OLD, (c.instance_id,)).fetchall()
    version = rows[0][0] if rows else 0
    if version != c.expected_version:
        raise Conflict(conflict_message(c.instance_id, version, c.expected_version))
    keys: set[KeyRow] = set()
    for row in rows:
        if row[2] is not None:
            task_id, step_id, roles, assignee, candidates, due, opened, barred = row[2:]
            t = TaskRow(task_id, c.instance_id, step_id, tuple(roles), assignee,
                        tuple(candidates), due, opened, tuple(barred))  # fmt: skip
            keys |= key_rows(t, c.process_id)
    try:
        search = tuple((str(f), str(v)) for f, v in loads(rows[0][1]))
    except (ValueError, TypeError):
        search = ()  # damaged: its rows stay until the store is reindexed
    return keys, search


def apply(conn: Any, e: Encoded) -> None:
    """Write one encoded commit inside the caller's transaction.

    Raises:
        Conflict: The instance is not at the expected version.
        TaskTaken: A task id belongs to another instance.
    """
    c = e.commit
    iid = c.instance_id
    old_keys: set[KeyRow] = set()
    old_search: tuple[tuple[str, str], ...] = ()
    if c.expected_version == 0:
        if conn.execute(_INSERT_INSTANCE, e.instance).rowcount != 1:
            raise _conflict(conn, c)
    else:
        old_keys, old_search = _old(conn, c)
        if conn.execute(_UPDATE_INSTANCE, e.instance).rowcount != 1:
            raise _conflict(conn, c)
        conn.execute("DELETE FROM tasks WHERE instance_id = %s", (iid,))
        conn.execute("DELETE FROM timers WHERE instance_id = %s", (iid,))
    with conn.cursor() as cur:
        cur.executemany(_INSERT_EVENT, e.events)
        if e.tasks:
            try:
                cur.executemany(_INSERT_TASK, e.tasks)
            except pg_errors.UniqueViolation:
                raise TaskTaken(c) from None
        if e.timers:
            cur.executemany(_INSERT_TIMER, e.timers)
    gone, new = old_keys - e.keys, e.keys - old_keys
    if gone:
        conn.execute(_DELETE_KEYS, [list(column) for column in zip(*gone, strict=True)][:3])
    if new:
        conn.execute(_INSERT_KEYS, [list(column) for column in zip(*new, strict=True)])
    _search(conn, c, old_search)


def _search(conn: Any, c: Commit, old: tuple[tuple[str, str], ...]) -> None:
    if old == c.search:
        return
    where = (c.started_at, c.instance_id)
    gone = [pair for pair in old if pair not in c.search]
    added = [pair for pair in c.search if pair not in old]
    if gone:
        conn.execute(_DELETE_SEARCH, (*where, [f for f, _ in gone], [v for _, v in gone]))
    if added:
        conn.execute(
            _INSERT_SEARCH,
            (*where, c.process_id, [f for f, _ in added], [v for _, v in added]),
        )


def _conflict(conn: Any, c: Commit) -> Conflict:
    found = conn.execute(
        "SELECT version FROM instances WHERE instance_id = %s", (c.instance_id,)
    ).fetchone()
    version = 0 if found is None else found[0]
    return Conflict(conflict_message(c.instance_id, version, c.expected_version))
