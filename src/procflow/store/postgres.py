"""A store in PostgreSQL, shared by every process of a deployment (``procflow[postgres]``).

Owns `PostgresStore`: the SQL behind the `Store` contract, its connection
pool, and how driver failures become `StoreError`. The tables and their
migrations are in `store.pg_schema`. Uses psycopg 3 and psycopg-pool, which
only this module imports (the core does not need them).

- **One transaction per command.** A commit runs ``BEGIN`` … ``COMMIT`` on
  one pooled connection. Its command id is inserted first (``ON CONFLICT DO
  NOTHING``): a second run of the same command, in any process, waits for
  the first one's transaction and then returns its result. Each instance row
  is written ``UPDATE … WHERE version = expected`` (no row: `Conflict`), or
  ``INSERT … ON CONFLICT DO NOTHING`` when new; the instances of one command
  are written in id order, so that two commands never deadlock on them.
- **Isolation.** Read committed (PostgreSQL's default) is enough: the version
  check is made on the row's latest version under its row lock. Under
  repeatable read or serializable (a server or database default), the
  serialization failures that concurrent commands meet, and deadlocks
  under any level, are retried inside the store with a short random pause;
  after `_RETRIES` tries they are a `Conflict`. Never a driver exception.
- **Faults.** A connection lost before ``COMMIT`` was sent (a restarted
  server, a killed backend, a network cut) fails the command with a
  `StoreError` whose ``retry_safe`` is True: nothing was stored. Lost during
  ``COMMIT``, the command may or may not be stored: ``retry_safe`` is True
  when it carried a ``command_id`` (running it again returns the first
  result) and False otherwise. The pool checks each connection before
  lending it, so the next command gets a working one, or a new one.
- **Claims.** Due timers are claimed with ``FOR UPDATE SKIP LOCKED`` over the
  index on ``fire_at``: workers claiming at once skip each other's rows.
- **Damaged rows** (a state or payload that is not JSON) raise
  `DamagedRecord` naming the instance; roles and candidates are ``text[]``,
  which cannot be damaged that way.

What one commit writes is in `store.pg_writes`; the inbox and instance
queries are `store.finding`'s, for PostgreSQL's `Dialect`.

Must not import anything from procflow but `errors` and the `store` modules `base`,
`pg_schema`, `pg_writes`, `finding`, `relational`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from procflow.errors import (
    Conflict,
    StoreError,
    StoreURLError,
)
from procflow.store import pg_schema, pg_writes
from procflow.store.base import (
    Commit,
    Tail,
    TaskRow,
    TimerRow,
    check_commits,
    command_clash,
    decode_result,
    new_task_ids,
    role_set,
)
from procflow.store.finding import Dialect, Statement
from procflow.store.pg_writes import as_json
from procflow.store.relational import TASK, RelationalStore

T = TypeVar("T")

_KNOWN_MAX = 4096
"""How many instances' tails a store remembers (`base.Tail`)."""
_RETRIES = 5
"""Tries of a transaction that meets serialization failures or deadlocks."""

_PLACEHOLDERS: dict[str, str] = {}
"""`RelationalStore`'s statements with psycopg's placeholders."""
# mirrors `base.visible`: a candidate or the assignee, or, with neither, a role holder
_VISIBLE = """(NOT %(filter)s
    OR %(user)s = ANY(t.candidates)
    OR t.assignee = %(user)s
    OR (cardinality(t.candidates) = 0 AND t.assignee IS NULL AND t.roles && %(roles)s::text[]))"""
_CLAIM = """UPDATE timers AS t SET claimant = %(claimant)s, claimed_until = %(until)s
FROM (SELECT instance_id, timer_id FROM timers
      WHERE fire_at <= %(now)s AND (claimed_until IS NULL OR claimed_until <= %(now)s)
      ORDER BY fire_at, instance_id, timer_id LIMIT %(limit)s
      FOR UPDATE SKIP LOCKED) AS due
WHERE t.instance_id = due.instance_id AND t.timer_id = due.timer_id
RETURNING t.instance_id, t.timer_id, t.fire_at"""
_RELEASE = (
    "UPDATE timers SET claimant = NULL, claimed_until = NULL WHERE claimant = %s"
    " AND (instance_id, timer_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
)


