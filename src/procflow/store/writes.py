"""What one `Commit` writes to SQLite: worked out before the write lock, applied under it.

Owns `Known` (what a store last wrote for an instance), `plan` (a commit
turned into statements and parameters, every value encoded) and `apply` (runs
a plan inside the caller's transaction). Planning does all the Python work a
commit needs, so the write lock is held only while SQLite works.

A plan writes what changed, not everything, so that a command costs what it
changes, not what the instance holds. When the store knows what it last
wrote for the instance and the instance is still at that version:

- the events are inserted, and the snapshot is written only when it is due
  (`store.base.Tail`), into ``snapshots``: its ``state`` is of version
  ``state_version``, and the events after it make the rest (`Checkpoint`);
- only the changed columns of ``instances`` are updated;
- the tasks and timers are written from what the commit says changed
  (`Commit.changes`: tasks opened, changed and closed), checked against
  the rows last written, never by going over every open task; a commit
  without changes (a small instance) is compared with those rows.

Every page a transaction touches is written to the WAL, so fewer rows and
B-trees make a cheaper commit. Without that knowledge (another writer came
between, the store was just opened) the plan clears the instance's tasks
and timers and writes them anew, and writes the snapshot.

The projections for queries follow the tasks: each task's rows in
``task_keys`` (`store.query.task_keys`) are inserted and deleted with it (a
changed task writes only the key rows that differ), and the instance's
searchable values (`Commit.search`) in ``instance_search`` when they change.

Must not import anything from procflow but `errors`, `store.base` and `store.query`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Set
from typing import Any, NamedTuple

from immutables import Map

from procflow.errors import Conflict, StoreError
from procflow.store.base import (
    Changes,
    Commit,
    Tail,
    TaskRow,
    conflict_message,
    dumps,
    new_task_ids,
    snapshot_of,
)
from procflow.store.query import KeyRow, key_rows

Stored = tuple[int, TaskRow, Set[KeyRow]]
"""A task as last written: its pos, its row and its ``task_keys`` rows."""

Tasks = Map[str, Stored]
"""Task id -> (pos, row, key rows): persistent, so that a plan changes a few entries of a
large instance's map without copying it, and the map before stays as it was."""


class Known(NamedTuple):
    """What a store last wrote for an instance, so that the next commit writes only changes.

    It is the truth for ``version`` only: each version of an instance is
    written once, by one commit, so when the row is still at ``version`` (the
    update's ``WHERE version = ?`` says so, under the write lock), its tasks,
    timers and snapshot are these.
    """

    version: int
    summary: tuple[Any, ...]
    """process_id, definition_hash, status, started_at, parent_id, started_by."""
    tasks: Tasks
    timers: Map[str, str]
    """Timer id -> fire_at."""
    search: tuple[tuple[str, str], ...]
    """The searchable values (`Commit.search`)."""
    tail: Tail
    """The stored snapshot and the events after it."""
    last: int
    """The highest ``pos`` given to a task of the instance (-1: none)."""


Writes = list[tuple[str, list[tuple[Any, ...]]]]
"""Statements for ``executemany``, each with its rows of parameters."""


