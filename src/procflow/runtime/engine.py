"""The engine: what an application calls to run its processes.

Owns `Engine`, one class composed of named parts, each in its own module:
`commands` (start, complete, claim, delegate, cancel: each checked first and
stored atomically), `queries` (instances, history, tasks and inboxes) and
`scheduler` (`tick`: deadline timers and scheduled starts) and `supervision`
(reassigning, comments, attachments). They share the
`core` (store, clock, caches, storing a command) through its public
attributes; none reaches into another's private ones. The engine keeps no
global state.

The façade itself is plain Python in every build: it checks the type of each
argument an application passes (`InvalidArgument` naming it, or the "not
found" error an id that cannot exist gets) before the parts, which the
compiled build compiles with their argument types enforced, see them.

Imports the runtime's parts, `guards`, `store`, `errors` and the language's calendars.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Self

from procflow.compiled import mypyc_attr
from procflow.errors import InstanceNotFound, InvalidArgument, ProcessNotFound, TaskNotOpen
from procflow.flow.catalog import Process
from procflow.language.workcalendar import Calendar, WorkingCalendar
from procflow.runtime import listing
from procflow.runtime.blobs import BlobStore
from procflow.runtime.clock import Clock, SystemClock
from procflow.runtime.commands import Commands
from procflow.runtime.core import Core
from procflow.runtime.forms import form_schema
from procflow.runtime.guards import as_text, as_user, as_user_id, split_task_id
from procflow.runtime.hooks import Hooks
from procflow.runtime.paging import InstancePage, TaskPage
from procflow.runtime.people import Directory, User
from procflow.runtime.queries import Queries
from procflow.runtime.reasons import Reason
from procflow.runtime.scheduler import Scheduler
from procflow.runtime.supervision import MAX_ATTACHMENT, Attachment, Supervision
from procflow.runtime.views import Instance, Task
from procflow.store import Event, MemoryStore, Store

__all__ = ["Engine"]


def _task_id(task_id: Any) -> str:
    if not isinstance(task_id, str):
        raise TaskNotOpen(Reason("no_task", task=task_id))
    return task_id


def _instance_id(instance_id: Any) -> str:
    if not isinstance(instance_id, str):
        raise InstanceNotFound(f"no instance {instance_id!r}")
    return instance_id


def _process_id(process_id: Any) -> str:
    if not isinstance(process_id, str):
        raise ProcessNotFound(f"no process {process_id!r}")
    return process_id


def _optional_text(value: Any, name: str) -> str | None:
    return value if value is None or type(value) is str else as_text(value, name=name)


_LEASE = timedelta(minutes=5)
"""How long `Engine.tick` holds the timers it claims, on the engine's clock."""


