"""A compiled flow made ready to run: one `Node` per graph node, built once per definition.

Owns `Program`, `Node` and `DeadlinePlan`. Everything the interpreter needs
at a node is worked out here once, from the flow graph of `procflow.flow.build`
(the one copy of the control flow: out-edges become outcome tables, branch
arms, fork lists and skip rules) and from the step's own settings (roles,
documents, four-eyes, deadlines parsed into specs). The interpreter then
never looks at edges, step lists or YAML again, and per-command work does not
depend on the size of the process.

Imports the flow and language layers, and `values`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from procflow.flow.build import END, START, join_node, outgoing
from procflow.flow.checks import environment, outcomes_of
from procflow.flow.load import Flow, flow_of
from procflow.language import deadlines, expr
from procflow.language.model import (
    CallStep,
    DocumentDef,
    EndStep,
    HandoffStep,
    HumanStep,
    NotifyStep,
    Process,
    SignStep,
    TaskStep,
)
from procflow.language.schedules import Recurrence, read_schedule
from procflow.runtime.values import DocCodecs, codecs_for, default_docs

__all__ = ["HUMAN", "DeadlinePlan", "Node", "Program"]

HUMAN = frozenset({"task", "sign"})


@dataclass(frozen=True, slots=True)
class DeadlinePlan:
    """A step's deadline, parsed once."""

    due: deadlines.Deadline | None
    """The ``due:`` text parsed; None when the deadline is ``due_on``."""
    count_from: str
    """``open``, ``start`` or a step id."""
    postpone: bool
    reminders: tuple[deadlines.Offset, ...]
    escalate: tuple[deadlines.Offset, str, str] | None
    """(when, to role, mode)."""
    expire: tuple[deadlines.Offset, str] | None
    """(when, outcome)."""
    due_on: expr.Expression | None = None
    """``due_on:`` compiled: a date (due at its end) or a date and time, read at opening."""


class Node:
    """One node of the flow graph, with everything needed to run it."""

    __slots__ = (
        "after", "applies", "arms", "assignee", "carry", "deadline", "fills", "fills_view",
        "for_each", "for_each_users",
        "fork_of", "forks", "id", "in_branch", "join", "join_any", "keep", "kind", "message",
        "needed", "not_by", "outcome_list", "outcomes", "reads", "requires", "result",
        "returns", "roles", "rule", "skip", "skip_text", "skip_to", "step", "target", "title",
        "users",
    )  # fmt: skip

    def __init__(self, node_id: str, attrs: Mapping[str, Any]) -> None:
        self.id = node_id
        self.kind: str = attrs["kind"]
        self.step: Any = attrs.get("step")
        self.title: str = attrs.get("title") or node_id
        self.in_branch: dict[str, int] = dict(attrs.get("scope", ()))
        """Parallel step id -> index of the branch this node sits in."""
        self.after: str | None = None
        self.skip: expr.Expression | None = None
        self.skip_to: str | None = None
        self.skip_text = ""
        self.outcomes: dict[str, str] = {}
        self.outcome_list: tuple[str, ...] = ()
        self.roles: tuple[str, ...] = ()
        self.arms: tuple[tuple[expr.Expression | None, str, str], ...] = ()
        self.forks: tuple[tuple[int, expr.Expression | None, str, str], ...] = ()
        self.join: str | None = None
        self.join_any = False
        self.fork_of: str | None = attrs.get("fork")
        self.fills: dict[str, tuple[str, ...]] = {}
        self.fills_view: Mapping[str, tuple[str, ...]] = MappingProxyType(self.fills)
        self.reads: tuple[str, ...] = ()
        self.not_by: tuple[str, ...] = ()
        self.requires: tuple[tuple[expr.Expression | None, str], ...] = ()
        self.assignee: expr.Expression | None = None
        self.for_each: str | tuple[str, str] | None = None
        self.for_each_users = False
        """The for-each list holds users: each task is for its listed person only."""
        self.users: expr.Expression | None = None
        """``notify_users``: the people a notify step tells, from data."""
        self.rule = ""
        self.needed = 0
        self.deadline: DeadlinePlan | None = None
        self.keep = False
        self.applies = False
        """The step fills fields from decision tables when it completes."""
        self.target = ""
        self.carry: dict[str, tuple[str, bool]] = {}
        """Their document -> (ours, optional)."""
        self.returns: dict[str, str] = {}
        self.message = ""
        self.result: str = attrs.get("result", "")

    def __repr__(self) -> str:
        return f"Node({self.id!r}, {self.kind})"


def _deadline(step: HumanStep, due_on: expr.Expression | None) -> DeadlinePlan | None:
    dl = step.deadline
    if dl is None:
        return None
    escalate = expire = None
    if dl.escalate is not None:
        escalate = (deadlines.parse_offset(dl.escalate.after), dl.escalate.to, dl.escalate.mode)
    if dl.expire is not None:
        expire = (deadlines.parse_offset(dl.expire.after), dl.expire.outcome)
    return DeadlinePlan(
        due=None if dl.due is None else deadlines.parse_deadline(dl.due),
        count_from=dl.from_,
        postpone=dl.holidays == "postpone",
        reminders=tuple(deadlines.parse_offset(r) for r in dl.remind),
        escalate=escalate,
        expire=expire,
        due_on=due_on,
    )


