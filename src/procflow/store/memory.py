"""An in-process store for tests and throwaway runs.

Owns nothing beyond the `Store` contract, kept at the cost of what a command
changes rather than what an instance holds:

- A commit is kept by reference: the state snapshot and the events are the
  very objects the `Commit` carried, never copied or encoded to text (that
  was most of the cost of a command). The contract: nobody changes a
  snapshot or a payload after committing it, and `load` returns the stored
  snapshot itself, to be read, never changed. The engine keeps it: its
  states are copy-on-write and it never touches a payload after emitting it.
- Snapshots and event payloads are checked to be JSON data only by a
  ``strict`` store (dicts with text keys, lists, text, int, finite float,
  bool, None; tuples too in payloads, which come back as lists), so that
  what SQLite would refuse is refused here too. The engine's payloads are
  built from encoded submissions and its snapshot is their fold; the
  engine's tests run on strict stores, and the replay tests compare the two.
  A strict store skips the parts of a snapshot that are the very objects of
  the instance's previous snapshot, checked then, so its check costs what a
  command changed.
- `events` returns a JSON round trip of each payload, as `SQLiteStore` does:
  fresh objects the caller may change, tuples as lists. Command results are
  kept as JSON text.
- An instance's summary row is made when asked for, from the last commit.
- Pending timers are also kept in a heap by ``fire_at`` (stale entries are
  dropped when they come up, and the heap is rebuilt when they outnumber the
  live ones), so that finding and claiming due timers reads only due ones.
- Inbox and instance queries read indexes built on the first query and kept
  from then on (a store that is never queried pays nothing for them): the
  open tasks filed by key (`store.query.task_keys`), and the instances by
  searchable field value. A query reads the tasks of the keys it walks (or
  the instances of one value), then filters and sorts them in Python.

One lock serialises every call.

Must not import anything from procflow but `errors`, `compiled` and `store.base`.
"""

from __future__ import annotations

