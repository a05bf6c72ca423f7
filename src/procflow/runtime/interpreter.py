"""The interpreter: moves tokens through a flow and writes what happens as events.

Owns `Command` (everything one engine command changes, across the instances
it touches: a call or hand-off starts a child in the same command, and a
finished child resumes its waiting parent) and `Run` (one instance within a
command: its draft state and its new events). `Run` is what the flow's nodes
run against (`procflow.flow.ports.Run`): each node's kind says, in its own
module, what happens when a token arrives and when a task completes; this
module does what is the same for every kind: the move loop and skip rules,
opening tasks with their deadline timers, completing them, firing timers,
decision tables, calls and hand-offs, finishing and cancelling.

Every change is made by emitting an event and folding it into the draft
(`state.Draft`), so the snapshot handed to the store is by construction the
fold of the events. Nothing here checks who may act or whether data is
valid: the engine does that first. Nothing here writes to the store either:
the engine commits what a `Command` produced, or drops it, so a failure half
way (a condition that meets a missing value) changes nothing.

Imports the flow and language layers, `program`, `state`, `values`, `clock`,
`errors`, and `store` (records only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from procflow.errors import EvaluationError, ExecutionError
from procflow.flow.ir import STARTER, DeadlinePlan, HumanNode, Limit, LinkNode, Node
from procflow.flow.ports import NO_ITEM, ConditionLike
from procflow.flow.tables import run_tables
from procflow.language import deadlines
from procflow.language.expr import Expression
from procflow.language.workcalendar import Calendar, next_working_day, postpone
from procflow.runtime.clock import iso, parse_iso, stamp
from procflow.runtime.program import Program
from procflow.runtime.state import FOLDS, Draft, OpenTask, Snapshot, own_copy
from procflow.runtime.values import Values
from procflow.store import NewEvent

__all__ = ["Command", "Host", "Run"]


class Host(Protocol):
    """What the interpreter needs from the engine."""

    calendar: Calendar
    track_notices: bool
    max_depth: int
    knows_holders: bool

    def load(self, instance_id: str) -> tuple[int, Snapshot]: ...
    def program(self, definition_hash: str) -> Program: ...
    def program_of(self, process_id: str) -> Program: ...
    def new_id(self) -> str: ...
    def members(self, roles: Sequence[str], *, why: str) -> list[str]: ...
    def holders(self, roles: Sequence[str]) -> list[str] | None: ...


class Command:
    """One engine command in the making: the instances it touches and their new events."""

    __slots__ = ("_key", "at", "by", "host", "notices", "now", "resume", "runs")

    def __init__(self, host: Host, by: str | None, now: datetime, at: str | None = None) -> None:
        self.host = host
        self.by = by
        self.now = now
        self.at = at or iso(now)
        self.runs: dict[str, Run] = {}
        self.resume: list[Run] = []
        self.notices: list[tuple[Any, ...]] = []
        """What to tell the hooks once the command is stored."""
        self._key: str | None = None

    @property
    def key(self) -> str:
        """The command's moment as a timer's moment (`stamp`)."""
        key = self._key
        if key is None:
            key = self._key = stamp(self.now)
        return key

    def open(self, instance_id: str) -> Run:
        """The instance as of the store (or as this command has already changed it), with
        every deadline timer due by the command's moment fired first (`Run.fire_due`).

        Raises:
            InstanceNotFound: No instance has this id.
        """
        run = self.runs.get(instance_id)
        if run is None:
            version, state = self.host.load(instance_id)
            run = Run(self, instance_id, self.host.program(state.definition_hash), state, version)
            self.runs[instance_id] = run
            if state.timers_at and min(state.timers_at) <= self.key:
                run.fire_due(self.key)
        return run

    def spawn(
        self,
        program: Program,
        docs: dict[str, dict[str, Any]],
        parent: dict[str, Any] | None,
        *,
        schedule: dict[str, Any] | None = None,
    ) -> Run:
        """Start a new instance of ``program`` and move its token as far as it goes.

        ``schedule`` ({by, period, at}) marks a start by the system on schedule.
        """
        run = Run(self, self.host.new_id(), program, None, 0)
        self.runs[run.id] = run
        run.start(docs, parent, schedule=schedule)
        return run

    def settle(self) -> None:
        """Resume the parents of called instances that finished during this command."""
        while self.resume:
            child = self.resume.pop(0)
            parent = child.draft.parent
            if parent is not None:
                self.open(parent.id).child_done(child)


class Run:
    """One instance within a command; what the flow's nodes run against."""

    __slots__ = (
        "_n", "base", "cmd", "draft", "events", "expired", "id", "inline", "program", "version",
    )  # fmt: skip

    def __init__(
        self, cmd: Command, instance_id: str, program: Program, state: Snapshot | None, version: int
    ) -> None:
        self.cmd = cmd
        self.id = instance_id
        self.program = program
        self.base = state
        """The snapshot the command started from (None for a new instance)."""
        self.draft = Draft(state)
        self.version = version
        self.events: list[NewEvent] = []
        self.inline = False
        """True while a parent starts this instance by a call and handles its finish itself."""
        self._n: int = state.counter if state is not None else 0
        self.expired: dict[int, str] | None = None
        """Task number -> the moment its deadline expired it, in this command."""

    @property
    def state(self) -> Draft:
        """The instance as of now, within the command (read it, never change it)."""
        return self.draft

    def snapshot(self) -> Snapshot:
        """The instance's snapshot after the command's events."""
        return self.draft.freeze()

    # -- events and values ----------------------------------------------------------------

    def emit(self, kind: str, data: dict[str, Any], *, system: bool = False) -> None:
        cmd = self.cmd
        at, by = cmd.at, None if system else cmd.by
        FOLDS[kind](self.draft, data, at, by)  # `Draft.apply`, without its lookup of the type
        self.events.append(tuple.__new__(NewEvent, (kind, at, by, data)))  # NewEvent(...)

    def next_number(self) -> int:
        self._n += 1
        return self._n

    def holds(self, condition: ConditionLike) -> bool:
        return bool(self.evaluate(condition.expression))

    def values(self, docs: Mapping[str, Mapping[str, Any]] | None = None) -> Values:
        """The documents as conditions read them (``docs`` instead of the instance's own,
        when given), with the copies of the per-person forms."""
        draft, program = self.draft, self.program
        docs = draft.documents if docs is None else docs
        return Values(docs, program.codecs, draft.copies, program.collections)

    def evaluate(self, expression: Expression) -> Any:
        return expression.evaluate(self.values(), now=self.cmd.now)

    def node(self, node_id: str) -> Node:
        return self.program.nodes[node_id]

    def stored(self, document: str, field: str) -> Any:
        return (self.draft.documents.get(document) or {}).get(field)

    def members(self, roles: Sequence[str], *, why: str) -> list[str]:
        return self.cmd.host.members(roles, why=why)

    def notice(self, kind: str, *details: Any) -> None:
        if self.cmd.host.track_notices:
            self.cmd.notices.append((kind, self, *details))

    # -- starting and moving --------------------------------------------------------------

    def start(
        self,
        docs: dict[str, dict[str, Any]],
        parent: dict[str, Any] | None,
        *,
        schedule: dict[str, Any] | None = None,
    ) -> None:
        program = self.program
        initial = {k: dict(v) for k, v in program.defaults.items()}
        for doc, values in docs.items():
            initial[doc] = {**initial.get(doc, {}), **values}
        token = self.next_number()
        data: dict[str, Any] = {
            "process": program.process_id,
            "hash": program.definition_hash,
            "token": token,
            "docs": initial,
        }
        if parent is not None:
            data["parent"] = parent
        if schedule is not None:
            data["schedule"] = schedule
        self.emit("started", data)
        self.enter(token, program.first, "@start")

    def enter(self, token: int, node_id: str, came_from: str) -> None:
        """Move ``token`` from ``came_from`` into ``node_id`` and on, until it has to wait."""
        nodes = self.program.nodes
        limits = self.program.limits
        budget = len(nodes) + 1
        while True:
            budget -= 1
            if budget < 0:
                raise ExecutionError(
                    f"the flow of {self.program.process_id} loops through '{node_id}' "
                    "without reaching a person"
                )
            if limits is not None and (limit := limits.get((came_from, node_id))) is not None:
                node_id = self.loop(limit)
            node = nodes[node_id]
            skip = node.skip
            if skip is not None and not self.holds(skip):
                self.emit("step_skipped", {"step": node.id, "when": skip.text})
                came_from, node_id = node.id, node.skip_to or ""
                continue
            move = node.arrive(self, token, came_from)
            if move is None:
                return
            token, came_from, node_id = move

    def loop(self, limit: Limit) -> str:
        """Take a limited way: count it, or once its limit is reached, go past it."""
        count = self.draft.loops.get(limit.key, 0)
        if count < limit.at_most:
            data = {"step": limit.source, "to": limit.target, "count": count + 1}
            self.emit("looped", {**data, "at_most": limit.at_most})
            return limit.target
        data = {"step": limit.source, "to": limit.then, "at_most": limit.at_most}
        self.emit("loop_exhausted", data)
        return limit.then

    # -- tasks ----------------------------------------------------------------------------

    def open_task(
        self,
        token: int,
        node: HumanNode,
        roles: Sequence[str],
        *,
        candidates: Sequence[str] = (),
        assignee: str | None = None,
        item: Any = NO_ITEM,
        enter: bool,
        each: bool = False,
        left_out: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        nobody = None
        if node.guarded and (
            assignee is not None
            or candidates
            or node.starter
            or node.same_as is not None
            or self.cmd.host.knows_holders
        ):  # else a role task whose holders are not known here: nothing to check
            nobody = self._nobody(node, token, roles, candidates, assignee, entering=enter)
        number = self._n = self._n + 1  # next_number(), inline: every task opens here
        data: dict[str, Any] = {"task": number, "step": node.id, "token": token, "roles": roles}
        if candidates:
            data["candidates"] = list(candidates)
        if assignee:
            data["assignee"] = assignee
        if item is not NO_ITEM:
            data["item"] = item
        if node.deadline is not None:
            data["due"], data["timers"] = self.deadline_times(node.deadline)
        if enter:
            data["enter"] = True
            if each:
                data["each"] = True
            if people:
                data["people"] = list(people)
        if left_out:
            data["left_out"] = list(left_out)
        self.emit("task_opened", data)
        if nobody is not None:
            self._no_one(number, node, token, nobody)
        if self.cmd.host.track_notices:
            self.cmd.notices.append(("opened", self, number))

    # -- allocation: four-eyes when a task opens, not only when someone acts ---------------

    def starter(self) -> str | None:
        return self.draft.started_by

    def signers(self, token: int) -> Sequence[str]:
        return self.draft.tokens[token].people

    def signed_by(self, token: int) -> Sequence[str]:
        return self.draft.tokens[token].done_by

    def familiar(self, step: str) -> str | None:
        done = self.draft.done.get(step)
        return None if done is None else done.who

    def excluded(self, node: HumanNode, token: int, *, entering: bool = False) -> set[str]:
        draft = self.draft
        out: set[str] = set()
        for step in node.not_by:
            if step == STARTER:
                if draft.started_by is not None:
                    out.add(draft.started_by)
                continue
            done = draft.done.get(step)
            if done is not None:
                out.update(done.by)
        if node.kind == "sign" and not entering:  # entering: who did the step before
            current = draft.tokens.get(token)
            if current is not None:
                out.update(current.done_by)
        return out

    def _why_not(self, user: str, node: HumanNode, token: int) -> str:
        """Why a four-eyes rule keeps ``user`` off ``node``."""
        draft = self.draft
        for step in node.not_by:
            if step == STARTER and user == draft.started_by:
                return f"{user} started the instance"
            done = draft.done.get(step)
            if done is not None and user in done.by:
                return f"{user} did '{step}'"
        return f"{user} has signed"

    def _nobody(
        self,
        node: HumanNode,
        token: int,
        roles: Sequence[str],
        candidates: Sequence[str],
        assignee: str | None,
        *,
        entering: bool = False,
    ) -> str | None:
        """Why nobody eligible can take a task of ``node`` opened so; None when someone can.

        A task for named people (its candidates, its assignee) is checked against
        the exclusions; a role task only when the engine's directory names the
        role's holders (otherwise who holds it is not known here: the check when
        someone acts still applies).
        """
        if assignee is None and node.starter:
            return "the system started the instance, so there is no starter to give it to"
        if assignee is None and node.same_as is not None:
            return f"nobody has done '{node.same_as}', whose doer must do it (same_as)"
        if (
            assignee is None
            and not candidates
            and (not self.cmd.host.knows_holders or (not node.not_by and node.kind != "sign"))
        ):
            return None  # a role task: who holds the role is not known here, or no rule
        excluded = self.excluded(node, token, entering=entering)
        if not excluded:
            return None
        people: Sequence[str]
        if assignee is not None:
            people = [assignee]
        elif candidates:
            people = candidates
        else:
            people = self.cmd.host.holders(roles) or []
            if not people:
                return None  # no directory, or it names nobody: not known here
        if any(p not in excluded for p in people):
            return None
        whom = "; ".join(self._why_not(p, node, token) for p in people)
        if assignee is not None or candidates:
            return f"it is for {', '.join(people)} only, and {whom}"
        return f"{' or '.join(roles)} is held by {', '.join(people)} only, and {whom}"

    def _no_one(self, number: int, node: HumanNode, token: int, why: str) -> None:
        """A task nobody eligible can take: it follows the step's escalation (moved to the
        escalation role at once), or the command fails and changes nothing."""
        plan = node.deadline
        escalate = plan.escalate if plan is not None else None
        if escalate is not None:
            excluded = self.excluded(node, token)
            holders = self.cmd.host.holders([escalate.to]) or []
            if not holders or any(h not in excluded for h in holders):
                data = {"task": number, "timer": "esc", "to": escalate.to, "mode": "move",
                        "why": f"nobody eligible: {why}"}  # fmt: skip
                self.emit("escalated", data, system=True)
                return
            why += f"; its escalation role {escalate.to} is held by {', '.join(holders)} only"
        raise ExecutionError(
            f"nobody may do '{node.id}' of {self.program.process_id}: {why} (four-eyes). "
            "Nothing was changed: give the step an escalation (deadline: escalate:), "
            "or more holders of its role"
        )

    def recheck(self, token: int, node: HumanNode, needed: int) -> None:
        if not self.cmd.host.knows_holders:
            # who holds a role is not known; a task for named people can only die when
            # its person has signed, and delegation never gives one person two of them
            return
        signed = self.draft.tokens[token].completions
        dead: list[tuple[int, str]] = []
        live = 0
        for number in self.open_tasks(token):
            task = self.draft.tasks[number]
            why = self._nobody(node, token, task.roles, task.candidates, task.assignee)
            if why is None:
                live += 1
            else:
                dead.append((number, why))
        if dead and signed + live < needed:
            for number, why in dead:
                self._no_one(number, node, token, why)

    def open_tasks(self, token: int) -> list[int]:
        if not self.draft.tokens[token].open:
            return []
        return sorted(n for n, t in self.draft.task_map().items() if t.token == token)

    def open_count(self, token: int) -> int:
        return self.draft.tokens[token].open

    def completions(self, token: int) -> int:
        return self.draft.tokens[token].completions

    def withdraw(self, token: int, why: str) -> None:
        for number in self.open_tasks(token):
            self.emit("task_withdrawn", {"task": number, "why": why})

    def complete(
        self,
        number: int,
        task: OpenTask,
        outcome: str | None,
        data: dict[str, dict[str, Any]] | None,
        *,
        timer: str | None = None,
    ) -> None:
        """Record a completed task and move on; the engine has checked everything."""
        node: HumanNode = self.program.nodes[task.step]  # type: ignore[assignment]  # human steps
        payload: dict[str, Any] = {"task": number}
        if outcome is not None:
            payload["outcome"] = outcome
        if data:
            payload["data"] = data  # the per-person forms move to "copies" (`copies_of`)
        if timer is not None:
            payload["timer"] = timer
        if node.remember:
            payload["keep"] = True
        made = None
        if node.copies and data and outcome != "skip":
            made = self.copies_of(node, task, data, payload)
        self.emit("task_completed", payload, system=timer is not None)
        if outcome != "skip" and node.tables:
            self.apply_tables(node, made)
        move = node.completed(self, task.token, outcome)
        if move is not None:
            if node.cancels:
                self.cancel_steps(node)
            token, came_from, target = move
            self.enter(token, target, came_from)

    def withdraw_task(self, number: int, task: OpenTask, data: dict[str, Any]) -> None:
        """Withdraw one open task (``data``: why, and what the history keeps of it); its
        step goes on as it says (`HumanNode.withdrawn`)."""
        self.emit("task_withdrawn", {"task": number, **data})
        node: HumanNode = self.program.nodes[task.step]  # type: ignore[assignment]  # human
        move = node.withdrawn(self, task.token)
        if move is not None:
            token, came_from, target = move
            self.enter(token, target, came_from)

    def cancel_steps(self, node: HumanNode) -> None:
        """``node`` is done: withdraw the open tasks of the steps it ``cancels`` (WCP-19)."""
        wanted = set(node.cancels)
        for number, task in sorted(self.draft.task_map().items()):
            if task.step in wanted and number in self.draft.tasks:
                self.withdraw_task(number, task, {"why": "cancelled", "step": node.id})

    def own_copy(self, node: HumanNode, task: OpenTask, doc: str) -> dict[str, Any]:
        """The copy of the per-person form ``doc`` that ``task`` fills, as it is before the
        task's submission: the task's earlier copy (a redraft), else the form's defaults."""
        if not node.copies[doc]:  # one copy per member or item: this task's own
            earlier = own_copy(self.draft.copies, doc, node.id, task.item)
            if earlier is not None:
                return dict(earlier)
        return dict(self.program.copy_defaults.get(doc, {}))

    def copies_of(
        self,
        node: HumanNode,
        task: OpenTask,
        data: dict[str, dict[str, Any]],
        payload: dict[str, Any],
    ) -> dict[str, dict[str, Any]] | None:
        """Move the per-person forms of ``data`` into ``payload`` as the task's copies."""
        mine = {doc: values for doc, values in data.items() if doc in node.copies}
        if not mine:
            return None
        rest = {doc: values for doc, values in data.items() if doc not in node.copies}
        if rest:
            payload["data"] = rest
        else:
            payload.pop("data", None)
        made = {doc: {**self.own_copy(node, task, doc), **v} for doc, v in mine.items()}
        payload["copies"] = made
        if task.item is not None:
            payload["of"] = task.item
        each = [doc for doc in made if node.copies[doc]]
        if each:
            payload["each"] = each
        return made

    # -- deadlines ------------------------------------------------------------------------

    def _due_on(self, plan: DeadlinePlan, due_on: Expression) -> datetime:
        """The due moment of a ``due_on`` deadline: the end of the date, or the date-time.

        Raises:
            EvaluationError: the expression meets a missing value (nothing changes).
        """
        now = self.cmd.now
        value = self.evaluate(due_on)
        calendar = self.cmd.host.calendar
        if isinstance(value, datetime):
            if value.tzinfo is None and now.tzinfo is not None:  # stored in another kind
                value = value.replace(tzinfo=now.tzinfo)
            elif value.tzinfo is not None and now.tzinfo is None:
                value = value.astimezone().replace(tzinfo=None)
            return postpone(calendar, value) if plan.postpone else value
        if not isinstance(value, date):
            raise EvaluationError(f"'{due_on.text}' is not a date: {value!r}")
        day = next_working_day(calendar, value) if plan.postpone else value
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=now.tzinfo)

    def deadline_times(self, plan: DeadlinePlan) -> tuple[str, dict[str, str]]:
        """The due moment (`iso`) and the timers (`stamp`) of a task opened now."""
        calendar = self.cmd.host.calendar
        start = self.cmd.now
        if plan.count_from == "start":
            start = parse_iso(self.draft.started_at)
        elif plan.count_from != "open":
            done = self.draft.done.get(plan.count_from)
            if done is not None:
                start = parse_iso(done.at)
        if plan.due_on is not None:
            due = self._due_on(plan, plan.due_on)
        elif plan.due is not None:
            due = deadlines.due_at(
                plan.due, start=start, calendar=calendar, postpone_past_holidays=plan.postpone
            )
        else:  # pragma: no cover - the model asks for one of them
            raise ExecutionError("a deadline without 'due' or 'due_on'")
        timers = {"due": stamp(due)}
        for i, offset in enumerate(plan.reminders):
            timers[f"r{i}"] = stamp(deadlines.apply_offset(due, offset, calendar))
        if plan.escalate is not None:
            timers["esc"] = stamp(deadlines.apply_offset(due, plan.escalate.after, calendar))
        if plan.expire is not None:
            timers["exp"] = stamp(deadlines.apply_offset(due, plan.expire.after, calendar))
        return iso(due), timers

    def fire_due(self, key: str) -> None:
        """Fire every timer of the instance due at ``key`` (a `stamp`), in the order of
        their moments (overdue, escalation, expiry, reminders of one moment in that
        order), each once; timers of tasks opened meanwhile wait for the next command."""
        due = sorted(
            (at, f"{number}:{name}", number, name)
            for number, task in self.draft.task_map().items()
            for name, at in task.timers
            if at <= key
        )
        for at, _, number, name in due:
            task = self.draft.tasks.get(number)  # an earlier one may have closed it
            if task is not None and (name, at) in task.timers:
                if name == "exp":
                    if self.expired is None:
                        self.expired = {}
                    self.expired[number] = at
                self.fire(number, task, name)

    def fire(self, number: int, task: OpenTask, timer: str) -> None:
        """A deadline timer of an open task is due (the engine checked it still is)."""
        node = self.program.nodes[task.step]
        plan = node.deadline if isinstance(node, HumanNode) else None
        if timer == "due":
            self.emit("overdue", {"task": number, "timer": timer}, system=True)
            kind = "due"
        elif timer == "esc" and plan is not None and plan.escalate is not None:
            to, mode = plan.escalate.to, plan.escalate.mode
            data: dict[str, Any] = {"task": number, "timer": timer, "to": to, "mode": mode}
            if mode == "offer" and (task.candidates or task.assignee):
                # a task limited to some users is offered to the role's members by name;
                # without a directory only the role is added, as for any other task
                with suppress(ExecutionError):
                    data["candidates"] = self.members([to], why=f"escalating '{node.id}'")
            self.emit("escalated", data, system=True)
            kind = "escalate"
        elif timer == "exp" and plan is not None and plan.expire is not None:
            self.complete(number, task, plan.expire.outcome, None, timer=timer)
            kind = "expire"
        else:
            self.emit("reminded", {"task": number, "timer": timer}, system=True)
            kind = "remind"
        self.notice("deadline", number, task, kind)

    def apply_tables(self, node: HumanNode, made: dict[str, dict[str, Any]] | None = None) -> None:
        """Fill fields from the step's decision tables (`procflow.flow.tables`), in order;
        ``made``: the copies the task just filled, which the tables read as its forms."""
        program = self.program
        values = self.values({**self.draft.documents, **made} if made else None)
        for applied in run_tables(node.tables, program.flow.tables, values, now=self.cmd.now):
            docs: dict[str, dict[str, Any]] = {}
            problems: dict[str, str] = {}
            for doc, fields in applied.updates.items():
                for field, value in fields.items():
                    codec = program.codecs[doc][field]
                    docs.setdefault(doc, {})[field] = codec.encode(
                        value, f"{doc}.{field}", problems
                    )
            if problems:
                raise EvaluationError(f"{applied.table}: {'; '.join(problems.values())}")
            self.emit("decided", {"step": node.id, "table": applied.table, "docs": docs})

    # -- parallel branches ----------------------------------------------------------------

    def has_join(self, parallel: str) -> bool:
        return parallel in self.draft.joins

    def join_state(self, parallel: str) -> tuple[Sequence[int], Sequence[int]]:
        join = self.draft.joins[parallel]
        return join.live, join.done

    def tokens_inside(self, parallel: str) -> list[int]:
        nodes = self.program.nodes
        return [
            n
            for n, t in self.draft.tokens.items()
            if t.at == parallel or parallel in nodes[t.at].in_branch
        ]

    def tasks_of_tokens(self, tokens: Sequence[int]) -> list[int]:
        wanted = set(tokens)
        return sorted(n for n, t in self.draft.task_map().items() if t.token in wanted)

    def joins_inside(self, parallel: str) -> list[str]:
        nodes = self.program.nodes
        return [j for j in self.draft.joins if parallel in nodes[j].in_branch]

    # -- other processes, endings ---------------------------------------------------------

    def _carry(self, node: LinkNode, child: Program) -> dict[str, dict[str, Any]]:
        """The documents a call or hand-off passes on; a missing required one is an error."""
        docs = self.draft.documents
        out: dict[str, dict[str, Any]] = {}
        for c in node.carry:
            values = docs.get(c.ours) or {}
            if all(v is None for v in values.values()):
                if c.optional:
                    continue
                raise EvaluationError(
                    f"the step '{node.id}' carries '{c.ours}' to {child.process_id}, "
                    f"but {self.program.process_id} has not filled it "
                    "(write 'optional: true' if it may be missing)"
                )
            fields = child.codecs.get(c.theirs)
            if fields is not None:
                out[c.theirs] = {k: v for k, v in values.items() if k in fields}
        return out

    def call(self, token: int, node: Node) -> None:
        assert isinstance(node, LinkNode)  # noqa: S101 - calls are link nodes
        program = self.cmd.host.program_of(node.target)
        above = self.draft.parent
        depth = 1 + (above.depth if above is not None and above.mode == "call" else 0)
        limit = self.cmd.host.max_depth
        if depth > limit:
            raise ExecutionError(
                f"the call '{node.id}' of {self.program.process_id} would run {node.target} "
                f"{depth} calls deep, beyond the engine's limit of {limit} "
                "(Engine(max_depth=...)): does the condition that bounds the recursion hold?"
            )
        parent = {"id": self.id, "step": node.id, "mode": "call", "token": token, "depth": depth}
        child = Run(self.cmd, self.cmd.host.new_id(), program, None, 0)
        child.inline = True
        self.cmd.runs[child.id] = child
        child.start(self._carry(node, program), parent)
        child.inline = False
        self.emit("called", {"step": node.id, "token": token, "child": child.id})
        if child.draft.status == "completed":
            self._returned(token, node, child)

    def child_done(self, child: Run) -> None:
        """A called instance finished in this command: its waiting token goes on."""
        for number, token in self.draft.tokens.items():
            if token.child == child.id:
                self._returned(number, self.program.nodes[token.at], child)
                return

    def _returned(self, token: int, node: Node, child: Run) -> None:
        theirs = child.draft.documents
        returns = getattr(node, "returns", ())
        docs = {ours: dict(theirs[t]) for ours, t in returns if t in theirs}
        data: dict[str, Any] = {"child": child.id, "token": token, "result": child.draft.result}
        if docs:
            data["docs"] = docs
        self.emit("child_finished", data)
        self.enter(token, node.after or "", node.id)

    def hand_off(self, node: Node) -> None:
        assert isinstance(node, LinkNode)  # noqa: S101 - hand-offs are link nodes
        program = self.cmd.host.program_of(node.target)
        parent = {"id": self.id, "step": node.id, "mode": "handoff"}
        child = self.cmd.spawn(program, self._carry(node, program), parent)
        self.emit("handed_off", {"step": node.id, "process": node.target, "child": child.id})

    def finish(self, result: str) -> None:
        # tasks still open (a join: first's other branches, a for-each that did not wait)
        # end with the instance, each recorded
        for number in sorted(self.draft.task_map()):
            self.emit("task_withdrawn", {"task": number, "why": "finished"})
        self.emit("finished", {"result": result})
        self.notice("finished")
        parent = self.draft.parent
        if parent is not None and parent.mode == "call" and not self.inline:
            self.cmd.resume.append(self)

    def cancel(self, reason: str) -> None:
        children = [t.child for t in self.draft.tokens.values() if t.child is not None]
        self.emit("cancelled", {"reason": reason})
        self.notice("finished")
        for child_id in children:
            child = self.cmd.open(child_id)
            if child.draft.status == "running":
                child.cancel(f"the calling instance {self.id} was cancelled")
