"""The default store: one SQLite file, standard library only.

Owns connection handling and the SQL behind the `Store` contract; the table
layout and its migrations live in `store.schema`.

- WAL journal, ``synchronous=FULL`` unless ``durable=False``: an acknowledged
  command survives a crash of the process (and, when durable, of the machine).
- Every write is one ``BEGIN IMMEDIATE`` transaction, so writers in other
  threads and processes queue behind it (up to ``timeout``) and the
  expected-version check happens under the write lock.
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


class _Rows(NamedTuple):
    """One `Commit` as SQL parameters."""

    instance: tuple[Any, ...]
    events: list[tuple[Any, ...]]
    tasks: list[tuple[Any, ...]]
    timers: list[tuple[Any, ...]]


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

    def commit(
        self,
        commits: Sequence[Commit],
        *,
        command_id: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        check_commits(commits)
        # Encode before taking the write lock: bad payloads fail fast, the lock is short.
        rows = [self._encode(c) for c in commits]
        result_json = dumps(result, what="command result")
        with self._connection("commit") as conn, self._transaction(conn):
            if command_id is not None:
                done = conn.execute(
                    "SELECT result FROM commands WHERE command_id = ?", (command_id,)
                ).fetchone()
                if done is not None:
                    first: dict[str, Any] | None = loads(done[0])
                    return first
            # Check everything before changing anything, as MemoryStore does.
            versions = [self._check(conn, c) for c in commits]
            for c, encoded, version in zip(commits, rows, versions, strict=True):
                self._write(conn, c.instance_id, encoded, new=version == 0)
            if command_id is not None:
                conn.execute("INSERT INTO commands VALUES (?, ?)", (command_id, result_json))
        return None

    @staticmethod
    def _check(conn: sqlite3.Connection, c: Commit) -> int:
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
        return version

    @staticmethod
    def _encode(c: Commit) -> _Rows:
        instance = (
            c.process_id,
            c.definition_hash,
            c.status,
            c.expected_version + len(c.events),
            c.started_at,
            c.parent_id,
            dumps(c.state, what=f"state of {c.instance_id!r}"),
            c.instance_id,
        )
        events = [
            (c.instance_id, seq, e.type, e.at, e.by, dumps(e.data, what=f"{e.type!r} event data"))
            for seq, e in enumerate(c.events, c.expected_version + 1)
        ]
        tasks = [
            (t.task_id, c.instance_id, pos, t.step_id, dumps(list(t.roles), what="task roles"),
             t.assignee, dumps(list(t.candidates), what="task candidates"), t.due)
            for pos, t in enumerate(c.tasks)
        ]  # fmt: skip
        timers = [(c.instance_id, t.timer_id, t.fire_at) for t in c.timers]
        return _Rows(instance, events, tasks, timers)

    @staticmethod
    def _write(conn: sqlite3.Connection, instance_id: str, rows: _Rows, *, new: bool) -> None:
        if new:
            conn.execute(
                "INSERT INTO instances (process_id, definition_hash, status, version, started_at,"
                " parent_id, state, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows.instance,
            )
        else:
            conn.execute(
                "UPDATE instances SET process_id = ?, definition_hash = ?, status = ?,"
                " version = ?, started_at = ?, parent_id = ?, state = ? WHERE instance_id = ?",
                rows.instance,
            )
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows.events)
        conn.execute("DELETE FROM tasks WHERE instance_id = ?", (instance_id,))
        conn.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows.tasks)
        conn.execute("DELETE FROM timers WHERE instance_id = ?", (instance_id,))
        conn.executemany("INSERT INTO timers VALUES (?, ?, ?)", rows.timers)

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
        with self._connection(doing) as conn:
            return conn.execute(sql, params).fetchall()

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
