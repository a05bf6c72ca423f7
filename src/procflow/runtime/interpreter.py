"""The interpreter: moves tokens through a `Program` and writes what happens as events.

Owns `Command` (everything one engine command changes, across the instances
it touches: a call or hand-off starts a child in the same command, and a
finished child resumes its waiting parent) and `Run` (one instance within a
command: its draft state and its new events). Every change is made by
emitting an event and folding it into the draft (`state.Draft`), so the
snapshot handed to the store is by construction the fold of the events.

Nothing here checks who may act or whether data is valid: the engine does
that before it asks the interpreter to move. Nothing here writes to the
store either: the engine commits what a `Command` produced, or drops it, so a
failure half-way (a condition that meets a missing value) changes nothing.

Human steps (tasks, sign-offs, deadlines) are the functions at the end.

Imports `program`, `state`, `values`, `clock`, `errors`, `store` (records only).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from procflow.errors import EvaluationError, ExecutionError
from procflow.flow.tables import step_decisions
from procflow.language import deadlines
from procflow.language.expr import Expression
from procflow.language.workcalendar import Calendar, next_working_day, postpone
from procflow.runtime.clock import iso, parse_iso, stamp
from procflow.runtime.program import HUMAN, DeadlinePlan, Node, Program
from procflow.runtime.state import Draft, State
from procflow.runtime.values import Values
from procflow.store import NewEvent

__all__ = ["Command", "Host", "Run"]


class Host(Protocol):
    """What the interpreter needs from the engine."""

    calendar: Calendar
    track_notices: bool

    def load(self, instance_id: str) -> tuple[int, State]: ...
    def program(self, definition_hash: str) -> Program: ...
    def program_of(self, process_id: str) -> Program: ...
    def new_id(self) -> str: ...
    def members(self, roles: Sequence[str], *, why: str) -> list[str]: ...


class Command:
    """One engine command in the making: the instances it touches and their new events."""

    __slots__ = ("at", "by", "host", "notices", "now", "resume", "runs")

    def __init__(self, host: Host, by: str | None, now: datetime, at: str | None = None) -> None:
        self.host = host
        self.by = by
        self.now = now
        self.at = at or iso(now)
        self.runs: dict[str, Run] = {}
        self.resume: list[Run] = []
        self.notices: list[tuple[Any, ...]] = []
        """What to tell the hooks once the command is stored."""

    def open(self, instance_id: str) -> Run:
        """The instance as of the store (or as this command has already changed it).

        Raises:
            InstanceNotFound: No instance has this id.
        """
        run = self.runs.get(instance_id)
        if run is None:
            version, state = self.host.load(instance_id)
            run = Run(self, instance_id, self.host.program(state["hash"]), state, version)
            self.runs[instance_id] = run
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
            self.open(child.state["parent"]["id"]).child_done(child)


class Run:
    """One instance within a command."""

    __slots__ = ("_n", "cmd", "draft", "events", "id", "inline", "program", "version")

    def __init__(
        self, cmd: Command, instance_id: str, program: Program, state: State | None, version: int
    ) -> None:
        self.cmd = cmd
        self.id = instance_id
        self.program = program
        self.draft = Draft(state or {})
        self.version = version
        self.events: list[NewEvent] = []
        self.inline = False
        """True while a parent starts this instance by a call and handles its finish itself."""
        self._n: int = state["n"] if state else 0

    @property
    def state(self) -> State:
        return self.draft.state

    # -- events ------------------------------------------------------------------------

    def emit(self, kind: str, data: dict[str, Any], *, system: bool = False) -> None:
        event = NewEvent(kind, self.cmd.at, None if system else self.cmd.by, data)
        self.draft.apply(event)
        self.events.append(event)

    def next_number(self) -> int:
        self._n += 1
        return self._n

    def holds(self, condition: Expression | None) -> bool:
        if condition is None:
            raise ExecutionError("a condition of this process did not compile")
        return bool(self.evaluate(condition))

    def evaluate(self, expression: Expression) -> Any:
        values = Values(self.state["docs"], self.program.codecs)
        return expression.evaluate(values, now=self.cmd.now)

    # -- starting and moving -------------------------------------------------------------

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
        budget = len(nodes) + 1
        while True:
            budget -= 1
            if budget < 0:
                raise ExecutionError(
                    f"the flow of {self.program.process_id} loops through '{node_id}' "
                    "without reaching a person"
                )
            node = nodes[node_id]
            if node.skip is not None and not self.holds(node.skip):
                self.emit("step_skipped", {"step": node.id, "when": node.skip_text})
                came_from, node_id = node.id, node.skip_to or ""
                continue
            kind = node.kind
            if kind in HUMAN:
                following = open_step(self, token, node)
                if following is None:
                    return
                came_from, node_id = node.id, following
            elif kind == "branch":
                came_from, node_id = node.id, self._branch(node)
            elif kind == "parallel":
                after = self._fork(token, node)
                if after is None:
                    return
                token, came_from, node_id = after
            elif kind == "join":
                after = self._join(token, node, nodes[came_from])
                if after is None:
                    return
                token, came_from, node_id = after
            elif kind == "notify":
                self._notify(node)
                came_from, node_id = node.id, node.after or ""
            elif kind == "call":
                self._call(token, node)
                return
            elif kind == "handoff":
                self._handoff(node)
                came_from, node_id = node.id, node.after or ""
            elif kind == "end":
                self.finish(node.result)
                return
            else:  # @start
                came_from, node_id = node.id, node.after or ""

    def _branch(self, node: Node) -> str:
        for condition, target, text in node.arms:
            if condition is None or self.holds(condition):
                self.emit("branched", {"step": node.id, "to": target, "arm": text})
                return target
        raise ExecutionError(f"no arm of the branch '{node.id}' applies")  # pragma: no cover

    def _fork(self, token: int, node: Node) -> tuple[int, str, str] | None:
        live = [(b, first) for b, cond, first, _ in node.forks if cond is None or self.holds(cond)]
        skipped = [b for b, cond, _, _ in node.forks if not any(b == lb for lb, _ in live)]
        tokens = [self.next_number() for _ in live]
        self.emit(
            "forked",
            {
                "step": node.id,
                "token": token,
                "branches": [[b, t] for (b, _), t in zip(live, tokens, strict=True)],
                "skipped": skipped,
            },
        )
        if not live:
            merged = self.next_number()
            self.emit("merged", {"step": node.id, "token": merged})
            join = node.join or ""
            return merged, join, self.program.nodes[join].after or ""
        for (_, first), branch_token in zip(live, tokens, strict=True):
            if node.id not in self.state["joins"]:
                break  # a join-any was satisfied by an earlier branch
            self.enter(branch_token, first, node.id)
        return None

    def _join(self, token: int, node: Node, came_from: Node) -> tuple[int, str, str] | None:
        parallel = node.fork_of or ""
        branch = came_from.in_branch[parallel]
        self.emit("joined", {"step": parallel, "token": token, "branch": branch})
        join = self.state["joins"][parallel]
        fork = self.program.nodes[parallel]
        if not fork.join_any and not set(join["live"]) <= set(join["done"]):
            return None
        merged = self.next_number()
        data: dict[str, Any] = {"step": parallel, "token": merged}
        if fork.join_any:
            nodes = self.program.nodes
            losing = [
                int(k)
                for k, t in self.state["tokens"].items()
                if t["at"] == parallel or parallel in nodes[t["at"]].in_branch
            ]
            for number, record in list(self.state["tasks"].items()):
                if record["token"] in losing:
                    self.emit("task_withdrawn", {"task": int(number), "why": "join"})
            inner = [j for j in self.state["joins"] if parallel in nodes[j].in_branch]
            if losing:
                data["discard"] = losing
            if inner:
                data["drop"] = inner
        self.emit("merged", data)
        return merged, node.id, node.after or ""

    # -- people --------------------------------------------------------------------------

    def open_step(self, token: int, node: Node) -> str | None:
        """Open the tasks of a human step; the node to go on to when there is nothing to do."""
        return open_step(self, token, node)

    def complete(
        self,
        number: str,
        record: dict[str, Any],
        outcome: str | None,
        data: dict[str, dict[str, Any]] | None,
    ) -> None:
        """Record a completed task and move on; the engine has checked everything."""
        complete_task(self, number, record, outcome, data)

    def fire(self, number: str, record: dict[str, Any], timer: str) -> None:
        """A deadline timer of an open task is due (the engine checked it still is)."""
        fire_timer(self, number, record, timer)

    # -- other processes, notices, endings -----------------------------------------------

    def _notify(self, node: Node) -> None:
        data: dict[str, Any] = {"step": node.id, "roles": list(node.roles), "message": node.message}
        users: list[str] = []
        if node.users is not None:
            value = self.evaluate(node.users)  # a missing value raises: nothing changes
            found = value if isinstance(value, list | tuple) else [value]
            users = list(dict.fromkeys(u for u in found if isinstance(u, str) and u))
            data["users"] = users
        self.emit("notified", data)
        if self.cmd.host.track_notices:
            self.cmd.notices.append(("notify", self, node, tuple(users)))

    def _carry(self, node: Node, child: Program) -> dict[str, dict[str, Any]]:
        """The documents a call or hand-off passes on; a missing required one is an error."""
        docs = self.state["docs"]
        out: dict[str, dict[str, Any]] = {}
        for theirs, (ours, optional) in node.carry.items():
            values = docs.get(ours) or {}
            if all(v is None for v in values.values()):
                if optional:
                    continue
                raise EvaluationError(
                    f"the step '{node.id}' carries '{ours}' to {child.process_id}, "
                    f"but {self.program.process_id} has not filled it "
                    "(write 'optional: true' if it may be missing)"
                )
            fields = child.codecs.get(theirs)
            if fields is not None:
                out[theirs] = {k: v for k, v in values.items() if k in fields}
        return out

    def _call(self, token: int, node: Node) -> None:
        program = self.cmd.host.program_of(node.target)
        parent = {"id": self.id, "step": node.id, "mode": "call", "token": token}
        child = Run(self.cmd, self.cmd.host.new_id(), program, None, 0)
        child.inline = True
        self.cmd.runs[child.id] = child
        child.start(self._carry(node, program), parent)
        child.inline = False
        self.emit("called", {"step": node.id, "token": token, "child": child.id})
        if child.state["status"] == "completed":
            self._returned(token, node, child)

    def child_done(self, child: Run) -> None:
        """A called instance finished in this command: its waiting token goes on."""
        for key, token in self.state["tokens"].items():
            if token.get("child") == child.id:
                self._returned(int(key), self.program.nodes[token["at"]], child)
                return

    def _returned(self, token: int, node: Node, child: Run) -> None:
        theirs = child.state["docs"]
        docs = {ours: dict(theirs[t]) for ours, t in node.returns.items() if t in theirs}
        data: dict[str, Any] = {"child": child.id, "token": token, "result": child.state["result"]}
        if docs:
            data["docs"] = docs
        self.emit("child_finished", data)
        self.enter(token, node.after or "", node.id)

    def _handoff(self, node: Node) -> None:
        program = self.cmd.host.program_of(node.target)
        parent = {"id": self.id, "step": node.id, "mode": "handoff"}
        child = self.cmd.spawn(program, self._carry(node, program), parent)
        self.emit("handed_off", {"step": node.id, "process": node.target, "child": child.id})

    def finish(self, result: str) -> None:
        self.emit("finished", {"result": result})
        if self.cmd.host.track_notices:
            self.cmd.notices.append(("finished", self))
        parent = self.state["parent"]
        if parent is not None and parent["mode"] == "call" and not self.inline:
            self.cmd.resume.append(self)

    def cancel(self, reason: str) -> None:
        children = [t["child"] for t in self.state["tokens"].values() if "child" in t]
        self.emit("cancelled", {"reason": reason})
        if self.cmd.host.track_notices:
            self.cmd.notices.append(("finished", self))
        for child_id in children:
            child = self.cmd.open(child_id)
            if child.state["status"] == "running":
                child.cancel(f"the calling instance {self.id} was cancelled")


# -- human work: tasks, sign-offs, deadlines ----------------------------------------------

_NO_ITEM: Any = object()


def open_step(run: Run, token: int, node: Node) -> str | None:
    """Open the tasks of a human step; the node to go on to when there is nothing to do."""
    if node.kind == "sign":
        signers = node.roles[:1] if node.rule == "in_turn" else node.roles
        for i, role in enumerate(signers):
            open_task(run, token, node, [role], enter=i == 0)
        return None
    if node.for_each is not None:
        if not isinstance(node.for_each, tuple):
            users = run.cmd.host.members(node.roles, why=f"the step '{node.id}'")
            for i, user in enumerate(users):
                open_task(run, token, node, list(node.roles), cand=[user], enter=i == 0)
            if users:
                return None
            why = f"no one holds {', '.join(node.roles)}"
        else:
            doc, field = node.for_each
            items = (run.state["docs"].get(doc) or {}).get(field) or []
            if node.for_each_users:  # the listed person does it, whatever their roles
                items = list(dict.fromkeys(u for u in items if isinstance(u, str) and u))
            for i, item in enumerate(items):
                cand = [item] if node.for_each_users else None
                open_task(run, token, node, list(node.roles), cand=cand, item=item, enter=i == 0)
            if items:
                return None
            why = f"{doc}.{field} has no items"
        run.emit("step_skipped", {"step": node.id, "why": why})
        return node.after
    assignee = None
    if node.assignee is not None:
        value = run.evaluate(node.assignee)
        assignee = str(value) if value else None
    open_task(run, token, node, list(node.roles), asg=assignee, enter=True)
    return None


def open_task(
    run: Run,
    token: int,
    node: Node,
    roles: list[str],
    *,
    cand: list[str] | None = None,
    asg: str | None = None,
    item: Any = _NO_ITEM,
    enter: bool,
) -> None:
    """Open one task; ``enter`` marks the first task of the token's arrival at the step."""
    number = run.next_number()
    data: dict[str, Any] = {"task": number, "step": node.id, "token": token, "roles": roles}
    if cand:
        data["cand"] = cand
    if asg:
        data["asg"] = asg
    if item is not _NO_ITEM:
        data["item"] = item
    if node.deadline is not None:
        data["due"], data["timers"] = deadline_times(run, node.deadline)
    if enter:
        data["enter"] = True
    run.emit("task_opened", data)
    if run.cmd.host.track_notices:
        run.cmd.notices.append(("opened", run, str(number)))


