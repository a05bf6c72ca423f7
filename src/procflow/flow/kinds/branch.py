"""The branch: the flow goes on by the first arm whose condition holds, else ``otherwise``.

Owns `BranchNode` and the ``branch`` `StepKind`: its arms (compiled
conditions and targets, in order), the checks (targets exist, one
``otherwise`` and last: PF301, PF311, PF317), how it runs (the first arm that
holds, recorded as ``branched``) and how it is drawn (a dashed diamond).

Imports `ir`, `ports`, `context`, `layout`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, cast

from procflow.errors import ExecutionError
from procflow.flow.context import Context
from procflow.flow.ir import Condition, Edge, Flow, Node
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.flow.ports import Canvas, Move, Run
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import BranchStep


@dataclass(frozen=True)
class Arm:
    """One arm: a condition (None for ``otherwise``) and where it leads."""

    condition: Condition | None
    target: str
    order: int

    @property
    def text(self) -> str:
        return "otherwise" if self.condition is None else self.condition.text


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchNode(Node):
    """An automatic branch (``branch:``): ``arms`` in first-match order."""

    kind: ClassVar[str] = "branch"
    arms: tuple[Arm, ...] = ()

    def out_edges(self) -> Iterator[Edge]:
        if self.skip is not None and self.skip_to is not None:
            yield Edge(self.id, self.skip_to, "skip", condition=self.skip, label=self.skip.text)
        for arm in self.arms:
            if arm.condition is None:
                yield Edge(self.id, arm.target, "otherwise", label="otherwise", order=arm.order)
            else:
                yield Edge(
                    self.id,
                    arm.target,
                    "condition",
                    condition=arm.condition,
                    label=arm.condition.text,
                    order=arm.order,
                )

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        for arm in self.arms:
            if arm.condition is None or run.holds(arm.condition):
                run.emit("branched", {"step": self.id, "to": arm.target, "arm": arm.text})
                return (token, self.id, arm.target)
        raise ExecutionError(f"no arm of the branch '{self.id}' applies")  # pragma: no cover

    def coverage(self) -> list[str]:
        return [*Node.coverage(self), *(f"{self.id}: arm {arm.text}" for arm in self.arms)]

    def draw(self, canvas: Canvas) -> None:
        canvas.box(self, "branch", self.label or "自動判斷")


def build(ctx: Context, placed: Placed, base: Base) -> BranchNode:
    step = cast(BranchStep, placed.step)  # the registry gives each kind its own steps
    arms: list[Arm] = []
    for order, arm in enumerate(step.branch):
        where = (*placed.path, "branch", order)
        if arm.otherwise is not None:
            dest = ctx.way(arm.otherwise, placed, (*where, "otherwise"))
            if dest is not None:
                arms.append(Arm(None, dest, order))
        elif arm.goto is not None and arm.if_ is not None:
            condition = ctx.condition((*placed.path, "branch", order, "if"), arm.if_)
            dest = ctx.way(arm.goto, placed, (*where, "goto"))
            if dest is not None:
                arms.append(Arm(condition, dest, order))
    return BranchNode(**base, arms=tuple(arms))


def check(ctx: Context, flow: Flow, placed: Placed, node: BranchNode) -> Iterator[Diagnostic]:
    step = cast(BranchStep, placed.step)
    path = placed.path
    for i, arm in enumerate(step.branch):
        if arm.goto is not None:
            yield from ctx.check_way(arm.goto, placed, (*path, "branch", i, "goto"))
        if arm.otherwise is not None:
            yield from ctx.check_way(arm.otherwise, placed, (*path, "branch", i, "otherwise"))
    others = [i for i, a in enumerate(step.branch) if a.otherwise is not None]
    if not others:
        yield ctx.diag(
            (*path, "branch"),
            "PF317",
            "this branch has no 'otherwise'",
            "add '- otherwise: next', or another step id, as the last arm",
        )
    elif others != [len(step.branch) - 1]:
        yield ctx.diag(
            (*path, "branch", others[0]),
            "PF317",
            "'otherwise' must be the last arm, and only once",
            "move it to the end",
        )


KIND = StepKind("branch", build, check)
