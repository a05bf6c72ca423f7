"""What the SQL stores share: the reads that are the same statement in SQLite and PostgreSQL.

Owns `RelationalStore`, the base of `SQLiteStore` and `PostgresStore`. Its
statements use ``?`` placeholders; a store runs them through `_rows`, which
turns them into its driver's style. Writing, connections and the queries that
differ (open tasks, claims) stay in each store.

Must not import anything from procflow but `errors` and `store.base`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from procflow.compiled import mypyc_attr
from procflow.errors import DefinitionNotFound, InstanceNotFound
from procflow.store.base import (
    Event,
    InstanceRow,
    Store,
    TaskRow,
    TimerRow,
    decode,
    decode_result,
)

TABLES = ("instances", "events", "tasks", "timers", "commands", "definitions")
"""The tables every SQL store keeps (`Store.counts` counts their rows)."""

INSTANCE = (
    "SELECT instance_id, process_id, definition_hash, status, version, started_at, parent_id"
    " FROM instances"
)
TASK = "SELECT t.task_id, t.instance_id, t.step_id, t.roles, t.assignee, t.candidates, t.due"


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

    def command_result(self, command_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "command_result", "SELECT result FROM commands WHERE command_id = ?", (command_id,)
        )
        return decode_result(command_id, rows[0][0]) if rows else None

    def load(self, instance_id: str) -> tuple[int, dict[str, Any]]:
        rows = self._rows(
            "load", "SELECT version, state FROM instances WHERE instance_id = ?", (instance_id,)
        )
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        state: dict[str, Any] = decode(
            rows[0][1], what=f"the state of instance {instance_id!r}", instance_id=instance_id
        )
        return rows[0][0], state

    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        rows = self._rows(
            "events",
            "SELECT seq, type, at, by, data FROM events WHERE instance_id = ? AND seq > ?"
            " ORDER BY seq",
            (instance_id, after),
        )
        if not rows:
            self.instance(instance_id)  # raises InstanceNotFound when absent
        return [
            Event(instance_id, s, t, a, b, decode(
                d, what=f"event {s} of instance {instance_id!r}", instance_id=instance_id))
            for s, t, a, b, d in rows
        ]  # fmt: skip

    def instance(self, instance_id: str) -> InstanceRow:
        rows = self._rows("instance", f"{INSTANCE} WHERE instance_id = ?", (instance_id,))
        if not rows:
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return InstanceRow(*rows[0])

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
