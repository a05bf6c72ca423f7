"""The parallel step: branches that run at the same time, and the join where they meet.

Owns `ParallelNode` and the ``parallel`` `StepKind`: its branches (each with
its first step and an optional ``when``) and its join (`procflow.flow.ir.JoinNode`,
``join: all``, ``any`` or ``first``); how it runs (one token per branch whose ``when``
holds, ``forked`` listing the skipped ones; with none, it merges at once);
and how it is drawn (a bar that says how the branches join).

Imports `ir`, `ports`, `context`, `layout`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, cast

from procflow.flow.context import Context
from procflow.flow.ir import Condition, Edge, JoinNode, Node, join_id
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.flow.ports import Canvas, Language, Move, Run
from procflow.language.model import ParallelStep

WORDS: dict[Language, dict[str, str]] = {
    "zh": {
        "title": "並行",
        "any": "任一完成即匯合",
        "first": "首個完成即繼續，其餘照常完成",
        "all": "全部完成後匯合",
    },
    "en": {
        "title": "In parallel",
        "any": "goes on when one is done",
        "first": "goes on at the first done, the others run to their end",
        "all": "goes on when all are done",
    },
}
"""The words of a parallel step's bar, in each language."""


@dataclass(frozen=True)
class Branch:
    """One branch: its index, the condition that must hold for it to run, its first step."""

    index: int
    condition: Condition | None
    first: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelNode(Node):
    """A parallel step (``parallel:``): it forks into ``branches``; they meet at ``join``."""

    kind: ClassVar[str] = "parallel"
    branches: tuple[Branch, ...] = ()
    join: str = ""
    any: bool = False
    """``join: any``: the first branch to finish goes on; the others are withdrawn."""
    first: bool = False
    """``join: first``: the first branch to finish goes on; the others run to their end."""

    def out_edges(self) -> Iterator[Edge]:
        if self.skip is not None and self.skip_to is not None:
            yield Edge(self.id, self.skip_to, "skip", condition=self.skip, label=self.skip.text)
        for b in self.branches:
            yield Edge(
                self.id, b.first, "fork", condition=b.condition, label=b.title, order=b.index
            )

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        live = [b for b in self.branches if b.condition is None or run.holds(b.condition)]
        skipped = [b.index for b in self.branches if b not in live]
        tokens = [run.next_number() for _ in live]
        run.emit(
            "forked",
            {
                "step": self.id,
                "token": token,
                "branches": [[b.index, t] for b, t in zip(live, tokens, strict=True)],
                "skipped": skipped,
            },
        )
        if not live:
            merged = run.next_number()
            run.emit("merged", {"step": self.id, "token": merged})
            return (merged, self.join, run.node(self.join).after or "")
        for b, branch_token in zip(live, tokens, strict=True):
            if not run.has_join(self.id):
                break  # a join-any was satisfied by an earlier branch
            run.enter(branch_token, b.first, self.id)
        return None

    def coverage(self) -> list[str]:
        items = Node.coverage(self)
        for b in self.branches:
            if b.condition is not None:
                items += [f"{self.id}: branch {b.index + 1} runs"]
                items += [f"{self.id}: branch {b.index + 1} skipped"]
        return items

    def draw(self, canvas: Canvas) -> None:
        words = WORDS[canvas.language]
        rule = words["any" if self.any else "first" if self.first else "all"]
        canvas.box(self, "fork", self.label or words["title"], [rule])


def build(ctx: Context, placed: Placed, base: Base) -> ParallelNode:
    step = cast(ParallelStep, placed.step)  # the registry gives each kind its own steps
    branches = []
    for b, branch in enumerate(step.parallel):
        condition = None
        if branch.when is not None:
            path = (*placed.path, "parallel", b, "when")
            condition = ctx.condition(path, branch.when, branch.when_title)
        first = ctx.layout.scopes[(*placed.scope, (placed.id, b))][0].id
        branches.append(Branch(b, condition, first, branch.title))
    return ParallelNode(
        **{**base, "after": None},  # the join goes on, not the fork
        branches=tuple(branches),
        join=join_id(placed.id),
        any=step.join == "any",
        first=step.join == "first",
    )


def join_of(ctx: Context, placed: Placed, node: ParallelNode) -> JoinNode:
    """The join node of a parallel step: where its branches meet."""
    return JoinNode(
        id=node.join,
        title="",
        where=node.where,
        scope=node.scope,
        after=ctx.layout.after(placed),
        fork=node.id,
        any=node.any,
        first=node.first,
    )


KIND = StepKind("parallel", build)