def describe(conninfo: str) -> str:
    """A connection string or URL as ``postgresql://user@host:port/dbname``, never the password.

    Raises:
        StoreURLError: It is not a connection string libpq reads.
    """
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.Error as exc:
        raise StoreURLError(f"not a PostgreSQL connection URL ({exc})") from None
    user = f"{parts['user']}@" if "user" in parts else ""
    host = str(parts.get("host", "localhost"))
    port = f":{parts['port']}" if "port" in parts else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname', '')}"


class PostgresStore(RelationalStore):
    """A store in a PostgreSQL database, shared safely by threads, processes and machines.

    Args:
        conninfo: A libpq URL (``postgresql://user:password@host:5432/dbname``) or
            connection string. The tables go into the first schema of the
            ``search_path``.
        min_size: Connections the pool keeps open.
        max_size: Connections the pool may open; calls beyond wait for one.
        timeout: Seconds a call waits for a connection (the server down,
            or every connection busy) before failing with a `StoreError`.
        upgrade: Bring an older schema up to date on opening; False refuses it
            instead (``procflow store migrate`` upgrades it).

    Raises:
        StoreError: The server cannot be reached, the database holds tables
            procflow did not make, or its schema is newer (or older, when
            ``upgrade`` is False).

    Attributes:
        retried: How many transactions were tried again after a serialization
            failure or a deadlock (for monitoring).
    """

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 5.0,
        upgrade: bool = True,
    ) -> None:
        self.where = describe(conninfo)
        self.retried = 0
        self._closed = False
        self._tails: dict[str, tuple[int, Tail]] = {}
        """Instance id -> (version, `Tail`) as this store last wrote it (the recent ones)."""
        self._lock = threading.Lock()
        try:
            # one connection first, outside the pool: a clear error when it fails
            with (
                psycopg.connect(
                    conninfo, autocommit=True, connect_timeout=max(1, round(timeout))
                ) as conn,
                conn.transaction(),
            ):
                pg_schema.upgrade(conn, self.where, allowed=upgrade)
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: cannot open: {_reason(exc)}") from None
        self._pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=True,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True},
            name="procflow",
        )

    # -- connections and transactions ----------------------------------------------------

    @contextmanager
    def _connection(self, doing: str) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreError(f"{self.where}: the store is closed", retry_safe=True)
        try:
            conn = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreError(
                f"{self.where}: {doing}: no connection to PostgreSQL within"
                f" {self._pool.timeout:g} s ({exc}); nothing was stored, running it again is safe",
                retry_safe=True,
            ) from None
        except PoolClosed:
            raise StoreError(f"{self.where}: the store is closed", retry_safe=True) from None
        try:
            yield conn
        finally:
            self._pool.putconn(conn)  # a broken connection is discarded and replaced

    def _definition_order(self) -> str:
        return "seq"

    def _rows(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        placeholders = _PLACEHOLDERS.get(sql)
        if placeholders is None:
            placeholders = _PLACEHOLDERS[sql] = sql.replace("?", "%s")
        return self._read(doing, placeholders, params)

    def _task(self, row: tuple[Any, ...]) -> TaskRow:
        return _task(row)

    def _query(self, doing: str, statement: Statement) -> list[Any]:
        return self._read(doing, statement.sql, statement.params)

    def _dialect(self) -> Dialect:
        return _DIALECT

    def cursor_key(self) -> bytes:
        rows = self._read("cursor_key", "SELECT value FROM procflow_meta WHERE name = 'cursor_key'")
        return bytes(rows[0][0])

    def _read(self, doing: str, sql: str, params: Any = None) -> list[Any]:
        """One statement, outside any transaction, its rows."""
        return self._transact(doing, lambda conn: conn.execute(sql, params).fetchall(),
                              write=False)  # fmt: skip

    def _transact(
        self,
        doing: str,
        work: Callable[[psycopg.Connection[Any]], T],
        *,
        write: bool = True,
        command_id: str | None = None,
    ) -> T:
        """Run ``work`` in one transaction (a write) or alone (a read); map every failure.

        Serialization failures and deadlocks are retried; after `_RETRIES` tries
        they are a `Conflict`. ``work`` raising `psycopg.Rollback` rolls back
        and `_transact` returns what ``work`` left in the rollback's argument.
        """
        for attempt in range(_RETRIES):
            committing = False
            result = cast(T, None)  # stays None when `work` rolls back
            try:
                with self._connection(doing) as conn:
                    if not write:
                        return work(conn)
                    with conn.transaction():
                        result = work(conn)
                        committing = True  # leaving the block sends COMMIT
                    return result
            except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected) as exc:
                with self._lock:
                    self.retried += 1
                if attempt + 1 == _RETRIES:
                    raise Conflict(
                        f"{self.where}: {doing}: gave up after {_RETRIES} tries"
                        f" ({_reason(exc)}); nothing was stored"
                    ) from None
                time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))  # noqa: S311
            except psycopg.Error as exc:
                raise self._failure(doing, exc, committing=committing, write=write,
                                    command_id=command_id) from None  # fmt: skip
            except UnicodeEncodeError as exc:
                raise TypeError(f"{doing}: text that is not valid Unicode: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _failure(
        self,
        doing: str,
        exc: psycopg.Error,
        *,
        committing: bool,
        write: bool,
        command_id: str | None,
    ) -> StoreError:
        lost = isinstance(exc, psycopg.OperationalError)
        if not lost or not write:
            why = "the connection was lost" if lost else "PostgreSQL refused it"
            return StoreError(
                f"{self.where}: {doing}: {why} ({_reason(exc)}); nothing was stored,"
                " running it again is safe",
                retry_safe=True,
            )
        if not committing:
            return StoreError(
                f"{self.where}: {doing}: the connection was lost before COMMIT"
                f" ({_reason(exc)}); nothing was stored, running it again is safe",
                retry_safe=True,
            )
        if command_id is not None:
            return StoreError(
                f"{self.where}: {doing}: the connection was lost during COMMIT"
                f" ({_reason(exc)}); it may or may not be stored: running it again with"
                f" the same command_id {command_id!r} is safe",
                retry_safe=True,
            )
        return StoreError(
            f"{self.where}: {doing}: the connection was lost during COMMIT ({_reason(exc)});"
            " it may or may not be stored, and it has no command_id: look before running"
            " it again",
            retry_safe=False,
        )

    # -- writing -------------------------------------------------------------------------

    def commit(
        self,
        commits: Sequence[Commit],
        *,
        command_id: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        check_commits(commits)
        tails = self._tails
        encoded = sorted(
            (pg_writes.encode(c, self._tail(c)) for c in commits),
            key=lambda e: e.commit.instance_id,
        )
        result_json = None
        if command_id is not None or result is not None:
            result_json = as_json(result, what="command result")
        first: list[dict[str, Any] | None] = []

        def work(conn: psycopg.Connection[Any]) -> None:
            if command_id is not None:
                cur = conn.execute(
                    "INSERT INTO commands (command_id, result) VALUES (%s, %s)"
                    " ON CONFLICT (command_id) DO NOTHING",
                    (command_id, result_json),
                )
                if cur.rowcount == 0:  # done before (maybe a moment ago, by another process)
                    row = _one(
                        conn.execute(
                            "SELECT result FROM commands WHERE command_id = %s", (command_id,)
                        )
                    )
                    first.append(decode_result(command_id, row[0]))
                    raise psycopg.Rollback
            if len(commits) > 1:
                pg_writes.check(conn, commits)
            for e in encoded:
                pg_writes.apply(conn, e)

        try:
            self._transact("commit", work, command_id=command_id)
        except pg_writes.TaskTaken as taken:
            raise self._taken(taken.commit) from None
        if first:
            return first[0]
        with self._lock:
            for e in encoded:
                c = e.commit
                iid = c.instance_id
                tails.pop(iid, None)
                tails[iid] = (c.expected_version + len(c.events), e.tail)
            while len(tails) > _KNOWN_MAX:
                del tails[next(iter(tails))]
        return None

    def _tail(self, c: Commit) -> Tail | None:
        """The tail this store wrote for ``c``'s instance, if the instance is still at its
        version; None: the snapshot is written (`base.Tail`)."""
        known = self._tails.get(c.instance_id)
        if known is None or known[0] != c.expected_version:
            return None
        return known[1]

    def _taken(self, c: Commit) -> StoreError:
        rows = self._read(
            "commit",
            "SELECT task_id, instance_id FROM tasks WHERE task_id = ANY(%s::text[])"
            " AND instance_id <> %s ORDER BY task_id LIMIT 1",
            (new_task_ids(c), c.instance_id),
        )
        if not rows:  # taken by a transaction that has since rolled back
            return StoreError(
                f"{self.where}: commit: a task id of {c.instance_id!r} was being taken by"
                " another command; nothing was stored, running it again is safe",
                retry_safe=True,
            )
        return StoreError(f"task id {rows[0][0]!r} already belongs to {rows[0][1]!r}")

    def put_definition(self, definition_hash: str, process_id: str, text: str) -> None:
        def work(conn: psycopg.Connection[Any]) -> None:
            cur = conn.execute(
                "INSERT INTO definitions (definition_hash, process_id, text) VALUES (%s, %s, %s)"
                " ON CONFLICT (definition_hash) DO NOTHING",
                (definition_hash, process_id, text),
            )
            if cur.rowcount == 0:
                known = _one(
                    conn.execute(
                        "SELECT process_id, text FROM definitions WHERE definition_hash = %s",
                        (definition_hash,),
                    )
                )
                if tuple(known) != (process_id, text):
                    raise StoreError(
                        f"definition {definition_hash!r} is already stored with other content"
                    )

        self._transact("put_definition", work)

    def put_commands(self, commands: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        encoded = [(cid, as_json(result, what="command result")) for cid, result in commands]

        def work(conn: psycopg.Connection[Any]) -> None:
            for cid, text in encoded:
                cur = conn.execute(
                    "INSERT INTO commands (command_id, result) VALUES (%s, %s)"
                    " ON CONFLICT (command_id) DO NOTHING",
                    (cid, text),
                )
                if cur.rowcount == 0:
                    known = _one(
                        conn.execute("SELECT result FROM commands WHERE command_id = %s", (cid,))
                    )
                    if known[0] != text:
                        raise StoreError(command_clash(cid))

        self._transact("put_commands", work)

    def claim_due_timers(
        self, now_iso: str, *, until_iso: str, claimant: str, limit: int = 100
    ) -> list[TimerRow]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        params = {"claimant": claimant, "until": until_iso, "now": now_iso, "limit": limit}
        rows = self._transact(
            "claim_due_timers", lambda conn: conn.execute(_CLAIM, params).fetchall()
        )
        return sorted(TimerRow(*r) for r in rows)

    def release_timers(self, timers: Iterable[TimerRow], *, claimant: str) -> None:
        held = list(timers)
        if held:
            params = (claimant, [t.instance_id for t in held], [t.timer_id for t in held])
            self._transact("release_timers", lambda conn: conn.execute(_RELEASE, params))

    # -- reading -------------------------------------------------------------------------

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
            "roles": sorted(role_set(roles)),
        }
        where = "" if instance_id is None else "t.instance_id = %(instance_id)s AND "
        rows = self._read(
            "open_tasks",
            f"{TASK} FROM tasks AS t WHERE {where}{_VISIBLE} ORDER BY t.instance_id, t.pos",
            params,
        )
        return [_task(r) for r in rows]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"


def _task(row: tuple[Any, ...]) -> TaskRow:
    task_id, instance_id, step_id, roles, assignee, candidates, due, opened, barred = row
    return TaskRow(task_id, instance_id, step_id, tuple(roles), assignee, tuple(candidates), due,
                   opened, tuple(barred))  # fmt: skip


_DIALECT = Dialect(
    param=lambda name: f"%({name})s",
    indexed=lambda index: "",  # PostgreSQL's planner picks the index (the tests EXPLAIN it)
)


def _one(cur: psycopg.Cursor[Any]) -> Any:
    """The row a statement that always finds one found."""
    row = cur.fetchone()
    if row is None:  # pragma: no cover - the statement finds the row it just saw
        raise StoreError("a row vanished inside its own transaction", retry_safe=True)
    return row


def _reason(exc: BaseException) -> str:
    """A driver error in one line: its SQLSTATE class and first line, no traceback."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    state = getattr(exc, "sqlstate", None)
    return f"{first} [SQLSTATE {state}]" if state else first


def schema_version(conninfo: str) -> int:
    """The schema version of the database, read without changing it (0: no procflow tables).

    Raises:
        StoreError: The server cannot be reached, or the tables are not procflow's.
    """
    where = describe(conninfo)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            return pg_schema.read_version(conn, where)
    except psycopg.Error as exc:
        raise StoreError(f"{where}: cannot read: {_reason(exc)}", retry_safe=True) from None


__all__ = ["PostgresStore", "describe", "schema_version"]
