"""The end step: finish the instance with a named result.

Owns the ``end`` `StepKind` (its node is `procflow.flow.ir.EndNode`, which
``@end`` after the last step uses too): the result, and the checks (not
inside a parallel branch, PF311; no skip rule, PF321).

Imports `ir`, `context`, `layout`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from procflow.flow.context import Context
from procflow.flow.ir import EndNode, Flow
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import EndStep


def build(ctx: Context, placed: Placed, base: Base) -> EndNode:
    step = cast(EndStep, placed.step)  # the registry gives each kind its own steps
    return EndNode(**{**base, "after": None}, result=step.end)


def check(ctx: Context, flow: Flow, placed: Placed, node: EndNode) -> Iterator[Diagnostic]:
    step = cast(EndStep, placed.step)
    if placed.scope:
        yield ctx.diag(
            (*placed.path, "end"),
            "PF311",
            "an end inside a parallel branch: the branch never joins",
            "end the process after the parallel step instead",
        )
    if step.when is not None:
        yield ctx.diag(
            (*placed.path, "when"),
            "PF321",
            "an end step cannot have a skip rule",
            "put a branch before it",
        )


KIND = StepKind("end", build, check)