def _due_on(run: Run, plan: DeadlinePlan, due_on: Expression) -> datetime:
    """The due moment of a ``due_on`` deadline: the end of the date, or the date-time.

    Raises:
        EvaluationError: the expression meets a missing value (nothing changes).
    """
    now = run.cmd.now
    value = run.evaluate(due_on)
    calendar = run.cmd.host.calendar
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


def deadline_times(run: Run, plan: DeadlinePlan) -> tuple[str, dict[str, str]]:
    """The due moment (`iso`) and the timers (`stamp`) of a task opened now."""
    calendar = run.cmd.host.calendar
    start = run.cmd.now
    if plan.count_from == "start":
        start = parse_iso(run.state["started"])
    elif plan.count_from != "open":
        done = run.state["done"].get(plan.count_from)
        if done is not None:
            start = parse_iso(done["at"])
    if plan.due_on is not None:
        due = _due_on(run, plan, plan.due_on)
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
        timers["esc"] = stamp(deadlines.apply_offset(due, plan.escalate[0], calendar))
    if plan.expire is not None:
        timers["exp"] = stamp(deadlines.apply_offset(due, plan.expire[0], calendar))
    return iso(due), timers


def complete_task(
    run: Run,
    number: str,
    record: dict[str, Any],
    outcome: str | None,
    data: dict[str, dict[str, Any]] | None,
    *,
    timer: str | None = None,
) -> None:
    """Record a completed task and move on; the engine has checked everything."""
    node = run.program.nodes[record["step"]]
    payload: dict[str, Any] = {"task": int(number)}
    if outcome is not None:
        payload["outcome"] = outcome
    if data:
        payload["data"] = data
    if timer is not None:
        payload["timer"] = timer
    if node.keep:
        payload["keep"] = True
    run.emit("task_completed", payload, system=timer is not None)
    if outcome != "skip" and node.applies:
        apply_tables(run, node)
    token = record["token"]
    if node.kind == "sign":
        if outcome == "reject":
            withdraw(run, token, "rejected")
            run.enter(token, node.outcomes["reject"], node.id)
            return
        signed = run.state["tokens"][str(token)]["n"]
        if node.rule == "in_turn" and signed < len(node.roles):
            open_task(run, token, node, [node.roles[signed]], enter=False)
            return
        if signed < node.needed:
            return
        withdraw(run, token, "signed")
        run.enter(token, node.after or "", node.id)
        return
    if node.for_each is not None and any(t["token"] == token for t in run.state["tasks"].values()):
        return
    target = node.outcomes[outcome] if outcome is not None else node.after
    run.enter(token, target or "", node.id)


