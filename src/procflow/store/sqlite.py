"""The default store: one SQLite file, standard library only.

Owns connection handling and the SQL behind the `Store` contract; the table
layout and its migrations live in `store.schema`.

- WAL journal, ``synchronous=FULL`` unless ``durable=False``: an acknowledged
  command survives a crash of the process (and, when durable, of the machine).
- Every write is one ``BEGIN IMMEDIATE`` transaction, so writers in other
  threads and processes queue behind it (up to ``timeout``) and the
  expected-version check happens under the write lock: the row is updated
  ``WHERE version = expected``, and no row updated is a `Conflict`.
- A commit writes what changed, not everything: the store remembers what it
  last wrote for an instance (`_Known`) and, while the instance is still at
  that version, updates only the changed columns of ``instances`` and
  deletes, inserts or updates only the tasks and timers that differ. Every
  page a transaction touches is written to the WAL, so fewer rows and B-trees
  make a cheaper commit. Without that memory (another writer came between,
  the store was just opened) it rewrites the instance's tasks and timers.
- Connections come from a small pool: each call borrows one, so threads
  sharing a store never share a connection at the same time, and readers do
  not wait for writers (WAL).
- Opening upgrades an older file in one transaction (`schema.upgrade`) and
  refuses a newer one, a damaged one or another application's database.

Must not import anything from procflow but `errors`, `store.base` and `store.schema`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from procflow.errors import Conflict, DefinitionNotFound, InstanceNotFound, StoreError
from procflow.store import schema
from procflow.store.base import (
    Commit,
    Event,
    InstanceRow,
    Store,
    TaskRow,
    TimerRow,
    check_commits,
    conflict_message,
    dumps,
    loads,
    role_set,
)

_MAX_IDLE = 8

# A task is visible to a user who is a candidate or the assignee, or, when it has
# neither, to anyone holding one of its roles (mirrors `base.visible`).
_OPEN_TASKS = """
SELECT task_id, instance_id, step_id, roles, assignee, candidates, due FROM tasks
WHERE (:instance_id IS NULL OR instance_id = :instance_id)
AND (NOT :filter
    OR EXISTS (SELECT 1 FROM json_each(tasks.candidates) AS c WHERE c.value = :user)
    OR assignee = :user
    OR (json_array_length(candidates) = 0 AND assignee IS NULL AND EXISTS (
        SELECT 1 FROM json_each(tasks.roles) AS r JOIN json_each(:roles) AS h
        ON r.value = h.value)))
ORDER BY instance_id, pos
"""


_UPDATE_SHORT = "UPDATE instances SET version = ?, state = ? WHERE instance_id = ? AND version = ?"
_UPDATE_STATUS = (
    "UPDATE instances SET status = ?, version = ?, state = ? WHERE instance_id = ? AND version = ?"
)
_UPDATE_ALL = (
    "UPDATE instances SET process_id = ?, definition_hash = ?, status = ?, started_at = ?,"
    " parent_id = ?, version = ?, state = ? WHERE instance_id = ? AND version = ?"
)
_INSERT_TASK = (
    "INSERT INTO tasks (task_id, instance_id, pos, step_id, roles, assignee, candidates, due)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_TASK = (
    "UPDATE tasks SET step_id = ?, roles = ?, assignee = ?, candidates = ?, due = ?"
    " WHERE task_id = ?"
)
_EXISTS = "SELECT 1 FROM instances WHERE instance_id = ?"
_KNOWN_MAX = 4096
"""How many instances' last written rows a store remembers (`_Known`)."""


class _Known(NamedTuple):
    """What this store last wrote for an instance, so that the next commit writes only changes.

    It is the truth for ``version`` only: each version of an instance is
    written once, by one commit, so when the row is still at ``version`` (the
    update's ``WHERE version = ?`` says so, under the write lock), its tasks
    and timers are these.
    """

    version: int
    summary: tuple[Any, ...]
    """process_id, definition_hash, status, started_at, parent_id."""
    tasks: dict[str, tuple[int, TaskRow]]
    """Task id -> (pos, row), in ``pos`` order."""
    timers: dict[str, str]
    """Timer id -> fire_at."""


