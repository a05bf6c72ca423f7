"""The engine: the commands an application calls, each checked first and stored atomically.

Owns `Engine`. A command loads the instance snapshot (never replaying
history), checks everything it can before changing anything (the task is
open, the user may act, four-eyes, the outcome, the submitted data, the
``requires`` rules), then lets the interpreter move, and hands every new
event of every instance it touched to the store in one commit with the
versions it read. Any failure before the commit leaves no trace; a concurrent
change makes the store refuse it (`Conflict`). Hooks run after the commit.

The engine keeps no global state. Its caches, storing and queries are in
`core.EngineCore`; the checks in `guards`; moving tokens in `interpreter`.

Imports the runtime's modules, `flow.load`, `store`, `errors`, `workcalendar`.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from procflow.compiled import mypyc_attr
from procflow.errors import (
    Conflict,
    ExecutionError,
    InstanceNotFound,
    InvalidSubmission,
    NotAllowed,
    ProcflowError,
)
from procflow.language.model import Process
from procflow.language.workcalendar import Calendar, WorkingCalendar
from procflow.runtime.clock import Clock, SystemClock, stamp
from procflow.runtime.core import EngineCore
from procflow.runtime.guards import (
    as_user,
    check_actor,
    check_rules,
    resolve_outcome,
)
from procflow.runtime.hooks import Hooks
from procflow.runtime.people import Directory, User
from procflow.runtime.program import Program
from procflow.runtime.scheduler import start_scheduled
from procflow.runtime.state import State
from procflow.runtime.values import encode_submission
from procflow.runtime.views import Instance, Task, build_task
from procflow.store import Event, MemoryStore, Store, TimerRow

__all__ = ["Engine"]

log = logging.getLogger("procflow.runtime")

_LEASE = timedelta(minutes=5)
"""How long `Engine.tick` holds the timers it claims, on the engine's clock."""