@mypyc_attr(allow_interpreted_subclasses=True)
class Engine:
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
        max_depth: How many calls deep an instance may run: a process that calls
            itself (recursion) fails with `ExecutionError` beyond it.
        administrators: Roles whose holders may reassign or withdraw any task
            (`reassign`, `withdraw`) and see every instance.
        blobs: Where the bytes of attachments go; a `FileBlobStore` of the folder
            ``procflow-attachments`` in the working directory by default (made
            when the first file is attached).
        max_attachment: Most bytes of one attachment (10 MiB by default).

    Attributes:
        commands: The part that changes instances (`procflow.runtime.commands`).
        queries: The part that reads them (`procflow.runtime.queries`).
        scheduler: The part that acts when time passes (`procflow.runtime.scheduler`).
        supervision: Reassigning, comments and attachments (`procflow.runtime.supervision`).

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
        max_depth: int = 32,
        administrators: Collection[str] = (),
        blobs: BlobStore | None = None,
        max_attachment: int = MAX_ATTACHMENT,
    ) -> None:
        if not isinstance(catalog, Mapping):
            raise InvalidArgument(
                f"the first argument is the processes, not {type(catalog).__name__}: "
                "pass procflow.load_dir('processes') (a store goes in store=)"
            )
        if isinstance(administrators, str):
            raise InvalidArgument("administrators= takes a collection of role ids, not text")
        if store is not None and not isinstance(store, Store):
            raise InvalidArgument(
                f"store= takes a store, not {type(store).__name__}:"
                " pass procflow.open_store('sqlite:///flows.db') (or 'memory:')"
            )
        hook_methods = ("task_opened", "notification", "deadline_reached", "instance_finished")
        for name, part, methods in (
            ("clock", clock, ("now",)),
            ("calendar", calendar, ("is_working_day",)),
            ("directory", directory, ("members",)),
            ("hooks", hooks, hook_methods),
        ):
            if part is None:
                continue
            missing = [m for m in methods if not callable(getattr(part, m, None))]
            if missing:
                raise InvalidArgument(
                    f"{name}= takes an object with a {missing[0]}() method,"
                    f" not {type(part).__name__}"
                    + (" (subclass procflow.Hooks)" if name == "hooks" else "")
                )
        self.core = Core(
            catalog,
            store=store if store is not None else MemoryStore(),
            clock=clock if clock is not None else SystemClock(),
            calendar=calendar if calendar is not None else WorkingCalendar(),
            directory=directory,
            hooks=hooks,
            new_id=new_id or (lambda: secrets.token_hex(8)),
            cache_size=cache_size,
            max_depth=max_depth,
            administrators=frozenset(administrators),
        )
        self.commands = Commands(self.core)
        self.queries = Queries(self.core)
        self.scheduler = Scheduler(self.core)
        self.scheduler.saw_catalog(catalog)
        self.supervision = Supervision(
            self.core,
            administrators=administrators,
            blobs=blobs,
            max_attachment=max_attachment,
        )

    # -- what it runs on -----------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def calendar(self) -> Calendar:
        return self.core.calendar

    @property
    def directory(self) -> Directory | None:
        """Who holds a role (settable: an application may give it later)."""
        return self.core.directory

    @directory.setter
    def directory(self, directory: Directory | None) -> None:
        self.core.directory = directory

    @property
    def catalog(self) -> Mapping[str, Process]:
        return self.core.catalog

    def update_catalog(self, catalog: Mapping[str, Process]) -> None:
        """Use new definitions for instances started from now on.

        Running instances keep the definition they started with (by content hash).
        """
        self.core.use_catalog(catalog)
        self.scheduler.saw_catalog(catalog)

    def close(self) -> None:
        """Close the store."""
        self.core.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving a ``with Engine(...) as engine:`` block closes the store."""
        self.close()

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
            CommandReused: ``command_id`` was used for a different command.
        """
        return self.commands.start(
            _process_id(process_id),
            by=as_user(by),
            data=data,
            command_id=_optional_text(command_id, "command_id"),
        )

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
            CommandReused: ``command_id`` was used for a different command.
        """
        # _task_id and _optional_text, inline for the usual case: the command of every step
        if type(task_id) is not str:
            task_id = _task_id(task_id)
        user = as_user(by)
        if outcome is not None and type(outcome) is not str:
            outcome = as_text(outcome, name="outcome")
        if command_id is not None and type(command_id) is not str:
            command_id = as_text(command_id, name="command_id")
        return self.commands.complete(
            task_id, by=user, outcome=outcome, data=data, command_id=command_id
        )

    def claim(self, task_id: str, *, by: User, command_id: str | None = None) -> Task:
        """Take a task so that it leaves other role holders' inboxes.

        Raises:
            TaskNotOpen: The task is not open.
            NotAllowed: ``by`` may not act on it, or someone else has claimed it.
        """
        return self.commands.claim(
            _task_id(task_id), by=as_user(by), command_id=_optional_text(command_id, "command_id")
        )

    def delegate(
        self, task_id: str, *, by: User, to: User | str, command_id: str | None = None
    ) -> Task:
        """Hand a task to another user, who then is the only one who may act on it.

        Raises:
            TaskNotOpen: The task is not open.
            NotAllowed: ``by`` may not act on it, or a four-eyes rule excludes ``to``.
        """
        return self.commands.delegate(
            _task_id(task_id),
            by=as_user(by),
            to=as_user_id(to, name="to"),
            command_id=_optional_text(command_id, "command_id"),
        )

    def withdraw(
        self, task_id: str, *, by: User, reason: str, command_id: str | None = None
    ) -> Instance:
        """Withdraw one open task (WCP-19, cancel task): it closes, recorded with ``by`` and
        ``reason``, and its step goes on as if it were done once it has no open task left
        (to the step after it: ``next``, never a decision's other outcomes).

        Args:
            task_id: The task (`Task.id`).
            by: An administrator (holding a role of the engine's ``administrators``), or
                a holder of a role the step names in ``withdraw_by:``.
            reason: Why, for the history.

        Raises:
            TaskNotOpen: The task is not open.
            NotAllowed: ``by`` may not withdraw it.
        """
        return self.commands.withdraw(
            _task_id(task_id),
            by=as_user(by),
            reason=as_text(reason, name="reason"),
            command_id=_optional_text(command_id, "command_id"),
        )

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
        return self.commands.cancel(
            _instance_id(instance_id),
            by=as_user(by),
            reason=as_text(reason, name="reason"),
            command_id=_optional_text(command_id, "command_id"),
        )

    def reassign(self, task_id: str, *, to: User | str, by: User) -> Task:
        """Give an open task to ``to``, as an administrator (a role named by ``administrators``).

        ``to`` needs no role of the task, but the four-eyes rules apply to them.
        Recorded as ``task_reassigned`` (task, to, from).

        Raises:
            TaskNotOpen: The task is not open.
            NotAllowed: ``by`` holds no administrators role, or a four-eyes rule excludes ``to``.
        """
        return self.supervision.reassign(
            _task_id(task_id), by=as_user(by), to=as_user_id(to, name="to")
        )

    def comment(self, instance_id: str, text: str, *, by: User) -> None:
        """Add a comment to an instance's history (``commented``; any status).

        Raises:
            InstanceNotFound: No such instance.
            NotAllowed: ``by`` may not see it (see `Supervision.may_see`).
            InvalidArgument: Empty text, or longer than 10,000 characters.
        """
        self.supervision.comment(_instance_id(instance_id), text, by=as_user(by))

    def attach(
        self,
        instance_id: str,
        name: str,
        data: bytes,
        *,
        by: User,
        media_type: str = "application/octet-stream",
    ) -> Attachment:
        """Attach a file to an instance: the bytes go to the blob store, and the
        history keeps a reference (``attached``: name, blob key, size, type, sha256).

        Raises:
            InstanceNotFound: No such instance.
            NotAllowed: ``by`` may not see it.
            InvalidArgument: An empty name, or more bytes than ``max_attachment``.
        """
        return self.supervision.attach(
            _instance_id(instance_id), name, data, by=as_user(by), media_type=media_type
        )

    def attachments(self, instance_id: str) -> list[Attachment]:
        """The files attached to an instance, oldest first (references, not bytes).

        Raises:
            InstanceNotFound: No such instance.
        """
        return self.supervision.attachments(_instance_id(instance_id))

    def attachment(self, instance_id: str, blob: str, *, by: User) -> bytes:
        """The bytes of a file attached to an instance.

        Raises:
            InstanceNotFound: No such instance.
            NotAllowed: ``by`` may not see it.
            BlobNotFound: The instance has no such attachment, or its bytes are gone.
        """
        return self.supervision.attachment(_instance_id(instance_id), blob, by=as_user(by))

    def tick(
        self, now: datetime | None = None, *, stop: Callable[[], bool] | None = None
    ) -> list[Event]:
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

        ``stop`` (a function) is asked between commands: once it returns True,
        the tick gives back the timers it claimed and has not fired yet, and
        returns (a worker stopping on SIGTERM finishes the command in hand only).

        Returns:
            The events it stored.
        """
        return self.scheduler.tick(now, stop=stop)

    # -- queries -------------------------------------------------------------------------

    def instance(self, instance_id: str) -> Instance:
        """An instance as it is now.

        Raises:
            InstanceNotFound: No such instance.
        """
        return self.queries.instance(_instance_id(instance_id))

    def instances(
        self,
        *,
        process_id: str | None = None,
        status: str | None = None,
        started_by: User | str | None = None,
        started_after: datetime | None = None,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> InstancePage:
        """Instances in the store, oldest first (then by id): a page, or all of them.

        Every filter narrows; each query is answered from an index of the store.

        Args:
            process_id: Only instances of this process.
            status: Only those ``running``, ``completed`` or ``cancelled``.
            started_by: Only those this user (a `User` or a user id) started.
            started_after: Only those started after this moment.
            where: ``{"proposal.budget": Decimal("12000")}``: only those whose
                searchable fields (``search:`` in the process file) hold these
                values (compared as the field stores them: ``12000`` and
                ``12000.00`` are one amount).
            limit: At most this many (a page); None: all of them.
            after: The ``next`` of the previous page (same filters).

        Returns:
            An `InstancePage`: a list of `Instance`, with ``next`` (None on the last page).

        Raises:
            InvalidArgument: A wrong argument, a field that is not searchable, a
                value that does not fit its field, or a cursor of another query.
        """
        core = self.core
        size = listing.page_limit(limit)
        cursor = listing.page_after(after)
        pid = process_id if isinstance(process_id, str) else None
        if pid is None:
            programs = [core.program_of(name) for name in core.catalog]
        else:
            programs = [core.program_of(pid)] if pid in core.catalog else []
        asked = listing.instance_query(
            process_id=process_id, status=status, started_by=started_by,
            started_after=started_after, where=where, programs=programs, now=core.clock.now(),
        )  # fmt: skip
        if asked.query is None:
            return InstancePage()
        return self.queries.instances(asked.query, limit=size, after=cursor)

    def history(self, instance_id: str) -> list[Event]:
        """Every event of an instance, in order: the audit trail.

        Raises:
            InstanceNotFound: No such instance.
        """
        return self.queries.history(_instance_id(instance_id))

    def task(self, task_id: str) -> Task:
        """One open task.

        Raises:
            TaskNotOpen: It is unknown, done or withdrawn.
        """
        return self.queries.task(_task_id(task_id))

    def form(self, task_id: str) -> dict[str, Any]:
        """The JSON Schema of what an open task asks for and shows.

        Its ``outcome`` (the outcomes as named in the YAML), its ``data`` (the
        documents it fills: types, titles, choices, money, bounds, required
        fields, the current values as defaults) and its read-only ``context``
        (the documents it ``reads``, with their values); see `procflow.runtime.forms`.

        Raises:
            TaskNotOpen: It is unknown, done or withdrawn.
        """
        task = self.queries.task(_task_id(task_id))
        _, state = self.core.load(task.instance_id)
        program = self.core.program(state.definition_hash)
        opened = state.tasks.get(split_task_id(task.id)[1])
        return form_schema(
            program.nodes[task.step_id],  # type: ignore[arg-type]  # an open task's: human
            program.flow.documents,
            state.documents,
            task_id=task.id,
            process_id=task.process_id,
            copies={doc: state.copies.get(doc, ()) for doc in program.flow.collections},
            item=None if opened is None else opened.item,
        )

    def tasks(
        self,
        *,
        user: User | None = None,
        role: str | None = None,
        process_id: str | None = None,
        step_id: str | None = None,
        instance_id: str | None = None,
        assignee: User | str | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        order_by: str = "due",
        limit: int | None = None,
        after: str | None = None,
    ) -> TaskPage:
        """Open tasks: those ``user`` may act on now (an inbox), or all of them; a page.

        Every filter narrows; each query is answered from the store's indexes
        (a user's inbox is the tasks filed under the user and under each role
        they hold), and four-eyes is applied to every task listed, as the
        commands apply it.

        Args:
            user: Whose inbox: the tasks they may act on (candidate, assignee, or a
                role they hold, four-eyes applied); None: every open task.
            role: Only tasks with this role among their roles (`Task.actor`).
            process_id: Only tasks of this process; ``step_id``: of this step.
            instance_id: Only this instance's tasks.
            assignee: Only tasks assigned to this user (a `User` or a user id).
            overdue: True: only tasks whose due moment has come (by the clock,
                whether or not a tick has marked them); False: only the others.
            due_before: Only tasks due before this moment.
            order_by: ``due`` (soonest first; tasks without a due moment last) or
                ``opened_at`` (oldest first); then by task id.
            limit: At most this many: a page, with ``next`` when more follow;
                None (the default): every task, as one list.
            after: The ``next`` of the previous page (same filters).

        Returns:
            A `TaskPage`: a list of `Task`, with ``next``. A page may hold fewer than
            ``limit`` tasks and still have a ``next`` when tasks the user may not act
            on were passed over: go on until ``next`` is None.

        Raises:
            InvalidArgument: A wrong argument, or a cursor of another query.
        """
        core = self.core
        size = listing.page_limit(limit)
        cursor = listing.page_after(after)
        asked = listing.task_query(
            user=user, role=role, process_id=process_id, step_id=step_id,
            instance_id=instance_id, assignee=assignee, overdue=overdue,
            due_before=due_before, order_by=order_by, now=core.clock.now(),
        )  # fmt: skip
        if asked.query is None:
            return TaskPage()
        return self.queries.tasks(asked.query, user=asked.user, limit=size, after=cursor)

    def count_tasks(
        self,
        *,
        user: User | None = None,
        role: str | None = None,
        process_id: str | None = None,
        step_id: str | None = None,
        instance_id: str | None = None,
        assignee: User | str | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
    ) -> int:
        """How many open tasks `tasks` lists with the same filters (all pages), counted by
        the store from its indexes, four-eyes bars included (no instance is loaded).

        Raises:
            InvalidArgument: A wrong argument.
        """
        asked = listing.task_query(
            user=user, role=role, process_id=process_id, step_id=step_id,
            instance_id=instance_id, assignee=assignee, overdue=overdue,
            due_before=due_before, order_by="due", now=self.core.clock.now(),
        )  # fmt: skip
        return 0 if asked.query is None else self.queries.count_tasks(asked.query)

    def __repr__(self) -> str:
        return f"Engine({len(self.catalog)} processes, store={type(self.store).__name__})"
