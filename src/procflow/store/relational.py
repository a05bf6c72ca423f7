"""What the SQL stores share: the reads that are the same statement in SQLite and PostgreSQL.

Owns `RelationalStore`, the base of `SQLiteStore` and `PostgresStore`. Its
statements use ``?`` placeholders; a store runs them through `_rows`, which
turns them into its driver's style. The inbox and instance queries are built
by `store.finding` for the store's `Dialect` and run through `_query`.
Writing, connections and the queries that differ (open tasks, claims) stay
in each store.

Must not import anything from procflow but `errors`, `compiled` and the `store` modules
`base`, `query`, `finding`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

from procflow.compiled import mypyc_attr
from procflow.errors import DamagedRecord, DefinitionNotFound, InstanceNotFound
from procflow.store import finding
from procflow.store.base import (
    Checkpoint,
    Event,
    InstanceQuery,
    InstanceRow,
    Store,
    TaskQuery,
    TaskRow,
    TimerRow,
    decode,
    decode_result,
    skip_damaged,
)
from procflow.store.finding import Dialect, Statement
from procflow.store.query import Arm, after_cursor, plan, sort_key, step_arms, task_matches

TABLES = ("instances", "events", "tasks", "timers", "commands", "definitions")
"""The tables every SQL store keeps (`Store.counts` counts their rows)."""

INSTANCE = (
    "SELECT instance_id, process_id, definition_hash, status, version, started_at, parent_id,"
    " started_by FROM instances"
)
TASK = f"SELECT {finding.TASK_COLUMNS}"
_STATES = "instances AS i JOIN snapshots AS s ON s.instance_id = i.instance_id"
_LOAD = f"SELECT i.version, s.state, s.state_version FROM {_STATES} WHERE i.instance_id = ?"  # noqa: S608
_EVENTS = (
    "SELECT seq, type, at, by, data FROM events WHERE instance_id = ? AND seq > ? ORDER BY seq"
)
_EVENTS_UPTO = (
    "SELECT seq, type, at, by, data FROM events WHERE instance_id = ? AND seq > ? AND seq <= ?"
    " ORDER BY seq"
)


@mypyc_attr(allow_interpreted_subclasses=True)
class RelationalStore(Store):
    """The reads both SQL stores make alike; subclasses supply `_rows` and `_task`."""

    def _definition_order(self) -> str:
        """The column that orders definitions as they were stored (a method, not a class
        constant: the compiled build would not see a subclass's constant)."""
        return "rowid"

    @abstractmethod
    def _rows(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read (``?`` placeholders) and return its rows; failures as StoreError."""

    @abstractmethod
    def _task(self, row: tuple[Any, ...]) -> TaskRow:
        """A `TaskRow` from the columns of `TASK`."""

    @abstractmethod
    def _query(self, doing: str, statement: Statement) -> list[Any]:
        """Run one read with named parameters (`store.finding`); failures as StoreError."""

    @abstractmethod
    def _dialect(self) -> Dialect:
        """How this store's SQL differs (`store.finding.Dialect`)."""

    # -- inbox and instance queries (`store.query`, `store.finding`) ----------------------

    def _tasks_of(self, rows: list[Any]) -> list[TaskRow]:
        found = []
        for row in rows:
            try:
                found.append(self._task(row))
            except DamagedRecord as exc:  # one bad row must not take every inbox down
                skip_damaged(exc)
        return found

    def _instance_tasks(self, query: TaskQuery) -> list[TaskRow]:
        """The tasks of one instance that ``query`` admits (a few: filtered here)."""
        iid = query.instance_id
        rows = [] if iid is None else self.open_tasks(instance_id=iid)
        if not rows or iid is None:
            return []
        process_id = self.instance(iid).process_id
        return [t for t in rows if task_matches(t, process_id, query)]

    def _arms(self, query: TaskQuery) -> tuple[Arm, ...]:
        p = plan(query)
        if p.discover is None:
            return p.arms
        found = self._query("find_tasks", finding.discover(self._dialect(), p.discover))
        return step_arms(query, [r[0] for r in found], p.step_suffix)

    def _barred(self, query: TaskQuery) -> bool:
        """Whether ``query``'s user is barred from some task (then the arms check it)."""
        if query.user is None:
            return False
        probe = Statement(finding.barred_probe(self._dialect()), {"barred": "b:" + query.user})
        return self._query("find_tasks", probe)[0][0] is not None

    def find_tasks(self, query: TaskQuery, *, limit: int | None = None) -> list[TaskRow]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        if query.instance_id is not None:
            found = [t for t in self._instance_tasks(query) if after_cursor(query, t)]
            found.sort(key=lambda t: (sort_key(t, query.order), t.task_id))
            return found if limit is None else found[:limit]
        arms = self._arms(query)
        if not arms or limit == 0:
            return []
        statement = finding.find_tasks(
            self._dialect(), query, arms, barred=self._barred(query), limit=limit
        )
        return self._tasks_of(self._query("find_tasks", statement))

    def count_tasks(self, query: TaskQuery) -> int:
        if query.instance_id is not None:
            return len(self._instance_tasks(query))
        arms = self._arms(query)
        if not arms:
            return 0
        statement = finding.count_tasks(self._dialect(), query, arms, barred=self._barred(query))
        count: int = self._query("count_tasks", statement)[0][0]
        return count

    def find_instances(
        self, query: InstanceQuery, *, limit: int | None = None
    ) -> list[InstanceRow]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        statement = finding.find_instances(self._dialect(), query, limit=limit)
        return [InstanceRow(*r) for r in self._query("find_instances", statement)]

    def command_result(self, command_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "command_result", "SELECT result FROM commands WHERE command_id = ?", (command_id,)
        )
        return decode_result(command_id, rows[0][0]) if rows else None

    def load(self, instance_id: str) -> tuple[int, Any]:
        rows = self._rows("load", _LOAD, (instance_id,))
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return self._loaded(instance_id, *rows[0])

    def _loaded(self, instance_id: str, version: int, text: str, at: int) -> tuple[int, Any]:
        """The state of a row: its snapshot, or a `Checkpoint` with the events after it."""
        state: dict[str, Any] = decode(
            text, what=f"the state of instance {instance_id!r}", instance_id=instance_id
        )
        if at == version:
            return version, state
        tail = self._events(instance_id, at, version)
        if len(tail) != version - at:
            raise DamagedRecord(
                f"instance {instance_id!r} is at version {version} but has {len(tail)} of the"
                f" {version - at} events after its snapshot (version {at}): it is damaged;"
                " restore it from a backup",
                instance_id=instance_id,
            )
        return version, Checkpoint(state, at, tuple(tail))

    def _events(self, instance_id: str, after: int, upto: int | None = None) -> list[Event]:
        if upto is None:
            rows = self._rows("events", _EVENTS, (instance_id, after))
        else:  # a version read before: its events are written and never change
            rows = self._rows("load", _EVENTS_UPTO, (instance_id, after, upto))
        return [
            Event(instance_id, s, t, a, b, decode(
                d, what=f"event {s} of instance {instance_id!r}", instance_id=instance_id))
            for s, t, a, b, d in rows
        ]  # fmt: skip

    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        found = self._events(instance_id, after)
        if not found:
            self.instance(instance_id)  # raises InstanceNotFound when absent
        return found

    def instance(self, instance_id: str) -> InstanceRow:
        rows = self._rows("instance", f"{INSTANCE} WHERE instance_id = ?", (instance_id,))
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return InstanceRow(*rows[0])

    def load_many(self, instance_ids: Iterable[str]) -> dict[str, tuple[int, Any]]:
        ids = list(dict.fromkeys(instance_ids))
        found: dict[str, tuple[int, Any]] = {}
        for start in range(0, len(ids), 500):  # SQLite takes at most 32,766 parameters
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            sql = (
                "SELECT i.instance_id, i.version, s.state, s.state_version"  # noqa: S608
                f" FROM {_STATES} WHERE i.instance_id IN ({marks})"
            )
            for iid, version, text, at in self._rows("load_many", sql, chunk):
                try:
                    found[iid] = self._loaded(iid, version, text, at)
                except DamagedRecord as exc:
                    skip_damaged(exc)
        return found

    def searchable(self, instance_id: str) -> tuple[tuple[str, str], ...]:
        rows = self._rows("searchable", "SELECT search FROM instances WHERE instance_id = ?",
                          (instance_id,))  # fmt: skip
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        pairs = decode(rows[0][0], what=f"the searchable values of instance {instance_id!r}",
                       instance_id=instance_id, shape=list)  # fmt: skip
        return tuple((str(f), str(v)) for f, v in pairs)

    def version(self, instance_id: str) -> int:
        rows = self._rows(
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
        # only the filters given, so that each shape uses its index
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("status", status), ("process_id", process_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = INSTANCE + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_at, instance_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [InstanceRow(*r) for r in self._rows("instances", sql, params)]

    def task(self, task_id: str) -> TaskRow | None:
        rows = self._rows("task", f"{TASK} FROM tasks AS t WHERE t.task_id = ?", (task_id,))
        return self._task(rows[0]) if rows else None

    def due_timers(self, now_iso: str) -> list[TimerRow]:
        rows = self._rows(
            "due_timers",
            "SELECT instance_id, timer_id, fire_at FROM timers WHERE fire_at <= ?"
            " ORDER BY fire_at, instance_id, timer_id",
            (now_iso,),
        )
        return [TimerRow(*r) for r in rows]

    def definition(self, definition_hash: str) -> str:
        rows = self._rows(
            "definition",
            "SELECT text FROM definitions WHERE definition_hash = ?",
            (definition_hash,),
        )
        if not rows:
            raise DefinitionNotFound(f"no definition {definition_hash!r}")
        text: str = rows[0][0]
        return text

    def definitions(self, process_id: str) -> list[str]:
        order = self._definition_order()  # a fixed column name, never input
        sql = f"SELECT definition_hash FROM definitions WHERE process_id = ? ORDER BY {order}"  # noqa: S608
        rows = self._rows("definitions", sql, (process_id,))
        return [r[0] for r in rows]

    def stored_definitions(self) -> list[tuple[str, str]]:
        order = self._definition_order()
        sql = f"SELECT definition_hash, process_id FROM definitions ORDER BY {order}"  # noqa: S608
        rows = self._rows("stored_definitions", sql)
        return [(h, p) for h, p in rows]

    def stored_commands(self) -> list[tuple[str, dict[str, Any] | None]]:
        rows = self._rows(
            "stored_commands", "SELECT command_id, result FROM commands ORDER BY command_id"
        )
        return [(cid, decode_result(cid, text)) for cid, text in rows]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for table in TABLES:
            found[table] = self._rows("counts", f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
        rows = self._rows("counts", "SELECT status, count(*) FROM instances GROUP BY status")
        for status, n in rows:
            found[f"instances.{status}"] = n
        return found
