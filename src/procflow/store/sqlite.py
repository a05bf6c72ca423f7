"""The default store: one SQLite file, standard library only.

Owns connection handling and the SQL behind the `Store` contract; the table
layout and its migrations live in `store.migrations`, what a commit writes in
`store.writes`.

- WAL journal, ``synchronous=NORMAL``: an acknowledged command survives a
  crash of the process. A durable store (the default) also makes it survive
  a crash of the machine: after each COMMIT the writer waits for an fsync of
  the WAL that began after it, one fsync for every thread committing at the
  time (group commit, `store.durability`, which says why this is as safe as
  ``synchronous=FULL``). It checkpoints itself, out of the way of writers.
- Every write is one ``BEGIN IMMEDIATE`` transaction, so writers in other
  threads and processes queue behind it (up to ``timeout``) and the
  expected-version check happens under the write lock: the row is updated
  ``WHERE version = expected``, and no row updated is a `Conflict`. In a
  durable store, writers queue before that: those of this process on a lock,
  those of other processes on a lock file beside the database, ``<file>-lock``
  (`store.writers`), because SQLite's busy handler sleeps for milliseconds
  between its tries.
- A commit is planned before the transaction begins (`writes.plan`: values
  encoded, statements chosen) and writes what changed, not everything: the
  store remembers what it last wrote for each recent instance
  (`writes.Known`). The snapshot is written only now and then (`base.Tail`):
  `load` gives the last one and the events after it (`Checkpoint`).
- Connections come from a small pool: each call borrows one, so threads
  sharing a store never share a connection at the same time, and readers do
  not wait for writers (WAL).
- Opening upgrades an older file in one transaction (`migrations.upgrade`) and
  refuses a newer one, a damaged one or another application's database.
- Due timers are claimed (`claim_due_timers`) by one ``UPDATE … RETURNING``
  under ``BEGIN IMMEDIATE``: the write lock makes each claim whole, so two
  workers never both get a timer, and the index on ``fire_at`` keeps the
  read to the due ones.
- A row that does not decode raises `DamagedRecord` naming its instance;
  queries over many instances leave such rows out, and log them.

Must not import anything from procflow but `errors`, `compiled` and `store.base`,
`.durability`, `.migrations`, `.relational`, `.writers`, `.writes`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from procflow.compiled import mypyc_attr
from procflow.errors import DamagedRecord, StoreError
from procflow.store import migrations, writes
from procflow.store.base import (
    Commit,
    TaskRow,
    TimerRow,
    check_commits,
    command_clash,
    decode,
    decode_result,
    dumps,
    role_set,
    skip_damaged,
)
from procflow.store.durability import WalSync
from procflow.store.finding import Dialect, Statement
from procflow.store.relational import TASK, RelationalStore
from procflow.store.writers import Writers

_MAX_IDLE = 8

# A task is visible to a user who is a candidate or the assignee, or, when it has
# neither, to anyone holding one of its roles (mirrors `base.visible`).
# A row whose lists are damaged (not JSON) is visible to nobody: one bad row must
# not fail every inbox (`_task` reports it when it is read).
_VISIBLE = """(NOT :filter
    OR (json_valid(t.candidates) AND json_valid(t.roles) AND (
        EXISTS (SELECT 1 FROM json_each(t.candidates) AS c WHERE c.value = :user)
        OR t.assignee = :user
        OR (json_array_length(t.candidates) = 0 AND t.assignee IS NULL AND EXISTS (
            SELECT 1 FROM json_each(t.roles) AS r JOIN json_each(:roles) AS h
            ON r.value = h.value)))))"""
_OPEN_TASKS = f"{TASK} FROM tasks AS t WHERE {_VISIBLE} ORDER BY t.instance_id, t.pos"
# One instance's tasks, in order: through the index on (instance_id, pos).
_INSTANCE_TASKS = (
    f"{TASK} FROM tasks AS t WHERE t.instance_id = :instance_id AND {_VISIBLE} ORDER BY t.pos"
)
_KNOWN_MAX = 4096
"""How many instances' last written rows a store remembers (`writes.Known`)."""
_CHECKPOINT_EVERY = 256
"""Commits of a durable store between its checkpoints (about 1,000 WAL pages, SQLite's default)."""


