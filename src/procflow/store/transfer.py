"""Copying one store into another: `copy_store`, behind ``procflow store copy``.

Owns the copy and its check. Everything goes through the `Store` contract, so
any store copies into any other (SQLite into PostgreSQL, and back).

- Definitions first, in the order they were stored.
- Instances in batches, each batch one `Store.commit` of one `Commit` per
  instance, expected version 0: its events as they were (the store numbers
  them again from 1, so ``seq`` is kept; type, time, user and payload too),
  its snapshot, summary, open tasks in order (the store files them under
  their keys again), pending timers and searchable values. Claims on
  timers are not copied: they belong to the workers of the source.
- Then every command id with its result, so that a client retrying a command
  after the move gets the first result, not a second run.
- Last, the check: every instance read back from both stores must match
  (version, snapshot, events, open tasks, timers, searchable values), and so must the
  definitions, the command results and the row counts. A difference is a
  `StoreError` naming the instance.

The target must hold no instances and no commands. Reads go through the
public contract, so a copy of a million instances holds their summary rows
and timers in memory, not their events.

Must not import anything from procflow but `errors` and the `store` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from procflow.errors import StoreError
from procflow.store.base import Commit, InstanceRow, NewEvent, Store, TimerRow, state_json

_LAST = "\U0010ffff"
"""After every ``fire_at``: `Store.due_timers` with it lists every pending timer."""


class CopyReport(NamedTuple):
    """What a copy moved (each checked in the target)."""

    instances: int
    events: int
    definitions: int
    commands: int


def copy_store(
    source: Store,
    target: Store,
    *,
    batch: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Copy everything ``source`` holds into the empty ``target``, then check the copy.

    Args:
        batch: Instances per commit in the target.
        progress: Called with (instances copied, instances in all) after each batch.

    Raises:
        StoreError: The target is not empty, a store failed, or the copy differs
            from the source (naming the instance).
    """
    held = target.counts()
    if held.get("instances", 0) or held.get("commands", 0):
        raise StoreError(
            f"the target already holds {held.get('instances', 0)} instances and"
            f" {held.get('commands', 0)} commands: copy into an empty store"
        )
    for definition_hash, process_id in source.stored_definitions():
        target.put_definition(definition_hash, process_id, source.definition(definition_hash))
    rows = source.instances()
    timers = _timers(source)
    events = 0
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        commits = [_commit(source, row, timers.get(row.instance_id, ())) for row in chunk]
        target.commit(commits)
        events += sum(len(c.events) for c in commits)
        if progress is not None:
            progress(start + len(chunk), len(rows))
    commands = source.stored_commands()
    for start in range(0, len(commands), batch * 5):
        target.put_commands(commands[start : start + batch * 5])
    check_copy(source, target, rows)
    return CopyReport(len(rows), events, len(source.stored_definitions()), len(commands))


def _timers(store: Store) -> dict[str, tuple[TimerRow, ...]]:
    found: dict[str, list[TimerRow]] = {}
    for t in store.due_timers(_LAST):
        found.setdefault(t.instance_id, []).append(t)
    return {iid: tuple(sorted(ts, key=lambda t: t.timer_id)) for iid, ts in found.items()}


def _commit(source: Store, row: InstanceRow, timers: tuple[TimerRow, ...]) -> Commit:
    iid = row.instance_id
    version, state = source.load(iid)
    events = source.events(iid)
    if len(events) != version:
        raise StoreError(
            f"instance {iid!r} in the source has {len(events)} events at version {version}:"
            " it is damaged; nothing of it was copied"
        )
    return Commit(
        iid, 0, tuple(NewEvent(e.type, e.at, e.by, e.data) for e in events), state,
        row.process_id, row.definition_hash, row.status, row.started_at, row.parent_id,
        tuple(source.open_tasks(instance_id=iid)), timers,
        started_by=row.started_by, search=source.searchable(iid),
    )  # fmt: skip


def _loaded(store: Store, instance_id: str) -> tuple[int, Any]:
    version, state = store.load(instance_id)
    return version, state_json(state)


def check_copy(source: Store, target: Store, rows: Sequence[InstanceRow] | None = None) -> None:
    """Raise `StoreError` naming the first difference between the two stores.

    Args:
        rows: The source's instances, when already read.
    """
    rows = source.instances() if rows is None else rows
    theirs = {r.instance_id: r for r in target.instances()}
    source_timers, target_timers = _timers(source), _timers(target)
    for row in rows:
        iid = row.instance_id
        checks: list[tuple[str, Any, Any]] = [
            ("summary", row, theirs.get(iid)),
            ("snapshot", _loaded(source, iid), _loaded(target, iid) if iid in theirs else None),
            ("events", source.events(iid), target.events(iid) if iid in theirs else None),
            ("open tasks", source.open_tasks(instance_id=iid), target.open_tasks(instance_id=iid)),
            ("timers", source_timers.get(iid), target_timers.get(iid)),
            (
                "searchable values",
                source.searchable(iid),
                target.searchable(iid) if iid in theirs else None,
            ),
        ]
        for what, mine, copied in checks:
            if mine != copied:
                raise StoreError(f"the copy of instance {iid!r} differs from the source: {what}")
    texts = [
        (h, source.definition(h), target.definition(h)) for h, _ in source.stored_definitions()
    ]
    for definition_hash, mine, copied in texts:
        if mine != copied:
            raise StoreError(f"the copy of definition {definition_hash!r} differs from the source")
    for what, mine, copied in (
        ("definitions", source.stored_definitions(), target.stored_definitions()),
        ("command results", source.stored_commands(), target.stored_commands()),
        ("row counts", source.counts(), target.counts()),
    ):
        if mine != copied:
            raise StoreError(f"the copy differs from the source: {what}")