def withdraw(run: Run, token: int, why: str) -> None:
    """Withdraw the open tasks of ``token`` (the step is decided without them)."""
    for number, record in list(run.state["tasks"].items()):
        if record["token"] == token:
            run.emit("task_withdrawn", {"task": int(number), "why": why})


def fire_timer(run: Run, number: str, record: dict[str, Any], timer: str) -> None:
    """A deadline timer of an open task is due (the engine checked it still is)."""
    node = run.program.nodes[record["step"]]
    plan = node.deadline
    notice = ("deadline", run, number, record)
    task = int(number)
    if timer == "due":
        run.emit("overdue", {"task": task, "timer": timer}, system=True)
        kind = "due"
    elif timer == "esc" and plan is not None and plan.escalate is not None:
        _, to, mode = plan.escalate
        data: dict[str, Any] = {"task": task, "timer": timer, "to": to, "mode": mode}
        if mode == "offer" and (record.get("cand") or record.get("asg")):
            # a task limited to some users is offered to the role's members by name
            # without a directory only the role is added, as for any other task
            with suppress(ExecutionError):
                data["cand"] = run.cmd.host.members([to], why=f"escalating '{node.id}'")
        run.emit("escalated", data, system=True)
        kind = "escalate"
    elif timer == "exp" and plan is not None and plan.expire is not None:
        complete_task(run, number, record, plan.expire[1], None, timer=timer)
        kind = "expire"
    else:
        run.emit("reminded", {"task": task, "timer": timer}, system=True)
        kind = "remind"
    if run.cmd.host.track_notices:
        run.cmd.notices.append((*notice, kind))


def apply_tables(run: Run, node: Node) -> None:
    """Fill fields from the step's decision tables (`procflow.flow.tables`), in order."""
    program = run.program
    values = Values(run.state["docs"], program.codecs)
    for applied in step_decisions(program.process, node.id, values, now=run.cmd.now):
        docs: dict[str, dict[str, Any]] = {}
        problems: dict[str, str] = {}
        for doc, fields in applied.updates.items():
            for field, value in fields.items():
                codec = program.codecs[doc][field]
                docs.setdefault(doc, {})[field] = codec.encode(value, f"{doc}.{field}", problems)
        if problems:
            raise EvaluationError(f"{applied.table}: {'; '.join(problems.values())}")
        run.emit("decided", {"step": node.id, "table": applied.table, "docs": docs})
