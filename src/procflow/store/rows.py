"""The records a store keeps and is handed: events, instances, tasks, timers, commits.

Owns `Event`, `NewEvent`, `TaskRow`, `TimerRow`, `InstanceRow`, `Changes`, `Commit` and
`Checkpoint`.
They are named tuples: immutable, compared by value, and several times
cheaper to make than frozen dataclasses (the engine makes a few per command).
Fields added after the first release have defaults, so rows made by older
code (and tests) still build.

Imports nothing from procflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


class Event(NamedTuple):
    """One stored event.

    Attributes:
        instance_id: The instance the event belongs to.
        seq: 1-based and gap-free per instance; the instance version right after it.
        type: What happened (``"started"``, ``"task_completed"``, ...).
        at: ISO-8601 datetime text from the engine's clock.
        by: The user who caused it, or None for the system.
        data: JSON payload.
    """

    instance_id: str
    seq: int
    type: str
    at: str
    by: str | None
    data: dict[str, Any]


class NewEvent(NamedTuple):
    """An event the engine hands to `Store.commit`; the store numbers it."""

    type: str
    at: str
    by: str | None
    data: dict[str, Any]


class TaskRow(NamedTuple):
    """An open task, kept as a projection for inbox queries.

    Attributes:
        candidates: Explicit user ids who may act (delegates, for-each members);
            empty means anyone holding one of ``roles``.
        due: When it is due (ISO text from the engine's clock), or None.
        opened: When it was opened (ISO text; "" for tasks stored by procflow
            before it was kept).
        barred: Users a four-eyes rule keeps from acting on it, whatever else
            they hold (``guards.barred``); inbox queries leave it out for them.
    """

    task_id: str
    instance_id: str
    step_id: str
    roles: tuple[str, ...]
    assignee: str | None
    candidates: tuple[str, ...]
    due: str | None
    opened: str = ""
    barred: tuple[str, ...] = ()


class TimerRow(NamedTuple):
    """A pending timer; ``fire_at`` is ISO-8601 text comparable with the clock's."""

    instance_id: str
    timer_id: str
    fire_at: str


class InstanceRow(NamedTuple):
    """The summary columns of an instance."""

    instance_id: str
    process_id: str
    definition_hash: str
    status: str
    version: int
    started_at: str
    parent_id: str | None
    started_by: str | None = None


class Checkpoint(NamedTuple):
    """An instance's state as a snapshot of an earlier version and the events since.

    A store that writes a snapshot only now and then (`Store.load`) gives this
    back when events follow the snapshot it holds; whoever reads it folds
    ``events`` into ``state`` (the engine does: the store never interprets
    either). A `Commit` may carry one as its ``state`` (copying a store): the
    store keeps ``state`` as the snapshot of ``version``.

    Attributes:
        state: The snapshot as of ``version``: JSON data.
        version: The version ``state`` is of.
        events: The events after ``version``, in order (`Store.commit` reads only
            ``state`` and ``version``: the commit's own events hold them).
    """

    state: Any
    version: int
    events: tuple[Event, ...] = ()


class Changes(NamedTuple):
    """What one commit changes in an instance's open tasks and pending timers, against
    the version it expects (`Commit.changes`).

    Attributes:
        tasks: Tasks opened or changed: a changed one keeps its place among the
            instance's tasks, new ones go after the others, in this order.
        dropped_tasks: Ids of tasks no longer open.
        timers: Timers set or moved.
        dropped_timers: Ids of timers no longer pending.
    """

    tasks: tuple[TaskRow, ...]
    dropped_tasks: tuple[str, ...]
    timers: tuple[TimerRow, ...]
    dropped_timers: tuple[str, ...]


class Commit(NamedTuple):
    """Everything one instance changes in one command.

    Attributes:
        expected_version: The version the engine read; 0 when the instance is new.
        events: The new events, at least one.
        state: The snapshot of the state after ``events``: JSON data, or an object
            whose ``to_json()`` gives it (`state_json` reads both), made only when
            a store asks for it: a store may write it only now and then, and keep
            the events in between (`Store.load`). A store may also keep this very
            object (`MemoryStore` does) and give it back from `Store.load`, as it
            may keep the events' payloads: do not change them once committed. A
            `Checkpoint` (no events of its own) says that the snapshot is of an
            earlier version, and the commit's events after it make the rest.
        tasks: The complete set of open tasks after the commit (replaces the old set).
            A sequence that may be built only when first read (the engine's is):
            a store that applies `changes` need not read it, and should not, for an
            instance with many open tasks.
        timers: The complete set of pending timers after the commit (replaces the old
            set); built when first read, like ``tasks``.
        changes: What the commit changes in ``tasks`` and ``timers``, against the
            instance at ``expected_version``; None when the engine does not say (a new
            instance, one that ended). A store may apply these instead of replacing
            the whole sets: the result is the same.
        started_by: Who started the instance (None: the system).
        search: The instance's searchable field values after the commit:
            ``(document.field, value as compact JSON text)``, each field once
            (replaces the old set; `Store.find_instances` finds by them).
    """

    instance_id: str
    expected_version: int
    events: tuple[NewEvent, ...]
    state: Any
    process_id: str
    definition_hash: str
    status: str
    started_at: str
    parent_id: str | None
    tasks: Sequence[TaskRow]
    timers: Sequence[TimerRow]
    changes: Changes | None = None
    started_by: str | None = None
    search: tuple[tuple[str, str], ...] = ()
