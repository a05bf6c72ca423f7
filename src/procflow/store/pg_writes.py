"""What one `Commit` writes to PostgreSQL: encoded before the transaction, applied in it.

Owns `encode` (a commit with every value encoded, before ``BEGIN``), `check`
(a command of several commits checks every version first) and `apply`
(writes one commit inside the caller's transaction):

- A new instance is ``INSERT … ON CONFLICT DO NOTHING``: nothing inserted is
  a `Conflict` (someone started it first).
- An existing instance's old rows are read first (one statement): its
  searchable values, and the open tasks the commit changes
  (`Commit.changes`; all of them, through the index on
  ``tasks.instance_id``, for a commit that gives the complete set only).
  Then its row is updated ``WHERE version = expected`` (no row: `Conflict`).
  The reads are those of that version: every commit moves the version on,
  and a version is written once, so when the update finds the row at
  ``expected`` nobody wrote in between.
- The snapshot is written into ``snapshots`` only when it is due
  (`base.Tail`, known by the store for the instances it wrote last); the
  events always.
- Tasks and timers: the changed ones are deleted and written again, the
  new ones inserted after the others (a commit without changes rewrites
  them all); the rows of ``task_keys`` and ``instance_search`` only where
  they differ, each set in one statement (``unnest`` of arrays).

Must not import anything from procflow but `errors`, `store.base` and `store.query`;
takes the psycopg connection from `store.postgres`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from psycopg import errors as pg_errors

from procflow.errors import Conflict
from procflow.store.base import (
    Commit,
    Tail,
    TaskRow,
    conflict_message,
    dumps,
    loads,
    new_task_ids,
    snapshot_of,
)
from procflow.store.query import KeyRow, key_rows

_INSERT_INSTANCE = (
    "INSERT INTO instances (instance_id, process_id, definition_hash, status, version,"
    " started_at, parent_id, started_by, search)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (instance_id) DO NOTHING"
)
_UPDATE_INSTANCE = (
    "UPDATE instances SET process_id = %s, definition_hash = %s, status = %s, version = %s,"
    " started_at = %s, parent_id = %s, started_by = %s, search = %s"
    " WHERE instance_id = %s AND version = %s"
)
# written now and then, after the instance row (`base.Tail`)
_PUT_SNAPSHOT = (
    "INSERT INTO snapshots (instance_id, state_version, state) VALUES (%s, %s, %s)"
    " ON CONFLICT (instance_id) DO UPDATE SET state_version = EXCLUDED.state_version,"
    " state = EXCLUDED.state"
)
_TASK_COLUMNS = (
    "t.task_id, t.pos, t.step_id, t.roles, t.assignee, t.candidates, t.due, t.opened, t.barred"
)
# the instance's version and searchable values, with its open tasks (one row each)
_OLD = (
    f"SELECT i.version, i.search, NULL, {_TASK_COLUMNS} FROM instances AS i"  # noqa: S608
    " LEFT JOIN tasks AS t ON t.instance_id = i.instance_id WHERE i.instance_id = %s"
)
# the same with only the tasks named, and the highest position (new tasks go after it)
_OLD_NAMED = (
    "SELECT i.version, i.search, (SELECT max(pos) FROM tasks WHERE instance_id = %s),"  # noqa: S608
    f" {_TASK_COLUMNS} FROM instances AS i LEFT JOIN tasks AS t"
    " ON t.instance_id = i.instance_id AND t.task_id = ANY(%s::text[]) WHERE i.instance_id = %s"
)
_INSERT_EVENT = (
    "INSERT INTO events (instance_id, seq, type, at, by, data) VALUES (%s, %s, %s, %s, %s, %s)"
)
_INSERT_TASK = (
    "INSERT INTO tasks (task_id, instance_id, pos, step_id, roles, assignee, candidates, due,"
    " opened, barred) VALUES (%s, %s, %s, %s, %s::text[], %s, %s::text[], %s, %s, %s::text[])"
)
_INSERT_TIMER = "INSERT INTO timers (instance_id, timer_id, fire_at) VALUES (%s, %s, %s)"
# a moved timer loses its claim (`PostgresStore.claim_due_timers`)
_SET_TIMER = (
    _INSERT_TIMER + " ON CONFLICT (instance_id, timer_id) DO UPDATE SET fire_at = EXCLUDED.fire_at,"
    " claimant = NULL, claimed_until = NULL"
)
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
    """A commit with every value encoded, before the transaction begins.

    Attributes:
        instance: The parameters of the INSERT or UPDATE.
        state: The snapshot's text, when it is due (None: not written).
        tasks: Rows to insert: every open task, or (``named``) the opened and changed ones,
            with ``pos`` None for the new (they go after the others).
        named: Tasks are given as changes: ids of the tasks to read and replace.
        timers: Rows to write; ``dropped_timers``: timer ids to delete (changes only).
        tail: The stored snapshot and the events after it, once the commit is written.
    """

    commit: Commit
    instance: tuple[Any, ...]
    state: str | None
    events: list[tuple[Any, ...]]
    tasks: list[tuple[Any, ...]]
    named: list[str] | None
    timers: list[tuple[Any, ...]]
    dropped_timers: list[str]
    keys: set[KeyRow]
    tail: Tail


class TaskTaken(Exception):
    """Inside a commit: a task id belongs to another instance (the message is made after)."""

    def __init__(self, commit: Commit) -> None:
        super().__init__(commit.instance_id)
        self.commit = commit


def _task_row(iid: str, pos: int | None, t: TaskRow) -> tuple[Any, ...]:
    return (t.task_id, iid, pos, t.step_id, list(t.roles), t.assignee, list(t.candidates), t.due,
            t.opened, list(t.barred))  # fmt: skip


def encode(c: Commit, tail: Tail | None) -> Encoded:
    """Encode ``c``, given the tail the store knows its instance to be at (None: unknown)."""
    iid, expected = c.instance_id, c.expected_version
    version = expected + len(c.events)
    events = [
        (iid, seq, e.type, e.at, e.by, as_json(e.data, what=f"{e.type!r} event data"))
        for seq, e in enumerate(c.events, expected + 1)
    ]
    text_state, tail = snapshot_of(c, events, tail, lambda v: as_json(v, what=f"state of {iid!r}"))
    search = as_json([list(pair) for pair in c.search], what="searchable values")
    summary = (c.process_id, c.definition_hash, c.status, version, c.started_at, c.parent_id,
               c.started_by, search)  # fmt: skip
    instance = (iid, *summary) if expected == 0 else (*summary, iid, expected)
    changes = c.changes if expected else None
    keys: set[KeyRow] = set()
    if changes is None:
        rows = tuple(c.tasks)
        tasks = [_task_row(iid, pos, t) for pos, t in enumerate(rows)]
        timers = [(iid, t.timer_id, t.fire_at) for t in c.timers]
        named, dropped = None, []
    else:
        rows = changes.tasks
        tasks = [_task_row(iid, None, t) for t in rows]
        timers = [(iid, t.timer_id, t.fire_at) for t in changes.timers]
        named = [*changes.dropped_tasks, *(t.task_id for t in rows)]
        dropped = list(changes.dropped_timers)
    for t in rows:
        keys |= key_rows(t, c.process_id)
    return Encoded(c, instance, text_state, events, tasks, named, timers, dropped,
                   keys, tail)  # fmt: skip


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
        if (ids := new_task_ids(c)) and conn.execute(
            "SELECT 1 FROM tasks WHERE task_id = ANY(%s::text[]) AND instance_id <> %s LIMIT 1",
            (ids, c.instance_id),
        ).fetchone():
            raise TaskTaken(c)


def _old(
    conn: Any, c: Commit, named: list[str] | None
) -> tuple[set[KeyRow], tuple[tuple[str, str], ...], dict[str, int], int]:
    """What is stored for ``c``'s instance at its expected version: the key rows of its
    open tasks (those ``named``, or all), its searchable values, the positions of those
    tasks, and the highest position of any (-1: none; only when ``named``).

    Raises:
        Conflict: The instance is not at that version.
    """
    iid = c.instance_id
    if named is None:
        rows = conn.execute(_OLD, (iid,)).fetchall()
    else:
        rows = conn.execute(_OLD_NAMED, (iid, named, iid)).fetchall()
    version = rows[0][0] if rows else 0
    if version != c.expected_version:
        raise Conflict(conflict_message(iid, version, c.expected_version))
    keys: set[KeyRow] = set()
    positions: dict[str, int] = {}
    for row in rows:
        if row[3] is not None:
            task_id, pos, step_id, roles, assignee, candidates, due, opened, barred = row[3:]
            t = TaskRow(task_id, iid, step_id, tuple(roles), assignee, tuple(candidates), due,
                        opened, tuple(barred))  # fmt: skip
            keys |= key_rows(t, c.process_id)
            positions[task_id] = pos
    try:
        search = tuple((str(f), str(v)) for f, v in loads(rows[0][1]))
    except (ValueError, TypeError):
        search = ()  # damaged: its rows stay until the store is reindexed
    last = -1 if rows[0][2] is None else rows[0][2]
    return keys, search, positions, last


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
    tasks = e.tasks
    if c.expected_version == 0:
        if conn.execute(_INSERT_INSTANCE, e.instance).rowcount != 1:
            raise _conflict(conn, c)
    else:
        old_keys, old_search, positions, last = _old(conn, c, e.named)
        if conn.execute(_UPDATE_INSTANCE, e.instance).rowcount != 1:
            raise _conflict(conn, c)
        if e.named is None:
            conn.execute("DELETE FROM tasks WHERE instance_id = %s", (iid,))
            conn.execute("DELETE FROM timers WHERE instance_id = %s", (iid,))
        else:
            tasks = _replace_named(conn, e, positions, last)
    if e.state is not None:
        conn.execute(_PUT_SNAPSHOT, (iid, e.tail.at, e.state))
    with conn.cursor() as cur:
        cur.executemany(_INSERT_EVENT, e.events)
        if tasks:
            try:
                cur.executemany(_INSERT_TASK, tasks)
            except pg_errors.UniqueViolation:
                raise TaskTaken(c) from None
        if e.timers:
            cur.executemany(_INSERT_TIMER if e.named is None else _SET_TIMER, e.timers)
    gone, new = old_keys - e.keys, e.keys - old_keys
    if gone:
        conn.execute(_DELETE_KEYS, [list(column) for column in zip(*gone, strict=True)][:3])
    if new:
        conn.execute(_INSERT_KEYS, [list(column) for column in zip(*new, strict=True)])
    _search(conn, c, old_search)


def _replace_named(conn: Any, e: Encoded, positions: dict[str, int], last: int) -> list[Any]:
    """Delete the stored rows of the tasks and timers ``e`` changes or drops; the task
    rows to insert, placed: a changed task keeps its place, new ones go after the others."""
    if positions:
        conn.execute("DELETE FROM tasks WHERE task_id = ANY(%s::text[])", (list(positions),))
    if e.dropped_timers:
        conn.execute(
            "DELETE FROM timers WHERE instance_id = %s AND timer_id = ANY(%s::text[])",
            (e.commit.instance_id, e.dropped_timers),
        )
    tasks = []
    for row in e.tasks:
        pos = positions.get(row[0])
        if pos is None:
            last += 1
            pos = last
        tasks.append((*row[:2], pos, *row[3:]))
    return tasks


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
