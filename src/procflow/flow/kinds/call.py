"""The call: run another process as a sub-process and wait for it to finish.

Owns `CallNode` and the ``call`` `StepKind`: the process it calls, the
documents it carries in and the ones it copies back; the checks (carried and
returned documents exist, PF303); how it runs (the runtime starts the child
in the same command, and the parent goes on when the child finishes); and
how it is drawn (a double box linked to the other process's diagram).

Imports `ir`, `ports`, `context`, `layout`, `kinds.carry`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, cast

from procflow.flow.context import Context
from procflow.flow.ir import Flow, LinkNode
from procflow.flow.kinds.carry import carried, carried_words, check_carry
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.flow.ports import Canvas, Move, Run
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import CallStep


@dataclass(frozen=True, slots=True, kw_only=True)
class CallNode(LinkNode):
    """A call (``call:``): ``target`` runs with the ``carry`` documents; ``returns`` come back.

    Attributes:
        returns: (our document, their document) pairs copied back when it finishes.
    """

    kind: ClassVar[str] = "call"
    returns: tuple[tuple[str, str], ...] = ()

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        run.call(token, self)  # goes on when the child finishes (maybe at once)
        return None

    def draw(self, canvas: Canvas) -> None:
        lines = [f"調用 {canvas.process_title(self.target)}（等待完成）"]
        if self.carry:
            lines.append("攜帶：" + carried_words(self.carry))
        if self.returns:
            lines.append("取回：" + "、".join(ours for ours, _ in self.returns))
        canvas.box(self, "call", self.label or f"調用 {self.target}", lines, link=self.target)


def build(ctx: Context, placed: Placed, base: Base) -> CallNode:
    step = cast(CallStep, placed.step)  # the registry gives each kind its own steps
    return CallNode(
        **base,
        target=step.call,
        carry=carried(step.carry),
        returns=tuple(step.returns.items()),
    )


def check(ctx: Context, flow: Flow, placed: Placed, node: CallNode) -> Iterator[Diagnostic]:
    yield from check_carry(ctx, placed, node.carry)
    for ours, _ in node.returns:
        yield from ctx.document(ours, (*placed.path, "returns"))
        if ours in ctx.collections:
            yield ctx.one_form(ours, (*placed.path, "returns"), "the called process returns one")


KIND = StepKind("call", build, check)