def _only_status_differs(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    return old[:2] == new[:2] and old[3:] == new[3:]


_LISTS: dict[tuple[str, ...], str] = {(): "[]"}
"""Roles and candidates as JSON: a process has few distinct ones (bounded cache)."""


def _json_list(values: tuple[str, ...]) -> str:
    try:
        text = _LISTS.get(values)
    except TypeError:  # not hashable, so not text either: dumps says what is wrong
        text = None
    if text is None:
        text = dumps(list(values), what="a task's roles or candidates")
        if len(_LISTS) < 1024 and all(type(v) is str for v in values):
            _LISTS[values] = text
    return text


def _task_params(iid: str, pos: int, t: TaskRow) -> tuple[Any, ...]:
    return (t.task_id, iid, pos, t.step_id, _json_list(t.roles), t.assignee,
            _json_list(t.candidates), t.due)  # fmt: skip


def _task(row: tuple[Any, ...]) -> TaskRow:
    task_id, instance_id, step_id, roles, assignee, candidates, due = row
    return TaskRow(
        task_id, instance_id, step_id, tuple(loads(roles)), assignee, tuple(loads(candidates)), due
    )


class SQLiteStore(Store):
    """A store in one SQLite file, shared safely by threads and processes.

    Args:
        path: The database file; created with the current schema when missing.
        timeout: Seconds a call waits for another writer before failing with StoreError.
        durable: ``synchronous=FULL`` (survives power loss); False uses NORMAL,
            which survives a process crash only. For benchmarks.

    Raises:
        StoreError: The file is not a procflow store, is damaged, or was written
            by a newer procflow.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 5.0, durable: bool = True
    ) -> None:
        self.path = Path(path)
        if str(path) in ("", ":memory:"):
            raise ValueError("SQLiteStore needs a file path; use MemoryStore for memory")
        self._timeout = timeout
        self._synchronous = "FULL" if durable else "NORMAL"
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._known: dict[str, _Known] = {}
        self._closed = False
        with self._wrap("cannot open"):
            conn = self._connect()
            try:
                with self._transaction(conn):
                    schema.upgrade(conn, self.path)
            except BaseException:
                conn.close()
                raise
            self._idle.append(conn)

    # -- connections -------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: a pooled connection may serve several threads,
        # one at a time; isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL mode (journal mode is {mode!r})")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _wrap(self, doing: str) -> Iterator[None]:
        """Turn sqlite3 errors into StoreError naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {doing}: {exc}") from exc

    @contextmanager
    def _connection(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the store is closed")
            conn = self._idle.pop() if self._idle else None
        with self._wrap(doing):
            if conn is None:
                conn = self._connect()
            try:
                yield conn
            finally:
                with self._lock:
                    # A connection left inside a transaction (interrupted) is not reused.
                    if self._closed or conn.in_transaction or len(self._idle) >= _MAX_IDLE:
                        conn.close()
                    else:
                        self._idle.append(conn)

    @staticmethod
    @contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so the version check below is
        # made under it and concurrent writers wait (busy timeout) instead of failing.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite may already have rolled back (disk full, I/O error).
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- writing -----------------------------------------------------------------

    def _borrow(self) -> sqlite3.Connection:
        """A pooled connection (the fast path of `_connection`, for the hot calls)."""
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the store is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            # A connection left inside a transaction (interrupted) is not reused.
            if self._closed or conn.in_transaction or len(self._idle) >= _MAX_IDLE:
                conn.close()
            else:
                self._idle.append(conn)

    def commit(
        self,
        commits: Sequence[Commit],
        *,
        command_id: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        check_commits(commits)
        # Encode before taking the write lock: bad payloads fail fast, the lock is short.
        states = [dumps(c.state, what=f"state of {c.instance_id!r}") for c in commits]
        events = [self._events(c) for c in commits]
        result_json = (
            None if command_id is None and result is None else dumps(result, what="command result")
        )
        try:
            conn = self._borrow()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: commit: {exc}") from exc
        written: list[tuple[Commit, _Known]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if command_id is not None:
                    done = conn.execute(
                        "SELECT result FROM commands WHERE command_id = ?", (command_id,)
                    ).fetchone()
                    if done is not None:
                        conn.execute("ROLLBACK")
                        first: dict[str, Any] | None = loads(done[0])
                        return first
                if len(commits) > 1:
                    # Check everything before changing anything, as MemoryStore does
                    # (one commit needs no pre-check: its own writes find any problem,
                    # and the rollback undoes them).
                    for c in commits:
                        self._check(conn, c)
                for c, state, rows in zip(commits, states, events, strict=True):
                    written.append((c, self._write(conn, c, state, rows)))
                if command_id is not None:
                    conn.execute("INSERT INTO commands VALUES (?, ?)", (command_id, result_json))
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back (disk full, I/O error).
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: commit: {exc}") from exc
        finally:
            self._give_back(conn)
        with self._lock:  # only what is committed is remembered
            known = self._known
            for c, entry in written:
                known.pop(c.instance_id, None)
                known[c.instance_id] = entry
            while len(known) > _KNOWN_MAX:
                del known[next(iter(known))]
        return None

    @staticmethod
    def _events(c: Commit) -> list[tuple[Any, ...]]:
        return [
            (c.instance_id, seq, e.type, e.at, e.by, dumps(e.data, what=f"{e.type!r} event data"))
            for seq, e in enumerate(c.events, c.expected_version + 1)
        ]

    @staticmethod
    def _check(conn: sqlite3.Connection, c: Commit) -> None:
        found = conn.execute(
            "SELECT version FROM instances WHERE instance_id = ?", (c.instance_id,)
        ).fetchone()
        version: int = 0 if found is None else found[0]
        if version != c.expected_version:
            raise Conflict(conflict_message(c.instance_id, version, c.expected_version))
        if c.tasks:
            taken = conn.execute(
                "SELECT task_id, instance_id FROM tasks WHERE instance_id != ?"
                " AND task_id IN (SELECT value FROM json_each(?)) ORDER BY task_id LIMIT 1",
                (c.instance_id, dumps([t.task_id for t in c.tasks], what="task ids")),
            ).fetchone()
            if taken is not None:
                raise StoreError(f"task id {taken[0]!r} already belongs to {taken[1]!r}")

    def _write(
        self, conn: sqlite3.Connection, c: Commit, state: str, events: list[tuple[Any, ...]]
    ) -> _Known:
        """Write one commit: the version check, the row, the events, the projections."""
        iid = c.instance_id
        version = c.expected_version + len(c.events)
        summary = (c.process_id, c.definition_hash, c.status, c.started_at, c.parent_id)
        with self._lock:
            known = self._known.get(iid)
        if known is not None and known.version != c.expected_version:
            known = None  # another writer came between: rewrite everything
        if c.expected_version == 0:
            try:
                conn.execute(
                    "INSERT INTO instances (process_id, definition_hash, status, started_at,"
                    " parent_id, version, state, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*summary, version, state, iid),
                )
            except sqlite3.IntegrityError:
                if conn.execute(_EXISTS, (iid,)).fetchone() is None:
                    raise  # not a second start: some other constraint
                raise self._conflict(conn, c) from None
        else:
            # only the columns that changed: the others' indexes are left alone
            params: tuple[Any, ...]
            if known is not None and known.summary == summary:
                sql, params = _UPDATE_SHORT, (version, state, iid, c.expected_version)
            elif known is not None and _only_status_differs(known.summary, summary):
                sql, params = _UPDATE_STATUS, (c.status, version, state, iid, c.expected_version)
            else:
                sql, params = _UPDATE_ALL, (*summary, version, state, iid, c.expected_version)
            if conn.execute(sql, params).rowcount != 1:
                raise self._conflict(conn, c)
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", events)
        try:
            tasks = self._write_tasks(conn, c, None if known is None else known.tasks)
        except sqlite3.IntegrityError:
            taken = self._taken(conn, c)
            if taken is None:
                raise  # not a task id of another instance: some other constraint
            raise taken from None
        timers = self._write_timers(conn, c, None if known is None else known.timers)
        return _Known(version, summary, tasks, timers)

    @staticmethod
    def _conflict(conn: sqlite3.Connection, c: Commit) -> Conflict:
        found = conn.execute(
            "SELECT version FROM instances WHERE instance_id = ?", (c.instance_id,)
        ).fetchone()
        version = 0 if found is None else found[0]
        return Conflict(conflict_message(c.instance_id, version, c.expected_version))

    @staticmethod
    def _taken(conn: sqlite3.Connection, c: Commit) -> StoreError | None:
        taken = conn.execute(
            "SELECT task_id, instance_id FROM tasks WHERE instance_id != ?"
            " AND task_id IN (SELECT value FROM json_each(?)) ORDER BY task_id LIMIT 1",
            (c.instance_id, dumps([t.task_id for t in c.tasks], what="task ids")),
        ).fetchone()
        if taken is None:
            return None
        return StoreError(f"task id {taken[0]!r} already belongs to {taken[1]!r}")

    @staticmethod
    def _write_tasks(
        conn: sqlite3.Connection, c: Commit, old: dict[str, tuple[int, TaskRow]] | None
    ) -> dict[str, tuple[int, TaskRow]]:
        """Make the stored open tasks of ``c``'s instance ``c.tasks``; return them by id.

        With the rows this store last wrote (``old``), only what differs is
        written: tasks that left are deleted, new ones inserted after the others,
        changed ones updated. Without them, or when the order changed, the set
        is rewritten.
        """
        iid = c.instance_id
        new = c.tasks
        if old is not None:
            kept = [t.task_id for t in new if t.task_id in old]
            n = len(kept)
            kept_set = set(kept)
            # incremental when the tasks kept come first, in their stored order
            if all(t.task_id in old for t in new[:n]) and kept == [k for k in old if k in kept_set]:
                if n < len(old):
                    conn.executemany(
                        "DELETE FROM tasks WHERE task_id = ?",
                        [(k,) for k in old if k not in kept_set],
                    )
                out: dict[str, tuple[int, TaskRow]] = {}
                for t in new[:n]:
                    pos, before = old[t.task_id]
                    if before != t:
                        conn.execute(_UPDATE_TASK, (*_task_params(iid, pos, t)[3:], t.task_id))
                    out[t.task_id] = (pos, t)
                pos = max((p for p, _ in old.values()), default=-1)
                added = []
                for t in new[n:]:
                    pos += 1
                    out[t.task_id] = (pos, t)
                    added.append(_task_params(iid, pos, t))
                if added:
                    conn.executemany(_INSERT_TASK, added)
                return out
        conn.execute("DELETE FROM tasks WHERE instance_id = ?", (iid,))
        conn.executemany(_INSERT_TASK, [_task_params(iid, p, t) for p, t in enumerate(new)])
        return {t.task_id: (p, t) for p, t in enumerate(new)}

    @staticmethod
    def _write_timers(
        conn: sqlite3.Connection, c: Commit, old: dict[str, str] | None
    ) -> dict[str, str]:
        """Make the stored timers of ``c``'s instance ``c.timers`` (only what differs)."""
        iid = c.instance_id
        new = {t.timer_id: t.fire_at for t in c.timers}
        if old is None:
            conn.execute("DELETE FROM timers WHERE instance_id = ?", (iid,))
            if new:
                conn.executemany(
                    "INSERT INTO timers VALUES (?, ?, ?)", [(iid, k, v) for k, v in new.items()]
                )
        elif old != new:
            gone = [(iid, k) for k in old if k not in new]
            if gone:
                conn.executemany("DELETE FROM timers WHERE instance_id = ? AND timer_id = ?", gone)
            changed = [(iid, k, v) for k, v in new.items() if old.get(k) != v]
            if changed:
                conn.executemany("INSERT OR REPLACE INTO timers VALUES (?, ?, ?)", changed)
        return new

    def put_definition(self, definition_hash: str, process_id: str, text: str) -> None:
        with self._connection("put_definition") as conn, self._transaction(conn):
            known = conn.execute(
                "SELECT process_id, text FROM definitions WHERE definition_hash = ?",
                (definition_hash,),
            ).fetchone()
            if known is None:
                conn.execute(
                    "INSERT INTO definitions VALUES (?, ?, ?)", (definition_hash, process_id, text)
                )
            elif tuple(known) != (process_id, text):
                raise StoreError(
                    f"definition {definition_hash!r} is already stored with other content"
                )

    # -- reading -----------------------------------------------------------------

    def _all(self, doing: str, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[Any]:
        try:
            conn = self._borrow()
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                self._give_back(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {doing}: {exc}") from exc

    def command_result(self, command_id: str) -> dict[str, Any] | None:
        rows = self._all(
            "command_result", "SELECT result FROM commands WHERE command_id = ?", (command_id,)
        )
        found: dict[str, Any] | None = loads(rows[0][0]) if rows else None
        return found

    def load(self, instance_id: str) -> tuple[int, dict[str, Any]]:
        rows = self._all(
            "load", "SELECT version, state FROM instances WHERE instance_id = ?", (instance_id,)
        )
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        state: dict[str, Any] = loads(rows[0][1])
        return rows[0][0], state

    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        rows = self._all(
            "events",
            "SELECT seq, type, at, by, data FROM events WHERE instance_id = ? AND seq > ?"
            " ORDER BY seq",
            (instance_id, after),
        )
        if not rows:
            self.instance(instance_id)  # raises InstanceNotFound when absent
        return [Event(instance_id, s, t, a, b, loads(d)) for s, t, a, b, d in rows]

    def instance(self, instance_id: str) -> InstanceRow:
        rows = self._all(
            "instance",
            "SELECT instance_id, process_id, definition_hash, status, version, started_at,"
            " parent_id FROM instances WHERE instance_id = ?",
            (instance_id,),
        )
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return InstanceRow(*rows[0])

    def version(self, instance_id: str) -> int:
        rows = self._all(
            "version", "SELECT version FROM instances WHERE instance_id = ?", (instance_id,)
        )
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        version: int = rows[0][0]
        return version

    def instances(
        self,
        *,
        status: str | None = None,
        process_id: str | None = None,
        limit: int | None = None,
    ) -> list[InstanceRow]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        rows = self._all(
            "instances",
            "SELECT instance_id, process_id, definition_hash, status, version, started_at,"
            " parent_id FROM instances WHERE (:status IS NULL OR status = :status)"
            " AND (:process_id IS NULL OR process_id = :process_id)"
            " ORDER BY started_at, instance_id LIMIT :limit",
            {"status": status, "process_id": process_id, "limit": -1 if limit is None else limit},
        )
        return [InstanceRow(*r) for r in rows]

    def open_tasks(
        self,
        *,
        instance_id: str | None = None,
        user: str | None = None,
        roles: Iterable[str] | None = None,
    ) -> list[TaskRow]:
        params = {
            "instance_id": instance_id,
            "filter": user is not None or roles is not None,
            "user": user,
            "roles": dumps(sorted(role_set(roles)), what="roles"),
        }
        rows = self._all("open_tasks", _OPEN_TASKS, params)
        return [_task(r) for r in rows]

    def task(self, task_id: str) -> TaskRow | None:
        rows = self._all(
            "task",
            "SELECT task_id, instance_id, step_id, roles, assignee, candidates, due FROM tasks"
            " WHERE task_id = ?",
            (task_id,),
        )
        return _task(rows[0]) if rows else None

    def due_timers(self, now_iso: str) -> list[TimerRow]:
        rows = self._all(
            "due_timers",
            "SELECT instance_id, timer_id, fire_at FROM timers WHERE fire_at <= ?"
            " ORDER BY fire_at, instance_id, timer_id",
            (now_iso,),
        )
        return [TimerRow(*r) for r in rows]

    def definition(self, definition_hash: str) -> str:
        rows = self._all(
            "definition",
            "SELECT text FROM definitions WHERE definition_hash = ?",
            (definition_hash,),
        )
        if not rows:
            raise DefinitionNotFound(f"no definition {definition_hash!r}")
        text: str = rows[0][0]
        return text

    def definitions(self, process_id: str) -> list[str]:
        rows = self._all(
            "definitions",
            "SELECT definition_hash FROM definitions WHERE process_id = ? ORDER BY rowid",
            (process_id,),
        )
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