def _task(row: tuple[Any, ...]) -> TaskRow:
    task_id, instance_id, step_id, roles, assignee, candidates, due, opened, barred = row
    what = f"task {task_id!r} of instance {instance_id!r}"
    return TaskRow(
        task_id, instance_id, step_id,
        tuple(decode(roles, what=f"the roles of {what}", instance_id=instance_id, shape=list)),
        assignee,
        tuple(decode(candidates, what=f"the candidates of {what}", instance_id=instance_id,
                     shape=list)),
        due, opened,
        () if barred == "[]" else tuple(decode(
            barred, what=f"the barred users of {what}", instance_id=instance_id, shape=list)),
    )  # fmt: skip


_DIALECT = Dialect(param=lambda name: f":{name}", indexed=lambda index: f" INDEXED BY {index}")


_CLAIM = (
    "UPDATE timers SET claimant = :claimant, claimed_until = :until"
    " WHERE (instance_id, timer_id) IN (SELECT instance_id, timer_id FROM timers"
    " WHERE fire_at <= :now AND (claimed_until IS NULL OR claimed_until <= :now)"
    " ORDER BY fire_at, instance_id, timer_id LIMIT :limit)"
    " RETURNING instance_id, timer_id, fire_at"
)
_RELEASE = (
    "UPDATE timers SET claimant = NULL, claimed_until = NULL"
    " WHERE instance_id = ? AND timer_id = ? AND claimant = ?"
)


