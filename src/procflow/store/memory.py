"""An in-process store for tests and throwaway runs.

Owns nothing beyond the `Store` contract. Payloads are kept as JSON text, as
SQLite keeps them, so both stores reject the same values, return fresh
objects that callers may mutate, and round-trip identically (tuples come back
as lists). One lock serialises every call.

Must not import anything from procflow but `errors` and `store.base`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from procflow.errors import Conflict, DefinitionNotFound, InstanceNotFound, StoreError
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
    visible,
)


@dataclass
class _Instance:
    row: InstanceRow
    state: str
    events: list[tuple[str, str, str | None, str]]  # type, at, by, data as JSON
    tasks: tuple[TaskRow, ...]
    timers: tuple[TimerRow, ...]


class MemoryStore(Store):
    """Keeps everything in dictionaries; lost when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, _Instance] = {}
        self._task_owner: dict[str, str] = {}
        self._commands: dict[str, str] = {}
        self._definitions: dict[str, tuple[str, str]] = {}

    def commit(
        self,
        commits: Sequence[Commit],
        *,
        command_id: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        check_commits(commits)
        states = [dumps(c.state, what=f"state of {c.instance_id!r}") for c in commits]
        event_data = [
            [dumps(e.data, what=f"data of a {e.type!r} event") for e in c.events] for c in commits
        ]
        result_json = dumps(result, what="command result")
        with self._lock:
            if command_id is not None and command_id in self._commands:
                first: dict[str, Any] | None = loads(self._commands[command_id])
                return first
            # Check everything before changing anything: a failure leaves no trace.
            for c in commits:
                current = self._instances.get(c.instance_id)
                version = current.row.version if current else 0
                if version != c.expected_version:
                    raise Conflict(conflict_message(c.instance_id, version, c.expected_version))
                for t in c.tasks:
                    owner = self._task_owner.get(t.task_id, c.instance_id)
                    if owner != c.instance_id:
                        raise StoreError(f"task id {t.task_id!r} already belongs to {owner!r}")
            for c, state, data in zip(commits, states, event_data, strict=True):
                self._apply(c, state, data)
            if command_id is not None:
                self._commands[command_id] = result_json
        return None

    def _apply(self, c: Commit, state: str, data: list[str]) -> None:
        old = self._instances.get(c.instance_id)
        row = InstanceRow(
            instance_id=c.instance_id,
            process_id=c.process_id,
            definition_hash=c.definition_hash,
            status=c.status,
            version=c.expected_version + len(c.events),
            started_at=c.started_at,
            parent_id=c.parent_id,
        )
        events = old.events if old else []
        events.extend((e.type, e.at, e.by, d) for e, d in zip(c.events, data, strict=True))
        if old:
            for t in old.tasks:
                del self._task_owner[t.task_id]
        for t in c.tasks:
            self._task_owner[t.task_id] = c.instance_id
        self._instances[c.instance_id] = _Instance(row, state, events, c.tasks, c.timers)

    def command_result(self, command_id: str) -> dict[str, Any] | None:
        with self._lock:
            text = self._commands.get(command_id)
        found: dict[str, Any] | None = None if text is None else loads(text)
        return found

    def _get(self, instance_id: str) -> _Instance:
        try:
            return self._instances[instance_id]
        except KeyError:
            raise InstanceNotFound(f"no instance {instance_id!r}") from None

    def load(self, instance_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            inst = self._get(instance_id)
            version, state = inst.row.version, inst.state
        snapshot: dict[str, Any] = loads(state)
        return version, snapshot

    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        with self._lock:
            records = self._get(instance_id).events[max(after, 0) :]
        start = max(after, 0) + 1
        return [
            Event(instance_id, seq, type_, at, by, loads(data))
            for seq, (type_, at, by, data) in enumerate(records, start)
        ]

    def instance(self, instance_id: str) -> InstanceRow:
        with self._lock:
            return self._get(instance_id).row

    def instances(
        self,
        *,
        status: str | None = None,
        process_id: str | None = None,
        limit: int | None = None,
    ) -> list[InstanceRow]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with self._lock:
            rows = [
                i.row
                for i in self._instances.values()
                if (status is None or i.row.status == status)
                and (process_id is None or i.row.process_id == process_id)
            ]
        rows.sort(key=lambda r: (r.started_at, r.instance_id))
        return rows if limit is None else rows[:limit]

    def open_tasks(
        self,
        *,
        instance_id: str | None = None,
        user: str | None = None,
        roles: Iterable[str] | None = None,
    ) -> list[TaskRow]:
        with self._lock:
            if instance_id is None:
                found = [t for _, i in sorted(self._instances.items()) for t in i.tasks]
            else:
                inst = self._instances.get(instance_id)
                found = list(inst.tasks) if inst else []
        held = role_set(roles)
        if user is None and roles is None:
            return found
        return [t for t in found if visible(t, user=user, roles=held)]

    def task(self, task_id: str) -> TaskRow | None:
        with self._lock:
            owner = self._task_owner.get(task_id)
            if owner is None:
                return None
            return next(t for t in self._instances[owner].tasks if t.task_id == task_id)

    def due_timers(self, now_iso: str) -> list[TimerRow]:
        with self._lock:
            due = [t for i in self._instances.values() for t in i.timers if t.fire_at <= now_iso]
        due.sort(key=lambda t: (t.fire_at, t.instance_id, t.timer_id))
        return due

    def put_definition(self, definition_hash: str, process_id: str, text: str) -> None:
        with self._lock:
            known = self._definitions.get(definition_hash)
            if known is None:
                self._definitions[definition_hash] = (process_id, text)
            elif known != (process_id, text):
                raise StoreError(
                    f"definition {definition_hash!r} is already stored with other content"
                )

    def definition(self, definition_hash: str) -> str:
        with self._lock:
            known = self._definitions.get(definition_hash)
        if known is None:
            raise DefinitionNotFound(f"no definition {definition_hash!r}")
        return known[1]

    def definitions(self, process_id: str) -> list[str]:
        with self._lock:
            return [h for h, (p, _) in self._definitions.items() if p == process_id]

    def close(self) -> None:
        """Nothing to release; kept for the `Store` contract."""
