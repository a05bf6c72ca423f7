"""The engine's plumbing: definitions, snapshots, storing commands, and queries.

Owns `EngineCore`, the base of `Engine`: the caches (compiled definitions by
content hash, recent snapshots by instance, checked against the store's
version before use), what the interpreter asks of the engine (the `Host`
protocol), how a finished `Command` is stored (one atomic commit, then the
hooks), and the read-only queries. The commands themselves, and every check
they make, are in `engine` and `guards`.

Imports `flow.load`, `store`, `errors` and the runtime's modules below `engine`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from procflow.compiled import mypyc_attr
from procflow.errors import (
    ExecutionError,
    InstanceNotFound,
    NotAllowed,
    ProcessNotFound,
    TaskNotOpen,
)
from procflow.flow.load import flow_of, load_definition
from procflow.language.model import Process
from procflow.language.workcalendar import Calendar
from procflow.runtime.clock import Clock, iso
from procflow.runtime.guards import as_text, as_user, can_exist, check_actor, split_task_id
from procflow.runtime.hooks import Hooks
from procflow.runtime.interpreter import Command, Run
from procflow.runtime.people import Directory, User
from procflow.runtime.program import Node, Program
from procflow.runtime.records import commit_of, tell_hooks
from procflow.runtime.state import State
from procflow.runtime.views import Instance, Task, build_task
from procflow.store import Event, Store, TaskRow

__all__ = ["EngineCore"]


@mypyc_attr(allow_interpreted_subclasses=True)
class EngineCore:
    """State and plumbing shared by the commands of `Engine`; not used on its own."""

    store: Store
    clock: Clock
    calendar: Calendar
    directory: Directory | None
    hooks: Hooks | None
    track_notices: bool
    catalog: Mapping[str, Process]
    _new_id: Callable[[], str]
    _cache_size: int
    _cache: OrderedDict[str, tuple[int, State]]
    _programs: dict[str, Program]
    _current: dict[str, Program]
    _stored: set[str]
    _last_now: tuple[datetime, str] | None
    _lock: threading.Lock
    _seen: dict[str, datetime]
    """Scheduled process id -> when this engine first saw its schedule (`runtime.schedule`)."""
    _decided: set[str]
    """Scheduled starts (command ids) already made or refused."""

    def update_catalog(self, catalog: Mapping[str, Process]) -> None:
        """Use new definitions for instances started from now on.

        Running instances keep the definition they started with (by content hash).
        """
        self.catalog = catalog
        self._current = {}
        for process_id, process in catalog.items():
            if process.schedule is not None and process_id not in self._seen:
                self._seen[process_id] = self.clock.now()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # -- what the interpreter needs (the `Host` protocol) ---------------------------------

    def new_id(self) -> str:
        return self._new_id()

    def load(self, instance_id: str) -> tuple[int, State]:
        """The version and snapshot of an instance (from the cache when still current)."""
        cached = self._cache.get(instance_id)
        if cached is not None and self.store.version(instance_id) == cached[0]:
            return cached
        if not can_exist(instance_id):  # refused the same way by every store
            raise InstanceNotFound(f"no instance {instance_id!r}")
        loaded = self.store.load(instance_id)
        self._remember(instance_id, loaded)
        return loaded

    def _remember(self, instance_id: str, entry: tuple[int, State]) -> None:
        # least recently stored first; OrderedDict evicts in O(1), where deleting
        # the first key of a dict again and again makes finding the next one slow
        with self._lock:  # commands may run in several threads
            cache = self._cache
            cache[instance_id] = entry
            cache.move_to_end(instance_id)
            if len(cache) > self._cache_size:
                cache.popitem(last=False)

    def program(self, definition_hash: str) -> Program:
        """The compiled definition with this hash: from the catalog or from the store."""
        program = self._programs.get(definition_hash)
        if program is None:
            for process in self.catalog.values():
                if flow_of(process).definition_hash == definition_hash:
                    program = Program(process)
                    break
            else:
                process = load_definition(self.store.definition(definition_hash))
                program = Program(process)
                program.definition_hash = definition_hash
            self._programs[definition_hash] = program
            self._stored.add(definition_hash)  # it came from the store or will be put there
        return program

    def program_of(self, process_id: str) -> Program:
        """The current definition of a process of the catalog."""
        program = self._current.get(process_id)
        if program is None:
            process = self.catalog.get(process_id)
            if process is None:
                known = ", ".join(sorted(self.catalog)) or "none"
                raise ProcessNotFound(f"no process {process_id!r} (the catalog has: {known})")
            digest = flow_of(process).definition_hash
            program = self._programs.get(digest) or Program(process)
            self._programs[digest] = program
            self._current[process_id] = program
        return program

    def members(self, roles: Sequence[str], *, why: str) -> list[str]:
        if self.directory is None:
            raise ExecutionError(f"{why} needs to know who holds {', '.join(roles)}: "
                                 "give the engine a directory")  # fmt: skip
        users: dict[str, None] = {}
        for role in roles:
            users.update(dict.fromkeys(self.directory.members(role)))
        return list(users)

    def _command(self, by: str | None, now: datetime | None = None) -> Command:
        moment = self.clock.now() if now is None else now
        last = self._last_now
        if last is None or last[0] != moment:  # the text form is the same for a still clock
            last = self._last_now = (moment, iso(moment))
        return Command(self, by, moment, last[1])

    # -- checks --------------------------------------------------------------------------

    def _task_run(self, cmd: Command, task_id: str) -> tuple[Run, str, dict[str, Any], Node]:
        instance_id, number = split_task_id(task_id)
        try:
            run = cmd.open(instance_id)
        except InstanceNotFound:
            raise TaskNotOpen(f"there is no task {task_id!r}") from None
        record = run.state["tasks"].get(number)
        if record is None:
            raise TaskNotOpen(f"the task {task_id!r} is not open (done, withdrawn or unknown)")
        return run, number, record, run.program.nodes[record["step"]]

    def _replayed(self, command_id: str) -> Instance | None:
        result = self.store.command_result(as_text(command_id, name="command_id"))
        return None if result is None else self.instance(result["instance"])

    # -- storing -------------------------------------------------------------------------

    def _store(self, cmd: Command, command_id: str | None, primary: Run) -> Instance:
        runs = [r for r in cmd.runs.values() if r.events]
        if not runs:
            return Instance(primary.id, primary.version, primary.state, primary.program)
        for run in runs:
            digest = run.program.definition_hash
            if digest not in self._stored:
                self.store.put_definition(
                    digest, run.program.process_id, run.program.definition_text
                )
                self._stored.add(digest)
        commits = [commit_of(run) for run in runs]
        try:
            result = None if command_id is None else {"instance": primary.id}
            first = self.store.commit(commits, command_id=command_id, result=result)
        except Exception:
            for run in runs:
                self._cache.pop(run.id, None)
            raise
        if first is not None:  # the same command_id won a race: report what it did
            return self.instance(first["instance"])
        for run in runs:
            run.version += len(run.events)
            self._remember(run.id, (run.version, run.state))
        if cmd.notices and self.hooks is not None:
            tell_hooks(self.hooks, cmd, self.members if self.directory is not None else None)
        # runs point to their command: break the cycle, so that a command's objects
        # are freed as soon as it returns instead of waiting for the cyclic GC
        cmd.runs.clear()
        cmd.notices.clear()
        return Instance(primary.id, primary.version, primary.state, primary.program)

    # -- queries -------------------------------------------------------------------------

    def instance(self, instance_id: str) -> Instance:
        """An instance as it is now.

        Raises:
            InstanceNotFound: No such instance.
        """
        version, state = self.load(instance_id)
        return Instance(instance_id, version, state, self.program(state["hash"]))

    def instances(
        self, *, status: str | None = None, process_id: str | None = None
    ) -> list[Instance]:
        """Instances in the store, oldest first, filtered by status and process."""
        rows = self.store.instances(status=status, process_id=process_id)
        return [self.instance(row.instance_id) for row in rows]

    def history(self, instance_id: str) -> list[Event]:
        """Every event of an instance, in order: the audit trail.

        Raises:
            InstanceNotFound: No such instance.
        """
        if not can_exist(instance_id):  # refused the same way by every store
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return self.store.events(instance_id)

    def task(self, task_id: str) -> Task:
        """One open task.

        Raises:
            TaskNotOpen: It is unknown, done or withdrawn.
        """
        instance_id, number = split_task_id(task_id)
        try:
            _, state = self.load(instance_id)
        except InstanceNotFound:
            raise TaskNotOpen(f"there is no task {task_id!r}") from None
        record = state["tasks"].get(number)
        if record is None:
            raise TaskNotOpen(f"the task {task_id!r} is not open (done, withdrawn or unknown)")
        return build_task(instance_id, self.program(state["hash"]), number, record)

    def tasks(self, *, user: User | None = None, instance_id: str | None = None) -> list[Task]:
        """Open tasks: those ``user`` may act on now (four-eyes applied), or all of them.

        Args:
            user: Whose inbox; None lists every open task.
            instance_id: Only this instance's tasks.
        """
        if instance_id is not None and not can_exist(instance_id):
            return []
        if user is not None:
            as_user(user, name="user")
            rows = self.store.open_tasks(instance_id=instance_id, user=user.id, roles=user.roles)
        else:
            rows = self.store.open_tasks(instance_id=instance_id)
        return list(self._tasks_of(rows, user))

    def _tasks_of(self, rows: Iterable[TaskRow], user: User | None) -> Iterable[Task]:
        loaded: dict[str, tuple[State, Program] | None] = {}
        for row in rows:
            iid = row.instance_id
            if iid not in loaded:
                try:
                    state = self.load(iid)[1]
                    loaded[iid] = (state, self.program(state["hash"]))
                except InstanceNotFound:
                    loaded[iid] = None
            found = loaded[iid]
            if found is None:
                continue
            state, program = found
            number = row.task_id.rpartition(".")[2]
            record = state["tasks"].get(number)
            if record is None:
                continue
            if user is not None:
                try:
                    check_actor(state, record, program.nodes[record["step"]], user)
                except NotAllowed:
                    continue
            yield build_task(iid, program, number, record)

    def __repr__(self) -> str:
        return f"Engine({len(self.catalog)} processes, store={type(self.store).__name__})"