class Program:
    """A process definition ready to run; built once per definition hash.

    Attributes:
        process: The process model.
        definition_hash: The content hash instances are pinned to.
        nodes: Node id -> `Node` (steps, joins, ``@start``, ``@end``).
        first: Where a new token goes from ``@start``.
        starters: Roles that may start an instance; None when anyone may.
        codecs: Field codecs of every document.
        defaults: The documents as an instance starts (field defaults, stored form).
    """

    def __init__(self, process: Process, flow: Flow | None = None) -> None:
        flow = flow or flow_of(process)
        self.process = process
        self.process_id = process.id
        self.definition_hash = flow.definition_hash
        self.definition = flow.definition
        self.documents: dict[str, DocumentDef] = dict(flow.context.documents)
        self.codecs: DocCodecs = codecs_for(self.documents)
        self.defaults = default_docs(self.codecs)
        self._env = environment(self.documents)
        graph = flow.graph
        exprs = flow.context.expressions
        remembered: set[str] = set()
        self.nodes: dict[str, Node] = {}
        for node_id, attrs in graph.nodes(data=True):
            node = Node(node_id, attrs)
            self.nodes[node_id] = node
            for dst, data in outgoing(graph, node_id):
                self._edge(node, dst, data)
            step = node.step
            if isinstance(step, HumanStep):
                self._human(node, step, attrs["path"], exprs)
                remembered.update(step.not_by)
                if step.deadline is not None and step.deadline.from_ not in ("open", "start"):
                    remembered.add(step.deadline.from_)
            elif isinstance(step, NotifyStep):
                node.roles, node.message, node.reads = (
                    tuple(step.notify),
                    step.message,
                    tuple(step.reads),
                )
                node.users = exprs.get((*attrs["path"], "notify_users"))
            elif isinstance(step, CallStep | HandoffStep):
                node.target = step.call if isinstance(step, CallStep) else step.handoff
                node.carry = {k: (c.from_, c.optional) for k, c in step.carry.items()}
                if isinstance(step, CallStep):
                    node.returns = dict(step.returns)
            elif isinstance(step, EndStep):
                node.result = step.end
            if node.kind == "parallel":
                node.join = join_node(node_id)
                node.join_any = step.join == "any"
        for step_id in remembered:
            if step_id in self.nodes:
                self.nodes[step_id].keep = True
        self.first = self.nodes[START].after or END
        self.recurrence: Recurrence | None = (
            None if process.schedule is None else read_schedule(process.schedule)
        )
        """The process's ``schedule:``, read (`Engine.tick` starts it)."""
        self.starters = self._starters()

    @property
    def definition_text(self) -> str:
        """The definition as the store keeps it (its hash is `definition_hash`)."""
        return json.dumps(self.definition, sort_keys=True, ensure_ascii=False, default=str)

    def _edge(self, node: Node, dst: str, data: Mapping[str, Any]) -> None:
        kind = data["kind"]
        if kind == "skip":
            node.skip, node.skip_to, node.skip_text = data.get("compiled"), dst, data["expr"]
        elif kind == "next":
            node.after = dst
            if "outcome" in data:  # a sign-off's "sign"
                node.outcomes[data["outcome"]] = dst
        elif kind in ("outcome", "loop", "optional", "reject"):
            node.outcomes[data["outcome"]] = dst
        elif kind == "condition":
            node.arms = (*node.arms, (data.get("compiled"), dst, data["expr"]))
        elif kind == "otherwise":
            node.arms = (*node.arms, (None, dst, "otherwise"))
        elif kind == "fork":
            node.forks = (
                *node.forks,
                (data["order"], data.get("compiled"), dst, data.get("expr", "")),
            )

    def _human(
        self, node: Node, step: HumanStep, path: tuple[Any, ...], exprs: Mapping[Any, Any]
    ) -> None:
        node.outcome_list = tuple(outcomes_of(step))
        node.fills.update(
            (doc, tuple(fields) or tuple(self.documents[doc].fields))
            for doc, fields in step.fills.items()
        )
        node.reads = tuple(step.reads)
        node.not_by = tuple(step.not_by)
        node.requires = tuple(
            (exprs.get((*path, "requires", i, "that")), r.message)
            for i, r in enumerate(step.requires)
        )
        node.deadline = _deadline(step, exprs.get((*path, "deadline", "due_on")))
        node.applies = bool(step.apply)
        if isinstance(step, TaskStep):
            node.roles = tuple(step.actor)
            node.assignee = exprs.get((*path, "assignee"))
            if step.for_each == "member":
                node.for_each = "member"
            elif step.for_each:
                doc, field = step.for_each.split(".", 1)
                node.for_each = (doc, field)
                listed = self.documents[doc].fields[field]
                node.for_each_users = listed.type == "list" and listed.of == "user"
        elif isinstance(step, SignStep):
            node.roles = tuple(step.sign.signers)
            node.rule = step.sign.rule
            node.needed = step.sign.needed

    def _starters(self) -> frozenset[str] | None:
        scheduled = self.process.schedule
        also = {scheduled.by} if scheduled is not None else set()
        if self.process.starts_by:
            return frozenset(self.process.starts_by) | also
        roles: set[str] = set(also)
        seen = {START}
        queue = deque([START])
        while queue:
            node = self.nodes[queue.popleft()]
            if node.kind in HUMAN:
                roles.update(node.roles)
                continue
            nxt = [
                node.after,
                node.skip_to,
                *(a[1] for a in node.arms),
                *(f[2] for f in node.forks),
            ]
            nxt += list(node.outcomes.values())
            for n in nxt:
                if n is not None and n not in seen:
                    seen.add(n)
                    queue.append(n)
        return frozenset(roles) or None

    def __repr__(self) -> str:
        return f"Program({self.process_id!r}, {self.definition_hash[:12]})"
