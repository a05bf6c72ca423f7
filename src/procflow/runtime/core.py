"""The engine's core: definitions, snapshots, and storing what a command did.

Owns `Core`, what the engine's parts (`commands.Commands`,
`queries.Queries`, `scheduler.Scheduler`) share, and what the interpreter
asks of the engine (`interpreter.Host`): the store, clock, calendar,
directory and hooks; the compiled definitions, by content hash and by
process id; recent snapshots by instance (checked against the store's
version before use, with the JSON of their unchanged records kept for the
next commit); making a `Command`; and storing a finished one (one atomic
commit, then the hooks). Everything here is public to the parts: none of
them reaches into another's private attributes.

Imports the flow layer, `store`, `errors` and the runtime's modules below the parts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from procflow.errors import (
    DamagedRecord,
    ExecutionError,
    InstanceNotFound,
    ProcessNotFound,
    TaskNotOpen,
)
from procflow.flow.catalog import Process
from procflow.flow.ir import HumanNode
from procflow.flow.load import load_definition
from procflow.language.workcalendar import Calendar
from procflow.runtime.clock import Clock, iso
from procflow.runtime.codec import SnapshotError, Stored, decode
from procflow.runtime.guards import can_exist, split_task_id
from procflow.runtime.hooks import Hooks
from procflow.runtime.interpreter import Command, Run
from procflow.runtime.people import Directory
from procflow.runtime.program import Program
from procflow.runtime.reasons import Reason
from procflow.runtime.records import commit_of, tell_hooks
from procflow.runtime.state import OpenTask, Snapshot
from procflow.runtime.views import Instance
from procflow.store import Commit, Store
from procflow.store.base import skip_damaged

__all__ = ["Core"]


class Core:
    """What the engine's parts share; see the module docstring."""

    def __init__(
        self,
        catalog: Mapping[str, Process],
        *,
        store: Store,
        clock: Clock,
        calendar: Calendar,
        directory: Directory | None,
        hooks: Hooks | None,
        new_id: Callable[[], str],
        cache_size: int,
        max_depth: int = 32,
        administrators: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.max_depth = max_depth
        """How many calls deep an instance may run (a process that calls itself)."""
        self.administrators = administrators
        """Holders of these roles may withdraw any open task (`Engine.withdraw`)."""
        self.clock = clock
        self.calendar = calendar
        self._directory = directory
        self.knows_holders = directory is not None
        """Whether a directory says who holds a role (kept with `directory`)."""
        self.hooks = hooks
        self.track_notices = hooks is not None
        self.make_id = new_id
        self.cache_size = cache_size
        self.catalog: Mapping[str, Process] = catalog
        self.programs: dict[str, Program] = {}
        """Definition hash -> compiled definition (current and older ones)."""
        self.current: dict[str, Program] = {}
        """Process id -> its current compiled definition."""
        self.stored: set[str] = set()
        """Definition hashes known to be in the store."""
        self.snapshots: OrderedDict[str, tuple[int, Stored]] = OrderedDict()
        """Instance id -> (version, its snapshot as stored): the recent ones."""
        self.lock = threading.Lock()
        self._last_now: tuple[datetime, str] | None = None

    @property
    def directory(self) -> Directory | None:
        return self._directory

    @directory.setter
    def directory(self, directory: Directory | None) -> None:
        self._directory = directory
        self.knows_holders = directory is not None

    def use_catalog(self, catalog: Mapping[str, Process]) -> None:
        """Start new instances from these definitions; running ones keep theirs."""
        self.catalog = catalog
        self.current = {}

    # -- what the interpreter needs (`interpreter.Host`) ----------------------------------

    def new_id(self) -> str:
        return self.make_id()

    def load(self, instance_id: str) -> tuple[int, Snapshot]:
        """The version and snapshot of an instance (from the cache when still current).

        Raises:
            InstanceNotFound: No such instance.
            DamagedRecord: The stored snapshot cannot be read (damaged, or written by a
                newer procflow); it names the instance.
        """
        cached = self.snapshots.get(instance_id)
        if cached is not None and self.store.version(instance_id) == cached[0]:
            return cached[0], cached[1].snapshot
        if not can_exist(instance_id):  # refused the same way by every store
            raise InstanceNotFound(f"no instance {instance_id!r}")
        version, data = self.store.load(instance_id)
        try:
            snapshot = decode(data)
        except SnapshotError as exc:
            raise DamagedRecord(
                f"the snapshot of instance {instance_id!r} is unreadable: {exc}",
                instance_id=instance_id,
            ) from exc
        self.remember(instance_id, version, Stored(snapshot, None))
        return version, snapshot

    def load_many(self, instance_ids: Iterable[str]) -> dict[str, tuple[int, Snapshot]]:
        """`load` for the instances of a page, in one read of the store.

        Instances that do not exist, or whose snapshot cannot be read (logged), are
        left out: one bad instance must not take a page down.
        """
        found: dict[str, tuple[int, Snapshot]] = {}
        cache = self.snapshots
        for iid, (version, data) in self.store.load_many(instance_ids).items():
            cached = cache.get(iid)
            if cached is not None and cached[0] == version:
                found[iid] = (version, cached[1].snapshot)
                continue
            try:
                snapshot = decode(data)
            except SnapshotError as exc:
                skip_damaged(
                    DamagedRecord(
                        f"the snapshot of instance {iid!r} is unreadable: {exc}", instance_id=iid
                    )
                )
                continue
            self.remember(iid, version, Stored(snapshot, None))
            found[iid] = (version, snapshot)
        return found

    def remember(self, instance_id: str, version: int, stored: Stored) -> None:
        # least recently stored first; OrderedDict evicts in O(1), where deleting
        # the first key of a dict again and again makes finding the next one slow
        with self.lock:  # commands may run in several threads
            cache = self.snapshots
            cache[instance_id] = (version, stored)
            cache.move_to_end(instance_id)
            if len(cache) > self.cache_size:
                cache.popitem(last=False)

    def forget(self, instance_id: str) -> None:
        with self.lock:
            self.snapshots.pop(instance_id, None)

    def program(self, definition_hash: str) -> Program:
        """The compiled definition with this hash: from the catalog or from the store."""
        program = self.programs.get(definition_hash)
        if program is None:
            for process in self.catalog.values():
                if process.flow.definition_hash == definition_hash:
                    program = Program(process)
                    break
            else:
                process = load_definition(self.store.definition(definition_hash))
                program = Program(process)
                program.definition_hash = definition_hash
            self.programs[definition_hash] = program
            self.stored.add(definition_hash)  # it came from the store or will be put there
        return program

    def program_of(self, process_id: str) -> Program:
        """The current definition of a process of the catalog.

        Raises:
            ProcessNotFound: The catalog has no such process.
        """
        program = self.current.get(process_id)
        if program is None:
            process = self.catalog.get(process_id)
            if process is None:
                known = ", ".join(sorted(self.catalog)) or "none"
                raise ProcessNotFound(f"no process {process_id!r} (the catalog has: {known})")
            digest = process.flow.definition_hash
            program = self.programs.get(digest) or Program(process)
            self.programs[digest] = program
            self.current[process_id] = program
        return program

    def members(self, roles: Sequence[str], *, why: str) -> list[str]:
        if self.directory is None:
            raise ExecutionError(f"{why} needs to know who holds {', '.join(roles)}: "
                                 "give the engine a directory")  # fmt: skip
        users: dict[str, None] = {}
        for role in roles:
            users.update(dict.fromkeys(self.directory.members(role)))
        return list(users)

    def holders(self, roles: Sequence[str]) -> list[str] | None:
        """The users the directory says hold any of ``roles``; None without a directory."""
        if self.directory is None:
            return None
        return self.members(roles, why="")

    # -- commands -------------------------------------------------------------------------

    def command(self, by: str | None, now: datetime | None = None) -> Command:
        """A new command by ``by`` (None: the system), at ``now`` or the clock's time."""
        moment = self.clock.now() if now is None else now
        last = self._last_now
        if last is None or last[0] != moment:  # the text form is the same for a still clock
            last = self._last_now = (moment, iso(moment))
        return Command(self, by, moment, last[1])

    def task_run(self, cmd: Command, task_id: str) -> tuple[Run, int, OpenTask, HumanNode]:
        """The instance, number, open task and step of ``task_id`` within ``cmd``.

        Raises:
            TaskNotOpen: There is no such open task.
        """
        instance_id, number = split_task_id(task_id)
        try:
            run = cmd.open(instance_id)
        except InstanceNotFound:
            raise TaskNotOpen(Reason("no_task", task=task_id)) from None
        task = run.draft.tasks.get(number)
        if task is None:
            expired = None if run.expired is None else run.expired.get(number)
            if expired is not None:
                raise TaskNotOpen(Reason("task_expired", task=task_id, at=expired))
            raise TaskNotOpen(Reason("task_not_open", task=task_id))
        node: HumanNode = run.program.nodes[task.step]  # type: ignore[assignment]  # human steps
        return run, number, task, node

    def store_command(
        self,
        cmd: Command,
        command_id: str | None,
        primary: Run,
        result: dict[str, Any] | None = None,
    ) -> Instance:
        """Commit what ``cmd`` did, atomically, then tell the hooks; the primary instance after.

        ``result`` is kept with ``command_id`` (what the command was, and its
        ``instance``), for a retry to be recognised.

        Raises:
            Conflict: Another command changed one of the instances first; nothing is stored.
            StoreError: The store failed; nothing is stored.
        """
        made, commits = self._commits(cmd)
        if not made:
            return Instance(primary.id, primary.version, primary.snapshot(), primary.program)
        try:
            if command_id is not None and result is None:
                result = {"instance": primary.id}
            first = self.store.commit(
                commits, command_id=command_id, result=None if command_id is None else result
            )
        except Exception:
            for run, _ in made:
                self.forget(run.id)
            raise
        if first is not None:  # the same command_id won a race: report what it did
            return self.instance(first["instance"])
        primary_snapshot = None
        for run, stored_state in made:
            run.version += len(run.events)
            self.remember(run.id, run.version, stored_state)
            if run is primary:
                primary_snapshot = stored_state.snapshot
        if cmd.notices and self.hooks is not None:
            tell_hooks(self.hooks, cmd, self.members if self.directory is not None else None)
        if primary_snapshot is None:
            primary_snapshot = primary.snapshot()
        # runs point to their command: break the cycle, so that a command's objects
        # are freed as soon as it returns instead of waiting for the cyclic GC
        cmd.runs.clear()
        cmd.notices.clear()
        return Instance(primary.id, primary.version, primary_snapshot, primary.program)

    def _commits(self, cmd: Command) -> tuple[list[tuple[Run, Stored]], list[Commit]]:
        """The runs of ``cmd`` that changed, with their snapshots, and their commits; in
        one pass (definitions the store lacks are put there first)."""
        stored, snapshots = self.stored, self.snapshots
        made: list[tuple[Run, Stored]] = []
        commits: list[Commit] = []
        for run in cmd.runs.values():
            if not run.events:
                continue
            program = run.program
            digest = program.definition_hash
            if digest not in stored:
                self.store.put_definition(digest, program.process_id, program.definition_text)
                stored.add(digest)
            # the encoder that wrote the snapshot this run started from, if still cached
            cached = snapshots.get(run.id)
            encoder = None
            if cached is not None and cached[1].snapshot is run.base:
                encoder = cached[1].encoder
            state = Stored(run.draft.freeze(), encoder)
            made.append((run, state))
            commits.append(commit_of(run, state))
        return made, commits

    def instance(self, instance_id: str) -> Instance:
        """An instance as it is now.

        Raises:
            InstanceNotFound: No such instance.
        """
        version, state = self.load(instance_id)
        return Instance(instance_id, version, state, self.program(state.definition_hash))