class Plan(NamedTuple):
    """The statements of one commit, every parameter encoded.

    Attributes:
        instance: The INSERT (a new instance) or the UPDATE with the version check.
        fresh: The store did not know the stored rows: clear the old tasks, their
            keys, the timers and the searchable values before writing (an
            existing instance only).
        writes: ``executemany`` statements for tasks and timers, in order.
        known: What the store knows once the plan is committed.
    """

    commit: Commit
    instance: tuple[str, tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    fresh: bool
    writes: Writes
    known: Known


_SUMMARY = ("process_id", "definition_hash", "status", "started_at", "parent_id", "started_by")
_INSERT_INSTANCE = (
    "INSERT INTO instances (process_id, definition_hash, status, started_at, parent_id,"
    " started_by, version, search, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# written now and then, after the instance row (`base.Tail`)
_PUT_SNAPSHOT = (
    "INSERT INTO snapshots (instance_id, state_version, state) VALUES (?, ?, ?)"
    " ON CONFLICT (instance_id) DO UPDATE SET state_version = excluded.state_version,"
    " state = excluded.state"
)
_INSERT_EVENTS = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_TASK = (
    "INSERT INTO tasks (task_id, instance_id, pos, step_id, roles, assignee, candidates, due,"
    " opened, barred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_TASK = (
    "UPDATE tasks SET step_id = ?, roles = ?, assignee = ?, candidates = ?, due = ?,"
    " opened = ?, barred = ? WHERE task_id = ?"
)
_INSERT_KEY = (
    "INSERT INTO task_keys (key, due, task_id, opened, process_id, step_id)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_DELETE_KEY = "DELETE FROM task_keys WHERE key = ? AND due = ? AND task_id = ?"
_INSERT_SEARCH = (
    "INSERT INTO instance_search (field, value, started_at, instance_id, process_id)"
    " VALUES (?, ?, ?, ?, ?)"
)
_DELETE_SEARCH = (
    "DELETE FROM instance_search WHERE field = ? AND value = ? AND started_at = ?"
    " AND instance_id = ?"
)
# what a fresh plan clears: the old tasks (for their keys) and searchable values
_OLD_TASKS = (
    "SELECT t.task_id, t.step_id, t.roles, t.assignee, t.candidates, t.due, t.opened, t.barred,"
    " i.process_id FROM instances AS i JOIN tasks AS t ON t.instance_id = i.instance_id"
    " WHERE i.instance_id = ?"
)
_OLD_SEARCH = "SELECT search, started_at FROM instances WHERE instance_id = ?"
_DELETE_TASK = "DELETE FROM tasks WHERE task_id = ?"
_INSERT_TIMER = "INSERT INTO timers (instance_id, timer_id, fire_at) VALUES (?, ?, ?)"
# replacing a row drops its claim (`SQLiteStore.claim_due_timers`): the timer moved
_REPLACE_TIMER = "INSERT OR REPLACE INTO timers (instance_id, timer_id, fire_at) VALUES (?, ?, ?)"
_DELETE_TIMER = "DELETE FROM timers WHERE instance_id = ? AND timer_id = ?"
_CLEAR_TASKS = "DELETE FROM tasks WHERE instance_id = ?"
_CLEAR_TIMERS = "DELETE FROM timers WHERE instance_id = ?"
_TAKEN = (
    "SELECT task_id, instance_id FROM tasks WHERE instance_id != ?"
    " AND task_id IN (SELECT value FROM json_each(?)) ORDER BY task_id LIMIT 1"
)
_VERSION = "SELECT version FROM instances WHERE instance_id = ?"


# Only the columns that change, so that the other columns' indexes are left alone;
# keyed by (summary columns set, whether search is set).
_UPDATES: dict[tuple[tuple[str, ...], bool], str] = {}


def _update(changed: tuple[str, ...], search: bool) -> str:
    sql = _UPDATES.get((changed, search))
    if sql is None:
        columns = [*changed, "version"] + ["search"] * search
        sets = ", ".join(f"{c} = ?" for c in columns)
        sql = _UPDATES[changed, search] = (
            f"UPDATE instances SET {sets} WHERE instance_id = ? AND version = ?"  # noqa: S608
        )
    return sql


_LISTS: dict[tuple[str, ...], str] = {(): "[]"}
"""Roles and candidates as JSON: a process has few distinct ones (bounded cache)."""


def json_list(values: tuple[str, ...], *, what: str) -> str:
    """A tuple of text as a JSON array, cached: roles and candidates repeat."""
    try:
        text = _LISTS.get(values)
    except TypeError:  # not hashable, so not text either: dumps says what is wrong
        text = None
    if text is None:
        text = dumps(list(values), what=what)
        if len(_LISTS) < 1024 and all(type(v) is str for v in values):
            _LISTS[values] = text
    return text


def _task_params(iid: str, pos: int, t: TaskRow) -> tuple[Any, ...]:
    return (t.task_id, iid, pos, t.step_id, json_list(t.roles, what="a task's roles"),
            t.assignee, json_list(t.candidates, what="a task's candidates"), t.due, t.opened,
            json_list(t.barred, what="a task's barred users"))  # fmt: skip


class _Keys:
    """The ``task_keys`` rows a plan deletes and inserts."""

    __slots__ = ("gone", "new", "process_id")

    def __init__(self, process_id: str) -> None:
        self.process_id = process_id
        self.gone: set[KeyRow] = set()
        self.new: set[KeyRow] = set()

    def remove(self, rows: Set[KeyRow]) -> None:
        """Delete a task's key rows as last written (`Stored`)."""
        self.gone |= rows

    def add(self, t: TaskRow) -> Set[KeyRow]:
        """Insert a task's key rows; return them, to be kept with the task."""
        rows = key_rows(t, self.process_id)
        self.new |= rows
        return rows

    def write(self, writes: Writes) -> None:
        """Deletes first: a changed task may keep a key row's primary key."""
        gone, new = self.gone - self.new, self.new - self.gone
        if gone:
            writes.append((_DELETE_KEY, [r[:3] for r in sorted(gone)]))
        if new:
            writes.append((_INSERT_KEY, sorted(new)))


def _only_status_differs(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    return old[:2] == new[:2] and old[3:] == new[3:]


def plan(c: Commit, known: Known | None) -> Plan:
    """Encode ``c`` and choose its statements, given what the store last wrote (``known``).

    Raises:
        TypeError: A payload is not JSON.
    """
    iid = c.instance_id
    expected = c.expected_version
    version = expected + len(c.events)
    events = _event_rows(iid, expected, c)
    summary = (c.process_id, c.definition_hash, c.status, c.started_at, c.parent_id, c.started_by)
    if known is not None and known.version != expected:
        known = None  # another writer came between: rewrite everything
    state, tail = snapshot_of(
        c,
        events,
        None if known is None else known.tail,
        lambda v: dumps(v, what=f"state of {iid!r}"),
    )
    writes: Writes = [] if state is None else [(_PUT_SNAPSHOT, [(iid, tail.at, state)])]
    keys = _Keys(c.process_id)
    changes = c.changes
    made = None
    if known is not None and changes is not None and known.summary[0] == c.process_id:
        made = _plan_changes(writes, keys, iid, changes, known)
    if made is None:  # (`_plan_changes` adds nothing when it gives up)
        keys = _Keys(c.process_id)
        tasks, last = _plan_tasks(writes, keys, iid, new=tuple(c.tasks), known=known)
        timers = _plan_timers(writes, c, None if known is None else known.timers)
    else:
        tasks, last, timers = made
    keys.write(writes)
    search = _plan_search(writes, c, None if known is None else known.search)
    instance: tuple[str, tuple[Any, ...]]  # one shape for both branches
    if expected == 0:
        instance = (_INSERT_INSTANCE, (*summary, version, search or "[]", iid))
    else:
        changed: tuple[str, ...]
        params: tuple[Any, ...]
        if known is not None and known.summary == summary:
            changed, params = (), ()
        elif known is not None and _only_status_differs(known.summary, summary):
            changed, params = ("status",), (c.status,)
        else:
            changed, params = _SUMMARY, summary
        tail_params = (version,) if search is None else (version, search)
        instance = (_update(changed, search is not None), (*params, *tail_params, iid, expected))
    return Plan(c, instance, events, known is None and expected > 0, writes,
                Known(version, summary, tasks, timers, c.search, tail, last))  # fmt: skip


def _event_rows(iid: str, expected: int, c: Commit) -> list[tuple[Any, ...]]:
    """The rows of ``c``'s events, their data encoded (the event named only on an error)."""
    try:
        return [(iid, seq, e.type, e.at, e.by, dumps(e.data, what="event data"))
                for seq, e in enumerate(c.events, expected + 1)]  # fmt: skip
    except TypeError:
        for e in c.events:
            dumps(e.data, what=f"{e.type!r} event data")  # raises, naming the event
        raise


def _by_pos(item: tuple[str, Stored]) -> int:
    return item[1][0]


def _plan_tasks(
    writes: Writes, keys: _Keys, iid: str, *, new: tuple[TaskRow, ...], known: Known | None
) -> tuple[Tasks, int]:
    """Add the statements that make the stored open tasks ``new``; return them by id, and
    the highest position given.

    With the rows last written (``known``), only what differs is written:
    tasks that left are deleted, new ones inserted after the others, changed
    ones updated, and so are their key rows (into ``keys``). Without them, or
    when the order changed, the set is rewritten (`apply` clears the old one
    first when it was not known). For commits without `Commit.changes`:
    compares every task.
    """
    if known is not None:
        old = dict(sorted(known.tasks.items(), key=_by_pos) if len(known.tasks) > 1
                   else known.tasks.items())  # fmt: skip
        kept = [t.task_id for t in new if t.task_id in old]
        n = len(kept)
        kept_set = set(kept)
        # incremental when the tasks kept come first, in their stored order
        if all(t.task_id in old for t in new[:n]) and kept == [k for k in old if k in kept_set]:
            return _plan_kept_tasks(writes, keys, iid, new=new, old=old, kept_set=kept_set,
                                    last=known.last)  # fmt: skip
        writes.append((_DELETE_TASK, [(k,) for k in old]))
        for _, _, rows in old.values():
            keys.remove(rows)
    if new:
        writes.append((_INSERT_TASK, [_task_params(iid, p, t) for p, t in enumerate(new)]))
    return Map({t.task_id: (p, t, keys.add(t)) for p, t in enumerate(new)}), len(new) - 1


def _plan_kept_tasks(
    writes: Writes,
    keys: _Keys,
    iid: str,
    *,
    new: tuple[TaskRow, ...],
    old: dict[str, Stored],
    kept_set: set[str],
    last: int,
) -> tuple[Tasks, int]:
    """`_plan_tasks` when the tasks kept come first in ``new``, in their stored order:
    delete those that left, update the changed, insert the new ones after the others."""
    n = len(kept_set)
    if n < len(old):
        writes.append((_DELETE_TASK, [(k,) for k in old if k not in kept_set]))
        for k, (_, _, rows) in old.items():
            if k not in kept_set:
                keys.remove(rows)
    out: dict[str, Stored] = {}
    changed = []
    for t in new[:n]:
        found = old[t.task_id]
        if found[1] != t:
            pos = found[0]
            changed.append((*_task_params(iid, pos, t)[3:], t.task_id))
            keys.remove(found[2])
            found = (pos, t, keys.add(t))
        out[t.task_id] = found
    if changed:
        writes.append((_UPDATE_TASK, changed))
    added = []
    for t in new[n:]:
        last += 1
        out[t.task_id] = (last, t, keys.add(t))
        added.append(_task_params(iid, last, t))
    if added:
        writes.append((_INSERT_TASK, added))
    return Map(out), last


def _plan_changes(
    writes: Writes, keys: _Keys, iid: str, changes: Changes, known: Known
) -> tuple[Tasks, int, Map[str, str]] | None:
    """Add the statements that apply ``changes`` to the tasks and timers last written
    (``known``), reading only the tasks they name; return the tasks, the highest position
    and the timers. None, adding no statement, when they do not fit those rows (then
    the caller compares the complete sets instead)."""
    tasks = known.tasks.mutate()
    last = known.last
    gone = []
    for task_id in changes.dropped_tasks:
        found = tasks.get(task_id)
        if found is None:
            return None
        del tasks[task_id]
        gone.append((task_id,))
        keys.remove(found[2])
    changed = []
    added = []
    for t in changes.tasks:
        found = tasks.get(t.task_id)
        if found is None:
            last += 1
            tasks[t.task_id] = (last, t, keys.add(t))
            added.append(_task_params(iid, last, t))
        elif found[1] != t:
            keys.remove(found[2])
            tasks[t.task_id] = (found[0], t, keys.add(t))
            changed.append((*_task_params(iid, found[0], t)[3:], t.task_id))
    if gone:
        writes.append((_DELETE_TASK, gone))
    if changed:
        writes.append((_UPDATE_TASK, changed))
    if added:
        writes.append((_INSERT_TASK, added))
    return tasks.finish(), last, _plan_timer_changes(writes, iid, changes, known.timers)


def _plan_timer_changes(
    writes: Writes, iid: str, changes: Changes, old: Map[str, str]
) -> Map[str, str]:
    """Add the statements that apply ``changes`` to the timers last written (``old``)."""
    if not changes.timers and not changes.dropped_timers:
        return old
    timers = old.mutate()
    gone = []
    for timer_id in changes.dropped_timers:
        if timer_id in timers:
            del timers[timer_id]
            gone.append((iid, timer_id))
    moved = []
    for t in changes.timers:
        if timers.get(t.timer_id) != t.fire_at:
            timers[t.timer_id] = t.fire_at
            moved.append((iid, t.timer_id, t.fire_at))
    if gone:
        writes.append((_DELETE_TIMER, gone))
    if moved:
        writes.append((_REPLACE_TIMER, moved))
    return timers.finish()


def _plan_search(writes: Writes, c: Commit, old: tuple[tuple[str, str], ...] | None) -> str | None:
    """Add the statements that make the stored searchable values ``c.search``; their JSON
    for the instance row when it changes (None: unchanged)."""
    new = c.search
    if old is not None and old == new:
        return None
    gone = [] if old is None else [pair for pair in old if pair not in new]
    added = new if old is None else tuple(pair for pair in new if pair not in old)
    tail = (c.started_at, c.instance_id)
    if gone:
        writes.append((_DELETE_SEARCH, [(*pair, *tail) for pair in gone]))
    if added:
        writes.append((_INSERT_SEARCH, [(*pair, *tail, c.process_id) for pair in added]))
    return dumps([list(pair) for pair in new], what="searchable values")


def _plan_timers(writes: Writes, c: Commit, old: Map[str, str] | None) -> Map[str, str]:
    """Add the statements that make the stored timers ``c.timers`` (only what differs)."""
    iid = c.instance_id
    timers = c.timers
    if not timers and old is not None and not old:
        return old  # none before, none now
    new = {t.timer_id: t.fire_at for t in timers}
    if old is None:
        if new:
            writes.append((_INSERT_TIMER, [(iid, k, v) for k, v in new.items()]))
    elif len(old) != len(new) or any(old.get(k) != v for k, v in new.items()):
        gone = [(iid, k) for k in old if k not in new]
        if gone:
            writes.append((_DELETE_TIMER, gone))
        changed = [(iid, k, v) for k, v in new.items() if old.get(k) != v]
        if changed:
            writes.append((_REPLACE_TIMER, changed))
    return Map(new)


def check(cur: sqlite3.Cursor, c: Commit) -> None:
    """Raise what applying ``c`` would raise (version, task ids), changing nothing.

    For commands of several commits, which check everything before changing anything.
    """
    found = cur.execute(_VERSION, (c.instance_id,)).fetchone()
    version: int = 0 if found is None else found[0]
    if version != c.expected_version:
        raise Conflict(conflict_message(c.instance_id, version, c.expected_version))
    if new_task_ids(c):
        taken = _taken(cur, c)
        if taken is not None:
            raise taken


def apply(cur: sqlite3.Cursor, p: Plan) -> None:
    """Run ``p`` inside the caller's write transaction, on its cursor (one for all the
    statements of a commit: a cursor made for each costs more than some statements).

    Raises:
        Conflict: The instance is not at the expected version.
        StoreError: A task id belongs to another instance.
        sqlite3.Error: SQLite failed.
    """
    c = p.commit
    iid = c.instance_id
    sql, params = p.instance
    if c.expected_version == 0:
        try:
            cur.execute(sql, params)
        except sqlite3.IntegrityError:
            if cur.execute(_VERSION, (iid,)).fetchone() is None:
                raise  # not a second start: some other constraint
            raise _conflict(cur, c) from None
    else:
        if p.fresh:
            _clear(cur, iid)
        if cur.execute(sql, params).rowcount != 1:
            raise _conflict(cur, c)
    cur.executemany(_INSERT_EVENTS, p.events)
    for sql, rows in p.writes:
        try:
            cur.executemany(sql, rows)
        except sqlite3.IntegrityError:
            taken = _taken(cur, c) if sql == _INSERT_TASK else None
            if taken is None:
                raise  # not a task id of another instance: some other constraint
            raise taken from None


def _clear(cur: sqlite3.Cursor, iid: str) -> None:
    """Delete what is stored for an instance's tasks, timers and searchable values (the
    rows a fresh plan writes anew), reading the old rows for their keys."""
    gone = []
    for row in cur.execute(_OLD_TASKS, (iid,)).fetchall():
        task_id, step_id, roles, assignee, candidates, due, opened, barred, process_id = row
        try:
            lists = [tuple(json.loads(text)) for text in (roles, candidates, barred)]
            t = TaskRow(task_id, iid, step_id, lists[0], assignee, lists[1], due, opened, lists[2])
        except (ValueError, TypeError):
            continue  # damaged: its key rows cannot be known (queries skip them: no task row)
        gone += [r[:3] for r in key_rows(t, process_id)]
    cur.executemany(_DELETE_KEY, gone)
    cur.execute(_CLEAR_TASKS, (iid,))
    cur.execute(_CLEAR_TIMERS, (iid,))
    found = cur.execute(_OLD_SEARCH, (iid,)).fetchone()
    if found is not None:
        try:
            pairs = json.loads(found[0])
        except ValueError:
            pairs = []
        cur.executemany(_DELETE_SEARCH, [(*pair, found[1], iid) for pair in pairs])


def _conflict(cur: sqlite3.Cursor, c: Commit) -> Conflict:
    found = cur.execute(_VERSION, (c.instance_id,)).fetchone()
    version = 0 if found is None else found[0]
    return Conflict(conflict_message(c.instance_id, version, c.expected_version))


def _taken(cur: sqlite3.Cursor, c: Commit) -> StoreError | None:
    ids = dumps(new_task_ids(c), what="task ids")
    taken = cur.execute(_TAKEN, (c.instance_id, ids)).fetchone()
    if taken is None:
        return None
    return StoreError(f"task id {taken[0]!r} already belongs to {taken[1]!r}")
