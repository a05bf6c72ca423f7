"""The hand-off: start the next process with documents carried over, and go on.

Owns `HandoffNode` and the ``handoff`` `StepKind`: the process it starts and
the documents it carries; the checks (carried documents exist, PF303); how
it runs (the runtime starts the next instance in the same command, the two
linked both ways, and this one goes on at once); and how it is drawn (an
arrow-shaped box linked to the other process's diagram).

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
from procflow.flow.ports import Canvas, Language, Move, Run
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import HandoffStep

WORDS: dict[Language, dict[str, str]] = {
    "zh": {"to": "轉入 {process}"},
    "en": {"to": "on to {process}"},
}
"""The words of a hand-off on its diagram, in each language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffNode(LinkNode):
    """A hand-off (``handoff:``): ``target`` starts with the ``carry`` documents."""

    kind: ClassVar[str] = "handoff"

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        run.hand_off(self)
        return (token, self.id, self.after or "")

    def draw(self, canvas: Canvas) -> None:
        words = WORDS[canvas.language]
        lines = [words["to"].format(process=canvas.process_title(self.target))]
        if self.carry:
            lines.append(carried_words(self.carry, canvas))
        title = self.label or words["to"].format(process=self.target)
        canvas.box(self, "handoff", title, lines, link=self.target)


def build(ctx: Context, placed: Placed, base: Base) -> HandoffNode:
    step = cast(HandoffStep, placed.step)  # the registry gives each kind its own steps
    return HandoffNode(**base, target=step.handoff, carry=carried(step.carry))


def check(ctx: Context, flow: Flow, placed: Placed, node: HandoffNode) -> Iterator[Diagnostic]:
    yield from check_carry(ctx, placed, node.carry)


KIND = StepKind("handoff", build, check)