@mypyc_attr(allow_interpreted_subclasses=True)
class SQLiteStore(RelationalStore):
    """A store in one SQLite file, shared safely by threads and processes.

    Args:
        path: The database file; created with the current schema when missing.
        timeout: Seconds a call waits for another writer before failing with StoreError:
            for the writers of other processes (their lock file), then, only when a
            program other than procflow holds SQLite's write lock, for that lock too;
            so at most twice this. The threads of one store take turns first.
        durable: A command is acknowledged once on stable storage (survives
            power loss); False: once written to the OS (survives a crash of the
            process only). For benchmarks.
        upgrade: Bring an older file to this procflow's schema on opening;
            False refuses it instead (``procflow store migrate`` upgrades it).

    Raises:
        StoreError: The file is not a procflow store, is damaged, or was written
            by a newer procflow (or an older one, when ``upgrade`` is False).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        durable: bool = True,
        upgrade: bool = True,
    ) -> None:
        self.path = Path(path)
        if str(path) in ("", ":memory:"):
            raise ValueError("SQLiteStore needs a file path; use MemoryStore for memory")
        _check_place(self.path, to_make=True)
        self._timeout = timeout
        self._sync = WalSync(self.path) if durable else None
        self._lock = threading.Lock()
        # A durable store's writers queue on `_writing` before BEGIN IMMEDIATE, those of
        # its threads and those of other processes (`store.writers`): SQLite's busy handler
        # sleeps for milliseconds between tries, a lock hands over at once, and every commit
        # that comes while a sync is running can join the next one. Without a sync to
        # share, the sleeps keep fewer threads fighting for the GIL.
        self._writers = Writers(self.path, timeout) if durable else None
        self._writing: AbstractContextManager[Any] = self._writers or nullcontext()
        self._idle: list[sqlite3.Connection] = []
        self._known: dict[str, writes.Known] = {}
        self._commits = 0
        """Commits of a durable store since its last checkpoint began."""
        self._checkpointing = False
        self._closed = True
        """True until it opened (a store that failed to open holds nothing), and once closed."""
        with self._wrap("cannot open"):
            conn = self._connect()
            try:
                with self._transaction(conn):
                    migrations.upgrade(conn, self.path, allowed=upgrade)
                self._wait_durable()
            except BaseException:
                conn.close()
                self._close_files()
                raise
            self._idle.append(conn)
        self._closed = False

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
            # NORMAL even when durable: `durability.WalSync` syncs after COMMIT
            conn.execute("PRAGMA synchronous = NORMAL")
            if self._sync is not None:  # it checkpoints itself (`_checkpoint`)
                conn.execute("PRAGMA wal_autocheckpoint = 0")
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
            # a failed statement or COMMIT leaves SQLite's transaction rolled back
            raise StoreError(f"{self.path}: {doing}: {exc}", retry_safe=True) from exc

    @contextmanager
    def _connection(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the store is closed", retry_safe=True)
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

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so the version check below is
        # made under it and concurrent writers wait (busy timeout) instead of failing.
        with self._writing:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                # SQLite may already have rolled back (disk full, I/O error).
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _wait_durable(self) -> None:
        """Return once what this thread committed is on disk (durable stores; see `WalSync`).

        Call it right after the commit, still holding the connection.
        """
        if self._sync is not None:
            self._sync.wait()

    # -- writing -----------------------------------------------------------------

    def _borrow(self) -> sqlite3.Connection:
        """A pooled connection (the fast path of `_connection`, for the hot calls)."""
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the store is closed", retry_safe=True)
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
        # All the Python work first: bad payloads fail fast, the write lock is short.
        known = self._known
        plans = [writes.plan(c, known.get(c.instance_id)) for c in commits]
        result_json = (
            None if command_id is None and result is None else dumps(result, what="command result")
        )
        try:
            conn = self._borrow()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: commit: {exc}", retry_safe=True) from exc
        repeated, checkpoint = False, False
        try:
            try:
                with self._writing:  # see `_transaction`
                    cur = conn.cursor()  # one for every statement of the commit
                    cur.execute("BEGIN IMMEDIATE")
                    try:
                        repeated, first = self._apply(cur, plans, command_id, result_json)
                    except BaseException:
                        # SQLite may already have rolled back (disk full, I/O error).
                        if conn.in_transaction:
                            cur.execute("ROLLBACK")
                        raise
                    cur.execute("ROLLBACK" if repeated else "COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: commit: {exc}", retry_safe=True) from exc
            try:
                # a repeated command was committed before, maybe not yet durably: wait too
                self._wait_durable()
            finally:
                if not repeated:  # committed, durable or not: remembered
                    checkpoint = self._remember(plans)
        finally:
            if checkpoint:
                self._checkpoint(conn)
            self._give_back(conn)
        return first

    def _remember(self, plans: list[writes.Plan]) -> bool:
        """Note what the plans wrote; whether a checkpoint is due (and this thread's to run)."""
        known = self._known
        with self._lock:
            for p in plans:
                iid = p.commit.instance_id
                known.pop(iid, None)
                known[iid] = p.known
            while len(known) > _KNOWN_MAX:
                del known[next(iter(known))]
            if self._sync is None:  # SQLite checkpoints for stores that are not durable
                return False
            self._commits += 1
            if self._commits < _CHECKPOINT_EVERY or self._checkpointing:
                return False
            self._commits = 0
            self._checkpointing = True
            return True

    @staticmethod
    def _apply(
        cur: sqlite3.Cursor,
        plans: list[writes.Plan],
        command_id: str | None,
        result_json: str | None,
    ) -> tuple[bool, dict[str, Any] | None]:
        """Write the plans inside the transaction; (True, first result) for a repeated command."""
        if command_id is not None:
            done = cur.execute(
                "SELECT result FROM commands WHERE command_id = ?", (command_id,)
            ).fetchone()
            if done is not None:
                first: dict[str, Any] | None = decode_result(command_id, done[0])
                return True, first
        if len(plans) > 1:
            # Check everything before changing anything, as MemoryStore does
            # (one commit needs no pre-check: its own writes find any problem,
            # and the rollback undoes them).
            for p in plans:
                writes.check(cur, p.commit)
        for p in plans:
            writes.apply(cur, p)
        if command_id is not None:
            cur.execute("INSERT INTO commands VALUES (?, ?)", (command_id, result_json))
        return False, None

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database file, holding up other writers as little as may be.

        A durable store checkpoints itself: SQLite's automatic checkpoint would
        run inside a COMMIT, while the store holds `_writing`. Here the thread
        whose commit made it due copies most of the WAL while the others go on
        writing, then the few pages they added while holding `_writing`, so
        that the WAL is done with and the next writer starts it again from the
        beginning: otherwise, with writers always at work, it would only grow.
        PASSIVE never waits for readers, and errors are left to the next
        checkpoint, as SQLite does with its own: the commits are done (so are
        other processes' writers that keep the lock file past the timeout).
        """
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            with self._writing:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except (sqlite3.Error, StoreError):
            pass
        finally:
            with self._lock:
                self._checkpointing = False

    def put_definition(self, definition_hash: str, process_id: str, text: str) -> None:
        with self._connection("put_definition") as conn:
            self._put_definition(conn, definition_hash, process_id, text)
            self._wait_durable()

    def _put_definition(
        self, conn: sqlite3.Connection, definition_hash: str, process_id: str, text: str
    ) -> None:
        with self._transaction(conn):
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

    def _rows(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._all(doing, sql, params)

    def _task(self, row: tuple[Any, ...]) -> TaskRow:
        return _task(row)

    def _query(self, doing: str, statement: Statement) -> list[Any]:
        return self._all(doing, statement.sql, statement.params)

    def _dialect(self) -> Dialect:
        return _DIALECT

    def cursor_key(self) -> bytes:
        key: bytes = self._all(
            "cursor_key", "SELECT value FROM meta WHERE name = 'cursor_key'", ()
        )[0][0]
        return key

    def _all(self, doing: str, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[Any]:
        try:
            conn = self._borrow()
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                self._give_back(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {doing}: {exc}", retry_safe=True) from exc

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
        sql = _OPEN_TASKS if instance_id is None else _INSTANCE_TASKS
        found = []
        for row in self._all("open_tasks", sql, params):
            try:
                found.append(_task(row))
            except DamagedRecord as exc:
                skip_damaged(exc)
        return found

    def claim_due_timers(
        self, now_iso: str, *, until_iso: str, claimant: str, limit: int = 100
    ) -> list[TimerRow]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        params = {"claimant": claimant, "until": until_iso, "now": now_iso, "limit": limit}
        with self._connection("claim_due_timers") as conn:
            with self._transaction(conn):
                rows = conn.execute(_CLAIM, params).fetchall()
            self._wait_durable()
        return sorted(TimerRow(*r) for r in rows)

    def release_timers(self, timers: Iterable[TimerRow], *, claimant: str) -> None:
        params = [(t.instance_id, t.timer_id, claimant) for t in timers]
        if not params:
            return
        with self._connection("release_timers") as conn:
            with self._transaction(conn):
                conn.executemany(_RELEASE, params)
            self._wait_durable()

    def put_commands(self, commands: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        encoded = [(cid, dumps(result, what="command result")) for cid, result in commands]
        with self._connection("put_commands") as conn:
            with self._transaction(conn):
                for cid, text in encoded:
                    known = conn.execute(
                        "SELECT result FROM commands WHERE command_id = ?", (cid,)
                    ).fetchone()
                    if known is None:
                        conn.execute("INSERT INTO commands VALUES (?, ?)", (cid, text))
                    elif known[0] != text:
                        raise StoreError(command_clash(cid))
            self._wait_durable()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self._close_files()

    def _close_files(self) -> None:
        """Close the descriptors of the WAL and the lock file (`WalSync`, `Writers`)."""
        if self._sync is not None:
            self._sync.close()
        if self._writers is not None:
            self._writers.close()

    def __del__(self) -> None:
        # Dropped without close(): release its connections and its files' descriptors now
        # (a process that opens store after store would otherwise run out of them), and
        # say so as files do, with a ResourceWarning (shown by `python -X dev` and pytest).
        if getattr(self, "_closed", True):  # closed, or never opened (__init__ cleaned up)
            return
        warnings.warn(
            f"{self!r} was not closed: call close(), or use it in a `with` block",
            ResourceWarning,
            stacklevel=1,
            source=self,
        )
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


def _check_place(path: Path, *, to_make: bool) -> None:
    """`StoreError` for a path no store's file can be at: a folder, or, for a file that may be
    made, in a folder that does not exist (SQLite would say only "unable to open database
    file"; a file that is only read is simply not there)."""
    if path.is_dir():
        raise StoreError(f"{path}: is a folder, not a store's file (name the file in it)")
    if to_make and not path.parent.is_dir():
        raise StoreError(
            f"{path}: the folder '{path.parent}' does not exist (make it, or give another path)"
        )


def schema_version(path: Path) -> int:
    """The schema version of the file at ``path``, read only (0: empty).

    Raises:
        StoreError: No such file (or a folder), or not a procflow store.
    """
    _check_place(path, to_make=False)
    if not path.is_file():
        raise StoreError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return migrations.read_version(conn, path)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot read: {exc}", retry_safe=True) from exc
