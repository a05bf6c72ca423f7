"""An in-process store for tests and throwaway runs.

Owns nothing beyond the `Store` contract, kept at the cost of what a command
changes rather than what an instance holds:

- A commit is kept by reference: the state snapshot and the event payloads
  are the very objects the `Commit` carried, never encoded to text (that was
  most of the cost of a command). The contract: nobody changes a snapshot or
  a payload after committing it, and `load` returns the stored snapshot
  itself, to be read, never changed. The engine keeps it: its states are
  copy-on-write and it never touches a payload after emitting it.
- Event payloads are checked to be JSON data at commit (dicts with text
  keys, lists, tuples, text, int, finite float, bool, None), so a payload
  SQLite would refuse is refused here too. A snapshot is checked only by a
  ``strict`` store: the engine's snapshot is the fold of its events, made of
  their values, and the replay tests compare the two. A strict store also
  refuses tuples in a snapshot (SQLite would give them back as lists); it
  skips the parts that are the very objects of the instance's previous
  snapshot, checked then, so its check costs what a command changed.
- `events` returns a JSON round trip of each payload, as `SQLiteStore` does:
  fresh objects the caller may change, tuples as lists. Command results are
  kept as JSON text.

One lock serialises every call.

Must not import anything from procflow but `errors` and `store.base`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from procflow.errors import Conflict, DefinitionNotFound, InstanceNotFound, StoreError
from procflow.store.base import (
    Commit,
    Event,
    InstanceRow,
    NewEvent,
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

_PLAIN = frozenset({str, int, bool, type(None)})
"""Types a JSON round trip gives back unchanged (floats too, when finite)."""


def _nothing(key: str) -> None:
    return None


def check_json(value: Any, known: Any = None, *, tuples: bool = False) -> str | None:
    """Why ``value`` does not come back unchanged from a JSON round trip; None when it does.

    JSON data here is dicts with text keys, lists, text, int, finite float,
    bool and None (and tuples, when ``tuples``: they come back as lists).
    Anything that *is* ``known``, or the same object under the same key of
    ``known``, was checked before and is not walked again.
    """
    if value is known:
        return None
    kind = type(value)
    if kind is dict:
        get = known.get if type(known) is dict else _nothing
        for key, item in value.items():
            if type(key) is not str:
                return f"the key {key!r} is not text"
            if type(item) not in _PLAIN:
                old = get(key)
                if item is not old and (why := check_json(item, old, tuples=tuples)):
                    return why
        return None
    if kind is list or (tuples and kind is tuple):
        for item in value:
            if type(item) not in _PLAIN and (why := check_json(item, None, tuples=tuples)):
                return why
        return None
    if kind is float:
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if kind in _PLAIN:
        return None
    return f"{type(value).__name__} {value!r:.60} is not a JSON value"


def _encode_payloads(events: Sequence[NewEvent]) -> str:
    """The payloads of a commit's events as one JSON array (one encoder call, not one each)."""
    try:
        return dumps([e.data for e in events], what="event data")
    except TypeError:
        for e in events:  # name the culprit
            dumps(e.data, what=f"data of a {e.type!r} event")
        raise


class _Instance:
    __slots__ = ("events", "payloads", "row", "state", "tasks", "timers")

    def __init__(
        self,
        row: InstanceRow,
        state: dict[str, Any],
        tasks: tuple[TaskRow, ...],
        timers: tuple[TimerRow, ...],
    ) -> None:
        self.row = row
        self.state = state  # the committed object itself: nobody mutates it
        self.tasks = tasks
        self.timers = timers
        self.events: list[tuple[str, str, str | None]] = []  # type, at, by of each event
        self.payloads: list[str] = []  # per commit, its events' payloads as one JSON array


class MemoryStore(Store):
    """Keeps everything in dictionaries; lost when the process ends.

    Commits are kept by reference, not copied: whoever commits a snapshot or
    an event payload must not change it afterwards, and `load` returns the
    stored snapshot itself, to be read and never changed (the engine copies
    on write). `events` returns fresh copies, as `SQLiteStore` does.

    Args:
        strict: Also check every snapshot to be JSON data that a round trip
            keeps unchanged (event payloads are always checked).
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
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
        instances = self._instances
        for c in commits:
            if self.strict:
                # any snapshot this store accepted was checked: reading it unlocked is fine
                old = instances.get(c.instance_id)
                why = (
                    check_json(c.state, old.state if old else None)
                    if type(c.state) is dict
                    else "a snapshot is a dict"
                )
                if why is not None:
                    raise TypeError(f"state of {c.instance_id!r} is not JSON: {why}")
        payloads = [_encode_payloads(c.events) for c in commits]
        result_json = None if result is None else dumps(result, what="command result")
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
            for c, data in zip(commits, payloads, strict=True):
                self._apply(c, data)
            if command_id is not None:
                self._commands[command_id] = "null" if result_json is None else result_json
        return None

    def _apply(self, c: Commit, payloads: str) -> None:
        iid = c.instance_id
        row = InstanceRow(
            iid, c.process_id, c.definition_hash, c.status,
            c.expected_version + len(c.events), c.started_at, c.parent_id,
        )  # fmt: skip
        meta = [(e.type, e.at, e.by) for e in c.events]
        owner = self._task_owner
        inst = self._instances.get(iid)
        if inst is None:
            inst = self._instances[iid] = _Instance(row, c.state, c.tasks, c.timers)
        else:  # readers take the lock too: updating in place is safe
            for t in inst.tasks:
                del owner[t.task_id]
            inst.row, inst.state, inst.tasks, inst.timers = row, c.state, c.tasks, c.timers
        inst.events += meta
        inst.payloads.append(payloads)
        for t in c.tasks:
            owner[t.task_id] = iid

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
        """The version and the stored snapshot itself: read it, never change it."""
        with self._lock:
            inst = self._get(instance_id)
            return inst.row.version, inst.state

    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        with self._lock:
            inst = self._get(instance_id)
            records, texts = list(inst.events), list(inst.payloads)
        payloads = [data for text in texts for data in loads(text)]
        start = max(after, 0)
        return [
            Event(instance_id, seq, type_, at, by, data)
            for seq, (type_, at, by), data in zip(
                range(start + 1, len(records) + 1), records[start:], payloads[start:], strict=True
            )
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