import heapq
import itertools
import math
import secrets
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from procflow.compiled import mypyc_attr
from procflow.errors import Conflict, DefinitionNotFound, InstanceNotFound, StoreError
from procflow.store.base import (
    Changes,
    Commit,
    Event,
    InstanceQuery,
    InstanceRow,
    NewEvent,
    Store,
    TaskQuery,
    TaskRow,
    TimerRow,
    check_commits,
    command_clash,
    conflict_message,
    dumps,
    loads,
    role_set,
    state_json,
    visible,
)
from procflow.store.query import (
    after_cursor,
    instance_matches,
    plan,
    sort_key,
    step_arms,
    task_keys,
    task_matches,
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


class _Instance:
    __slots__ = ("events", "last", "tasks", "timers", "version")

    def __init__(self, last: Commit) -> None:
        self.last = last  # the committed objects themselves: nobody mutates them
        self.version = 0
        self.events: list[NewEvent] = []
        self.tasks: dict[str, TaskRow] = {}
        """Task id -> open task, in the order the engine listed them."""
        self.timers: dict[str, TimerRow] = {}
        """Timer id -> pending timer."""

    def row(self) -> InstanceRow:
        c = self.last
        return InstanceRow(
            c.instance_id, c.process_id, c.definition_hash, c.status, self.version,
            c.started_at, c.parent_id, c.started_by,
        )  # fmt: skip


@mypyc_attr(allow_interpreted_subclasses=True)
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
        self._heap: list[tuple[str, str, str]] = []
        """(fire_at, instance id, timer id) of pending timers; stale entries too."""
        self._due: dict[tuple[str, str], str] = {}
        """Timers taken off the heap once due: (instance id, timer id) -> fire_at."""
        self._claims: dict[tuple[str, str], tuple[str, str]] = {}
        """(instance id, timer id) -> (claimant, until)."""
        self._timer_count = 0
        self._keys: dict[str, dict[str, TaskRow]] | None = None
        """Task key -> task id -> row (`store.query.task_keys`); None until first queried."""
        self._search: dict[tuple[str, str], set[str]] | None = None
        """(field, value) -> instance ids; None until first queried."""
        self._secret = secrets.token_bytes(32)

    def commit(
        self,
        commits: Sequence[Commit],
        *,
        command_id: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        check_commits(commits)
        if self.strict:
            self._check_json(commits)
        result_json = None if result is None else dumps(result, what="command result")
        instances = self._instances
        with self._lock:
            if command_id is not None and command_id in self._commands:
                first: dict[str, Any] | None = loads(self._commands[command_id])
                return first
            self._check_versions(commits)  # before changing anything: a failure leaves no trace
            for c in commits:  # readers take the lock too: updating in place is safe
                iid = c.instance_id
                inst = instances.get(iid)
                before: Commit | None = None
                if inst is None:
                    inst = instances[iid] = _Instance(c)
                    changes = None
                else:
                    before = inst.last
                    inst.last, changes = c, c.changes
                if changes is None:
                    self._replace_rows(inst, iid, c)
                else:
                    self._change_rows(inst, iid, changes)
                if self._search is not None and (before is None or before.search != c.search):
                    self._index_search(iid, () if before is None else before.search, c.search)
                inst.version += len(c.events)
                inst.events += c.events
            if command_id is not None:
                self._commands[command_id] = "null" if result_json is None else result_json
        return None

    def _check_versions(self, commits: Sequence[Commit]) -> None:
        """`Conflict` when an instance is not at the version a commit expects; `StoreError`
        when a commit gives another instance's task id."""
        instances, owner = self._instances, self._task_owner
        for c in commits:
            iid = c.instance_id
            current = instances.get(iid)
            version = current.version if current else 0
            if version != c.expected_version:
                raise Conflict(conflict_message(iid, version, c.expected_version))
            changes = c.changes if current is not None else None
            for t in c.tasks if changes is None else changes.tasks:
                tid = t.task_id
                if owner.get(tid, iid) != iid:
                    raise StoreError(f"task id {tid!r} already belongs to {owner[tid]!r}")

    def _replace_rows(self, inst: _Instance, iid: str, c: Commit) -> None:
        """Make the instance's tasks and timers the commit's complete sets."""
        owner = self._task_owner
        tasks = {t.task_id: t for t in c.tasks}
        if tasks.keys() != inst.tasks.keys():  # the same ids: their owners stand
            for tid in inst.tasks:
                del owner[tid]
            for tid in tasks:
                owner[tid] = iid
        if self._keys is not None and tasks != inst.tasks:
            kept, old = set(tasks.values()), set(inst.tasks.values())
            self._file(c.process_id, [t for t in old if t not in kept],
                       [t for t in kept if t not in old])  # fmt: skip
        inst.tasks = tasks
        if c.timers or inst.timers:  # (most instances have none, before and after)
            timers = {t.timer_id: t for t in c.timers}
            if timers != inst.timers:
                self._index_timers(iid, inst.timers, timers)
                inst.timers = timers

    def _change_rows(self, inst: _Instance, iid: str, changes: Changes) -> None:
        """Apply what a commit changed in the instance's tasks and timers."""
        owner, tasks = self._task_owner, inst.tasks
        if self._keys is not None:
            gone = [tasks[tid] for tid in changes.dropped_tasks if tid in tasks]
            gone += [tasks[t.task_id] for t in changes.tasks if t.task_id in tasks]
            self._file(inst.last.process_id, gone, changes.tasks)
        for tid in changes.dropped_tasks:
            if tasks.pop(tid, None) is not None:
                del owner[tid]
        for t in changes.tasks:
            tasks[t.task_id] = t
            owner[t.task_id] = iid
        if changes.timers or changes.dropped_timers:
            before = {tid: inst.timers[tid] for tid in changes.dropped_timers if tid in inst.timers}
            after = {t.timer_id: t for t in changes.timers}
            before.update((tid, inst.timers[tid]) for tid in after if tid in inst.timers)
            self._index_timers(iid, before, after, drop=changes.dropped_timers)
            for tid in changes.dropped_timers:
                inst.timers.pop(tid, None)
            inst.timers.update(after)

    def _index_timers(
        self,
        iid: str,
        old: dict[str, TimerRow],
        new: dict[str, TimerRow],
        *,
        drop: tuple[str, ...] | None = None,
    ) -> None:
        """Push an instance's new or moved timers on the heap; drop claims on those gone.

        ``old`` and ``new`` are the timers before and after (all of them, or, with
        ``drop``, those that change: ``drop`` lists the ids that go).
        """
        gone = [tid for tid in (old if drop is None else drop) if tid not in new]
        for tid in gone:
            self._claims.pop((iid, tid), None)
        heap = self._heap
        for tid, t in new.items():
            before = old.get(tid)
            if before is None or before.fire_at != t.fire_at:
                if before is not None:
                    self._claims.pop((iid, tid), None)
                heapq.heappush(heap, (t.fire_at, iid, tid))
        self._timer_count += sum(tid not in old for tid in new) - sum(tid in old for tid in gone)
        if len(heap) > 2 * self._timer_count + 1024:  # mostly stale: rebuild
            self._heap = [
                (t.fire_at, t.instance_id, t.timer_id)
                for i in self._instances.values()
                for t in i.timers.values()
            ]
            heapq.heapify(self._heap)
            self._due.clear()

    def _file(self, process_id: str, gone: Iterable[TaskRow], new: Iterable[TaskRow]) -> None:
        """Refile an instance's changed tasks under their keys; call holding the lock."""
        keys = self._keys
        if keys is None:  # pragma: no cover - the callers check
            return
        for t in gone:
            for key in task_keys(t, process_id):
                filed = keys.get(key)
                if filed is not None and filed.get(t.task_id) == t:
                    del filed[t.task_id]
                    if not filed:
                        del keys[key]
        for t in new:
            for key in task_keys(t, process_id):
                keys.setdefault(key, {})[t.task_id] = t

    def _index_search(
        self, iid: str, old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...]
    ) -> None:
        """Refile an instance under its searchable values; call holding the lock."""
        index = self._search
        if index is None:  # pragma: no cover - the caller checks
            return
        for pair in set(old) - set(new):
            held = index.get(pair)
            if held is not None:
                held.discard(iid)
                if not held:
                    del index[pair]
        for pair in new:
            index.setdefault(pair, set()).add(iid)

    def _task_index(self) -> dict[str, dict[str, TaskRow]]:
        """The task keys, built on first use; call holding the lock."""
        if self._keys is None:
            self._keys = {}
            for inst in self._instances.values():
                self._file(inst.last.process_id, (), inst.tasks.values())
        return self._keys

    def _live_timer(self, iid: str, tid: str, at: str) -> TimerRow | None:
        inst = self._instances.get(iid)
        if inst is not None:
            t = inst.timers.get(tid)
            if t is not None and t.fire_at == at:
                return t
        return None

    def _due_now(self, now_iso: str) -> list[TimerRow]:
        """The due timers, in order; call holding the lock. Reads the due ones only."""
        heap, due = self._heap, self._due
        while heap and heap[0][0] <= now_iso:
            at, iid, tid = heapq.heappop(heap)
            if self._live_timer(iid, tid, at) is not None:
                due[iid, tid] = at
        found: list[TimerRow] = []
        for (iid, tid), at in list(due.items()):
            row = self._live_timer(iid, tid, at)
            if row is None:
                del due[iid, tid]
            elif at <= now_iso:
                found.append(row)
        found.sort(key=lambda t: (t.fire_at, t.instance_id, t.timer_id))
        return found

    def _check_json(self, commits: Sequence[Commit]) -> None:
        """What a strict store checks: snapshots and payloads are JSON data."""
        for c in commits:
            # any snapshot this store accepted was checked: reading it unlocked is fine
            old = self._instances.get(c.instance_id)
            state = state_json(c.state)
            why = (
                check_json(state, state_json(old.last.state) if old else None)
                if type(state) is dict
                else "a snapshot is a dict"
            )
            if why is not None:
                raise TypeError(f"state of {c.instance_id!r} is not JSON: {why}")
            for e in c.events:
                why = check_json(e.data, tuples=True) if type(e.data) is dict else "not a dict"
                if why is not None:
                    raise TypeError(f"data of a {e.type!r} event is not JSON: {why}")

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

    def load(self, instance_id: str) -> tuple[int, Any]:
        """The version and the stored snapshot itself: read it, never change it."""
        with self._lock:
            inst = self._get(instance_id)
            return inst.version, inst.last.state

    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        with self._lock:
            inst = self._get(instance_id)
            start = max(after, 0)
            events = inst.events[start:]
        # a JSON round trip, as from SQLite: fresh objects, tuples as lists
        payloads = loads(dumps([e.data for e in events], what="event data"))
        return [
            Event(instance_id, seq, e.type, e.at, e.by, data)
            for seq, e, data in zip(itertools.count(start + 1), events, payloads)
        ]

    def instance(self, instance_id: str) -> InstanceRow:
        with self._lock:
            return self._get(instance_id).row()

    def version(self, instance_id: str) -> int:
        with self._lock:  # `_get`, inline: every command asks it
            inst = self._instances.get(instance_id)
            if inst is not None:
                return inst.version
        raise InstanceNotFound(f"no instance {instance_id!r}")

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
                i.row()
                for i in self._instances.values()
                if (status is None or i.last.status == status)
                and (process_id is None or i.last.process_id == process_id)
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
                found = [t for _, i in sorted(self._instances.items()) for t in i.tasks.values()]
            else:
                inst = self._instances.get(instance_id)
                found = list(inst.tasks.values()) if inst else []
        held = role_set(roles)
        if user is None and roles is None:
            return found
        return [t for t in found if visible(t, user=user, roles=held)]

    def task(self, task_id: str) -> TaskRow | None:
        with self._lock:
            owner = self._task_owner.get(task_id)
            if owner is None:
                return None
            return self._instances[owner].tasks[task_id]

    def _matching(self, q: TaskQuery) -> list[TaskRow]:
        """The tasks of the keys ``q`` walks that it admits (cursor aside); holding the lock."""
        instances = self._instances
        if q.instance_id is not None:
            inst = instances.get(q.instance_id)
            found = [] if inst is None else list(inst.tasks.values())
        else:
            keys = self._task_index()
            p = plan(q)
            arms = p.arms
            if p.discover is not None:
                arms = step_arms(q, [k for k in keys if k.startswith(p.discover)], p.step_suffix)
            rows: dict[str, TaskRow] = {}
            for arm in arms:
                rows.update(keys.get(arm.key, {}))
            found = list(rows.values())
        owner = self._task_owner
        return [t for t in found if task_matches(t, instances[owner[t.task_id]].last.process_id, q)]

    def find_tasks(self, query: TaskQuery, *, limit: int | None = None) -> list[TaskRow]:
        with self._lock:
            found = [t for t in self._matching(query) if after_cursor(query, t)]
        found.sort(key=lambda t: (sort_key(t, query.order), t.task_id))
        return found if limit is None else found[:limit]

    def count_tasks(self, query: TaskQuery) -> int:
        with self._lock:
            return len(self._matching(query))

    def find_instances(
        self, query: InstanceQuery, *, limit: int | None = None
    ) -> list[InstanceRow]:
        with self._lock:
            instances = self._instances
            if query.where:
                if self._search is None:
                    self._search = {}
                    for iid, inst in instances.items():
                        self._index_search(iid, (), inst.last.search)
                ids: Iterable[str] = self._search.get(query.where[0], set())
            else:
                ids = instances
            found = [
                row
                for row, search in ((instances[i].row(), instances[i].last.search) for i in ids)
                if instance_matches(row, search, query)
            ]
        found.sort(key=lambda r: (r.started_at, r.instance_id))
        return found if limit is None else found[:limit]

    def searchable(self, instance_id: str) -> tuple[tuple[str, str], ...]:
        with self._lock:
            return self._get(instance_id).last.search

    def cursor_key(self) -> bytes:
        return self._secret

    def due_timers(self, now_iso: str) -> list[TimerRow]:
        with self._lock:
            return self._due_now(now_iso)

    def claim_due_timers(
        self, now_iso: str, *, until_iso: str, claimant: str, limit: int = 100
    ) -> list[TimerRow]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        claims = self._claims
        with self._lock:
            taken: list[TimerRow] = []
            for t in self._due_now(now_iso):
                held = claims.get((t.instance_id, t.timer_id))
                if held is None or held[1] <= now_iso:
                    claims[t.instance_id, t.timer_id] = (claimant, until_iso)
                    taken.append(t)
                    if len(taken) == limit:
                        break
            return taken

    def release_timers(self, timers: Iterable[TimerRow], *, claimant: str) -> None:
        claims = self._claims
        with self._lock:
            for t in timers:
                key = (t.instance_id, t.timer_id)
                held = claims.get(key)
                if held is not None and held[0] == claimant:
                    del claims[key]

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

    def stored_definitions(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(h, p) for h, (p, _) in self._definitions.items()]

    def stored_commands(self) -> list[tuple[str, dict[str, Any] | None]]:
        with self._lock:
            items = sorted(self._commands.items())
        return [(cid, loads(text)) for cid, text in items]

    def put_commands(self, commands: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        encoded = [(cid, dumps(result, what="command result")) for cid, result in commands]
        with self._lock:
            for cid, text in encoded:
                if self._commands.get(cid, text) != text:
                    raise StoreError(command_clash(cid))
            self._commands.update(encoded)

    def counts(self) -> dict[str, int]:
        with self._lock:
            found = {
                "instances": len(self._instances),
                "events": sum(i.version for i in self._instances.values()),
                "tasks": len(self._task_owner),
                "timers": self._timer_count,
                "commands": len(self._commands),
                "definitions": len(self._definitions),
            }
            for i in self._instances.values():
                key = f"instances.{i.last.status}"
                found[key] = found.get(key, 0) + 1
        return found

    def close(self) -> None:
        """Nothing to release; kept for the `Store` contract."""
