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

Human steps (tasks, sign-offs, deadlines) are in `work`, which this module uses.

Imports `work`, `program`, `state`, `values`, `clock`, `errors`, `store` (records only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from procflow.errors import EvaluationError, ExecutionError
from procflow.expr import Expression
from procflow.runtime import work
from procflow.runtime.clock import iso
from procflow.runtime.program import HUMAN, Node, Program
from procflow.runtime.state import Draft, State
from procflow.runtime.values import Values
from procflow.store import NewEvent
from procflow.workcalendar import Calendar

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
                following = work.open_step(self, token, node)
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
        return work.open_step(self, token, node)

    def complete(
        self,
        number: str,
        record: dict[str, Any],
        outcome: str | None,
        data: dict[str, dict[str, Any]] | None,
    ) -> None:
        """Record a completed task and move on; the engine has checked everything."""
        work.complete_task(self, number, record, outcome, data)

    def fire(self, number: str, record: dict[str, Any], timer: str) -> None:
        """A deadline timer of an open task is due (the engine checked it still is)."""
        work.fire_timer(self, number, record, timer)

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