@mypyc_attr(allow_interpreted_subclasses=True)
class Engine(EngineCore):
    """Runs the processes of a catalog for the users of an application.

    Args:
        catalog: Process id -> loaded `Process` (a `Catalog` from `load_dir`, or a dict).
        store: Where instances live; a new `MemoryStore` by default.
        clock: Where time comes from; `SystemClock()` by default.
        calendar: Working days for deadlines; China's (`WorkingCalendar()`) by default.
        directory: Who holds a role; needed by ``for_each: member`` steps and for
            notifications and escalation offers to reach people.
        hooks: Callbacks run after each command (`Hooks`).
        new_id: Makes instance ids (random 16-hex-digit ids by default).
        cache_size: How many instance snapshots to keep in memory.

    Example::

        engine = Engine(procflow.load_dir("processes"), store=SQLiteStore("flows.db"))
        li = User("li", {"market_manager"})
        inst = engine.start("SC-001", by=li)
        [task] = engine.tasks(user=li)
        inst = engine.complete(task.id, by=li, data={"proposal": {"budget": "1200.00"}})
    """

    def __init__(
        self,
        catalog: Mapping[str, Process],
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        calendar: Calendar | None = None,
        directory: Directory | None = None,
        hooks: Hooks | None = None,
        new_id: Callable[[], str] | None = None,
        cache_size: int = 1_000,
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.calendar: Calendar = calendar if calendar is not None else WorkingCalendar()
        self.directory = directory
        self.hooks = hooks
        self.track_notices = hooks is not None
        self._new_id = new_id or (lambda: secrets.token_hex(8))
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[int, State]] = OrderedDict()
        self._programs: dict[str, Program] = {}
        self._stored: set[str] = set()
        self._last_now: tuple[datetime, str] | None = None
        self._lock = threading.Lock()
        self._seen: dict[str, datetime] = {}
        self._decided: set[str] = set()
        self.catalog: Mapping[str, Process] = {}
        self._current: dict[str, Program] = {}
        self.update_catalog(catalog)

    # -- commands ------------------------------------------------------------------------

    def start(
        self,
        process_id: str,
        *,
        by: User,
        data: Mapping[str, Any] | None = None,
        command_id: str | None = None,
    ) -> Instance:
        """Start an instance of a process of the catalog.

        Args:
            process_id: The process.
            by: Who starts it: must hold a ``starts_by`` role, or else a role of
                the first human step.
            data: Initial document values, ``{document: {field: value}}`` (any
                field of any document; required fields are asked for by the steps).
            command_id: Makes a retry return the first result instead of starting twice.

        Raises:
            ProcessNotFound: No such process.
            NotAllowed: ``by`` may not start it.
            InvalidSubmission: ``data`` does not fit the documents.
            EvaluationError: A condition on the way to the first task met a missing value.
        """
        user = as_user(by)
        if command_id is not None and (done := self._replayed(command_id)) is not None:
            return done
        program = self.program_of(process_id)
        if program.starters is not None and user.roles.isdisjoint(program.starters):
            raise NotAllowed(
                f"{user.id} may not start {process_id}: "
                f"it needs the role {' or '.join(sorted(program.starters))}"
            )
        encoded, problems = encode_submission(data, program.codecs, None)
        if problems:
            raise InvalidSubmission(problems)
        cmd = self._command(user.id)
        run = cmd.spawn(program, encoded, None)
        cmd.settle()
        return self._store(cmd, command_id, run)

    def complete(
        self,
        task_id: str,
        *,
        by: User,
        outcome: str | None = None,
        data: Mapping[str, Any] | None = None,
        command_id: str | None = None,
    ) -> Instance:
        """Complete an open task and move the instance on.

        Args:
            task_id: The task (`Task.id`).
            by: Who completes it: a holder of the task's role, a candidate, its
                assignee or delegate; never someone a four-eyes rule excludes.
            outcome: One of `Task.outcomes` (a sign-off defaults to ``sign``).
            data: Document values this task fills, ``{document: {field: value}}``.
            command_id: Makes a retry return the first result instead of failing.

        Returns:
            The instance after the command.

        Raises:
            TaskNotOpen: The task is unknown, done or withdrawn.
            NotAllowed: ``by`` may not act on it.
            InvalidSubmission: A bad outcome, bad or missing fields, or a broken
                ``requires`` rule; every problem is listed and nothing is stored.
            EvaluationError: A condition on the way met a missing value; nothing is stored.
            Conflict: Someone changed the instance at the same moment; nothing is stored.
        """
        user = as_user(by)
        if command_id is not None and (done := self._replayed(command_id)) is not None:
            return done
        cmd = self._command(user.id)
        run, number, record, node = self._task_run(cmd, task_id)
        check_actor(run.state, record, node, user)
        problems: dict[str, str] = {}
        chosen = resolve_outcome(node, outcome, problems)
        encoded, more = encode_submission(data, run.program.codecs, node.fills)
        problems.update(more)
        if not problems and chosen != "skip" and (node.fills or node.requires):
            check_rules(run, node, encoded, problems, rules=chosen != "reject")
        if problems:
            raise InvalidSubmission(problems)
        run.complete(number, record, chosen, encoded or None)
        cmd.settle()
        return self._store(cmd, command_id, run)

    def claim(self, task_id: str, *, by: User, command_id: str | None = None) -> Task:
        """Take a task so that it leaves other role holders' inboxes.

        Raises:
            TaskNotOpen: The task is not open.
            NotAllowed: ``by`` may not act on it, or someone else has claimed it.
        """
        user = as_user(by)
        if command_id is not None and self._replayed(command_id) is not None:
            return self.task(task_id)
        cmd = self._command(user.id)
        run, number, record, node = self._task_run(cmd, task_id)
        check_actor(run.state, record, node, user)
        if record.get("asg") == user.id:
            return build_task(run.id, run.program, number, record)
        run.emit("task_claimed", {"task": int(number)})
        self._store(cmd, command_id, run)
        return build_task(run.id, run.program, number, run.state["tasks"][number])

    def delegate(
        self, task_id: str, *, by: User, to: User | str, command_id: str | None = None
    ) -> Task:
        """Hand a task to another user, who then is the only one who may act on it.

        Raises:
            TaskNotOpen: The task is not open.
            NotAllowed: ``by`` may not act on it, or a four-eyes rule excludes ``to``.
        """
        user = as_user(by)
        target = to.id if isinstance(to, User) else to
        if not isinstance(target, str) or not target:
            raise TypeError("to= takes a User or a user id")
        if command_id is not None and self._replayed(command_id) is not None:
            return self.task(task_id)
        cmd = self._command(user.id)
        run, number, record, node = self._task_run(cmd, task_id)
        check_actor(run.state, record, node, user)
        check_actor(run.state, {**record, "asg": target, "cand": ()}, node, User(target))
        run.emit("task_delegated", {"task": int(number), "to": target})
        self._store(cmd, command_id, run)
        return build_task(run.id, run.program, number, run.state["tasks"][number])

    def cancel(
        self, instance_id: str, *, by: User, reason: str, command_id: str | None = None
    ) -> Instance:
        """Stop a running instance: its tasks close, and instances it called are cancelled too.

        Raises:
            InstanceNotFound: No such instance.
            NotAllowed: ``by`` did not start it and may not start its process, or
                it was called by another instance (cancel that one).
            ExecutionError: It is not running.
        """
        user = as_user(by)
        if command_id is not None and (done := self._replayed(command_id)) is not None:
            return done
        cmd = self._command(user.id)
        run = cmd.open(instance_id)
        state = run.state
        if state["status"] != "running":
            raise ExecutionError(f"the instance {instance_id} is already {state['status']}")
        starters = run.program.starters
        if state["by"] != user.id and starters is not None and user.roles.isdisjoint(starters):
            raise NotAllowed(f"{user.id} may not cancel {instance_id}")
        parent = state["parent"]
        if parent is not None and parent["mode"] == "call":
            raise NotAllowed(f"{instance_id} was called by {parent['id']}: cancel that instead")
        run.cancel(reason)
        return self._store(cmd, command_id, run)

    def tick(self, now: datetime | None = None) -> list[Event]:
        """Fire every deadline timer due at ``now`` (the clock's time by default),
        then start every scheduled process whose period has come.

        Due timers are claimed from the store (`Store.claim_due_timers`), a
        batch at a time, so that several workers ticking at once share them
        out and each fires once; a timer whose firing failed is given back at
        the end, for the next tick. Reminders and overdue marks call
        `Hooks.deadline_reached`; escalations offer or move tasks; expiries
        complete them with their outcome. Firing is recorded, so calling `tick`
        again fires nothing twice. Each instance is one command: one that
        fails (an expiry whose next step meets a missing value) is logged,
        keeps its timers for the next tick, and does not stop the others.

        A process with ``schedule:`` starts once per period, by the system on
        behalf of the schedule's role, under the command id
        ``schedule:<process id>:<period>`` (so two engines sharing a store start
        it once), and never for a period whose moment came before this engine
        first saw the schedule, unless the schedule started the period before
        it in this store (see `procflow.runtime.scheduler`).

        Returns:
            The events it stored.
        """
        moment = now if now is not None else self.clock.now()
        key = stamp(moment)
        # claim the due timers a batch at a time, so that workers ticking at once share
        # them out; what is left claimed (an instance that failed) is given back at the end
        me, until = secrets.token_hex(8), stamp(moment + _LEASE)
        fired: list[Event] = []
        held: dict[TimerRow, None] = {}
        try:
            while batch := self.store.claim_due_timers(key, until_iso=until, claimant=me):
                if all(row in held for row in batch):
                    break  # rewritten by its own firing, yet still due: fired already
                held.update(dict.fromkeys(batch))
                for instance_id in dict.fromkeys(row.instance_id for row in batch):
                    try:
                        fired += self._fire(instance_id, moment, key)
                    except ProcflowError:
                        log.exception("procflow: deadlines of %s could not fire", instance_id)
        finally:
            if held:
                self.store.release_timers(held, claimant=me)
        return fired + start_scheduled(self, moment)

    def _fire(self, instance_id: str, moment: datetime, key: str) -> list[Event]:
        """Fire every timer of the instance due at ``key``, in one command.

        All of them, not only those this worker claimed: when workers share an
        instance's timers out, they fire as one worker alone would, in the order
        of `Store.due_timers`; the others then find them fired.
        """
        for _attempt in range(3):
            cmd = self._command(None, moment)
            try:
                run = cmd.open(instance_id)
            except InstanceNotFound:
                return []
            due = sorted(
                (at, f"{number}:{name}")
                for number, r in run.state["tasks"].items()
                for name, at in r.get("timers", {}).items()
                if at <= key
            )
            for _, timer_id in due:
                number, _, name = timer_id.partition(":")
                record = run.state["tasks"].get(number)  # an earlier one may have closed it
                at = None if record is None else record.get("timers", {}).get(name)
                if at is not None and at <= key:
                    run.fire(number, record, name)
            cmd.settle()
            made = [
                Event(r.id, r.version + i, e.type, e.at, e.by, e.data)
                for r in cmd.runs.values()
                for i, e in enumerate(r.events, 1)
            ]
            try:
                self._store(cmd, None, run)
            except Conflict:
                continue  # someone acted on the instance meanwhile: look again
            return made
        return []
