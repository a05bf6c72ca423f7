"""Compile a `Process` into its flow graph: a `networkx.DiGraph`.

Owns the one copy of the control flow. The runtime walks this graph and the
renderers draw it; neither re-reads the step lists.

Nodes (in a deterministic order: start, steps as written depth-first, join
nodes right after their parallel step's branches, end):

- ``@start`` and ``@end`` (falling off the last step ends with result ``completed``);
- one node per step, keyed by its id (generated ids look like ``step-3`` or
  ``step-5.2.1`` and can never clash with an analyst's id);
- ``<parallel id>@join`` for each parallel step.

Node attributes: ``kind`` (a step kind, or start/end/join), ``step`` (the
model object; None for synthetic nodes), ``title``, ``scope`` (the tuple of
(parallel id, branch index) pairs the node sits inside), ``fork`` (for joins:
the parallel step's id) and ``result`` (for ends).

Edge attributes: ``kind`` (next, outcome, loop, skip, optional, condition,
otherwise, fork, reject), ``label`` (text for diagrams), ``outcome`` (the
task outcome that takes it, if any), ``expr`` (source text of a condition)
and ``order`` (first-match order of branch arms and fork order of branches).
Compiled expressions are added to the edges by `validate`, which owns typing.

Compiling never fails: a target that does not exist gets no edge, and
`flow.checks` reports it. Imports only `model`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from procflow.language.model import (
    AnyStep,
    BranchStep,
    CallStep,
    EndStep,
    HandoffStep,
    NotifyStep,
    ParallelStep,
    Process,
    SignStep,
    TaskStep,
)

START = "@start"
END = "@end"
DEFAULT_RESULT = "completed"

Scope = tuple[tuple[str, int], ...]
"""Where a step sits: () at the top, else the (parallel id, branch index) chain."""


def join_node(parallel_id: str) -> str:
    """The id of the join node of a parallel step."""
    return f"{parallel_id}@join"


@dataclass(frozen=True)
class Placed:
    """A step with everything its position implies."""

    step: AnyStep
    id: str
    path: tuple[str | int, ...]
    """Path of the step inside the YAML document, for diagnostics."""
    scope: Scope
    index: int
    """Position within its own list of steps."""
    continuation: str
    """Where the flow goes after this step when nothing else is said."""


@dataclass
class Layout:
    """Every step of a process, placed, with lookups by id and by scope."""

    placed: list[Placed] = field(default_factory=list)
    by_id: dict[str, Placed] = field(default_factory=dict)
    duplicates: list[Placed] = field(default_factory=list)
    scopes: dict[Scope, list[Placed]] = field(default_factory=dict)

    def resolve(self, target: str, at: Placed) -> str | None:
        """The node a target names as seen from ``at``: ``next`` or a step id in the same scope."""
        if target == "next":
            return at.continuation
        found = self.by_id.get(target)
        if found is None or found.scope != at.scope:
            return None
        return found.id

    def ids_in_scope(self, scope: Scope) -> list[str]:
        return [p.id for p in self.scopes.get(scope, [])]


def layout(process: Process) -> Layout:
    """Place every step: ids (generated where missing), scopes and continuations."""
    out = Layout()

    def place(
        steps: list[Any], base: tuple[str | int, ...], scope: Scope, exit_to: str, prefix: str
    ) -> None:
        ids: list[str] = []
        for i, step in enumerate(steps):
            ids.append(step.id or f"step-{prefix}{i + 1}")
        for i, step in enumerate(steps):
            following = ids[i + 1] if i + 1 < len(steps) else exit_to
            placed = Placed(step, ids[i], (*base, i), scope, i, following)
            out.placed.append(placed)
            out.scopes.setdefault(scope, []).append(placed)
            if placed.id in out.by_id:
                out.duplicates.append(placed)
            else:
                out.by_id[placed.id] = placed
            if isinstance(step, ParallelStep):
                for b, branch in enumerate(step.parallel):
                    place(
                        branch.steps,
                        (*base, i, "parallel", b, "steps"),
                        (*scope, (placed.id, b)),
                        join_node(placed.id),
                        f"{prefix}{i + 1}.{b + 1}.",
                    )

    place(process.steps, ("steps",), (), END, "")
    return out


def _after(lay: Layout, p: Placed) -> str:
    """Where the flow goes after ``p`` completes normally (honours ``next:``)."""
    if p.step.next is not None:
        return lay.resolve(p.step.next, p) or p.continuation
    return p.continuation


def _edges(lay: Layout, p: Placed) -> Iterator[tuple[str, str, dict[str, Any]]]:
    step = p.step
    after = _after(lay, p)
    if step.when is not None:
        yield p.id, p.continuation, {"kind": "skip", "label": step.when, "expr": step.when}
    if isinstance(step, TaskStep):
        if step.optional:
            yield p.id, after, {"kind": "optional", "label": "not needed", "outcome": "skip"}
        if step.decide:
            for outcome, target in step.decide.items():
                dest = lay.resolve(target, p)
                if dest is None:
                    continue
                back = (
                    dest in lay.by_id
                    and lay.by_id[dest].scope == p.scope
                    and lay.by_id[dest].index <= p.index
                )
                yield (
                    p.id,
                    dest,
                    {"kind": "loop" if back else "outcome", "label": outcome, "outcome": outcome},
                )
        else:
            yield p.id, after, {"kind": "next", "label": ""}
    elif isinstance(step, SignStep):
        yield p.id, after, {"kind": "next", "label": "signed", "outcome": "sign"}
        if step.reject is not None:
            dest = lay.resolve(step.reject, p)
            if dest is not None:
                yield p.id, dest, {"kind": "reject", "label": "reject", "outcome": "reject"}
    elif isinstance(step, BranchStep):
        for order, arm in enumerate(step.branch):
            if arm.otherwise is not None:
                dest = lay.resolve(arm.otherwise, p)
                if dest is not None:
                    yield p.id, dest, {"kind": "otherwise", "label": "otherwise", "order": order}
            elif arm.goto is not None and arm.if_ is not None:
                dest = lay.resolve(arm.goto, p)
                if dest is not None:
                    yield (
                        p.id,
                        dest,
                        {"kind": "condition", "label": arm.if_, "expr": arm.if_, "order": order},
                    )
    elif isinstance(step, ParallelStep):
        for b, branch in enumerate(step.parallel):
            first = lay.scopes[(*p.scope, (p.id, b))][0].id
            data: dict[str, Any] = {"kind": "fork", "label": branch.title, "order": b}
            if branch.when is not None:
                data["expr"] = branch.when
            yield p.id, first, data
        yield join_node(p.id), after, {"kind": "next", "label": ""}
    elif isinstance(step, NotifyStep | CallStep | HandoffStep):
        yield p.id, after, {"kind": "next", "label": ""}
    elif isinstance(step, EndStep):
        return


def _node_attrs(p: Placed) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "kind": p.step.kind,
        "step": p.step,
        "title": p.step.title or p.id,
        "scope": p.scope,
        "path": p.path,
    }
    if isinstance(p.step, EndStep):
        attrs["result"] = p.step.end
    return attrs


def build_graph(process: Process, lay: Layout | None = None) -> nx.DiGraph[str]:
    """The flow graph of ``process`` (see the module docstring for its shape)."""
    lay = lay or layout(process)
    graph: nx.DiGraph[str] = nx.DiGraph(process_id=process.id)
    graph.add_node(START, kind="start", step=None, title="開始", scope=(), path=("steps",))
    for p in lay.placed:
        if p in lay.duplicates:
            continue
        graph.add_node(p.id, **_node_attrs(p))
    # join nodes come right after the last step of their branches, for a readable order
    for p in lay.placed:
        if isinstance(p.step, ParallelStep) and p not in lay.duplicates:
            graph.add_node(
                join_node(p.id),
                kind="join",
                step=None,
                title="",
                scope=p.scope,
                fork=p.id,
                path=p.path,
            )
    graph.add_node(
        END, kind="end", step=None, title="結束", scope=(), result=DEFAULT_RESULT, path=("steps",)
    )
    if lay.placed:
        graph.add_edge(START, lay.placed[0].id, kind="next", label="")
    for p in lay.placed:
        if p in lay.duplicates:
            continue
        for src, dst, data in _edges(lay, p):
            if graph.has_edge(src, dst):
                # two outcomes to one place: keep both names on one edge
                old = graph.edges[src, dst]
                old.setdefault("also", []).append(data)
                continue
            graph.add_edge(src, dst, **data)
    return graph


def outgoing(graph: nx.DiGraph[str], node: str) -> list[tuple[str, dict[str, Any]]]:
    """Out-edges of ``node`` as (target, data), including merged ones, in a stable order."""
    out: list[tuple[str, dict[str, Any]]] = []
    for _, dst, data in graph.out_edges(node, data=True):
        out.append((dst, data))
        out.extend((dst, extra) for extra in data.get("also", ()))
    out.sort(key=lambda e: (e[1].get("order", 0), e[1]["kind"] != "skip"))
    return out
