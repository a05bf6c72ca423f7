"""What a step kind is to the rest of procflow: `StepKind`, and what building one is given.

A step kind's module (``flow/kinds/task.py`` and its siblings) defines its
node class (what it is in the flow, how it runs, how it is drawn, what
scenarios must show of it) and one `StepKind`: the name of the kind in the
language and the two functions that turn a placed step of that kind into its
node (`StepKind.build`) and check it (`StepKind.check`). The registry in
``flow/kinds/__init__.py`` lists every kind.

Imports `context`, `layout` and `ir` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from procflow.flow.context import Context
from procflow.flow.ir import Flow, Node
from procflow.flow.layout import Placed
from procflow.language.diagnostics import Diagnostic

Base = dict[str, Any]
"""What every node gets from its place (id, title, where, scope, after, skip...), as
keyword arguments for the node class; `procflow.flow.build` makes it."""

Build = Callable[[Context, Placed, Base], Node]
"""Make the node of a placed step; problems (expressions, deadlines) go to the context."""
Check = Callable[[Context, Flow, Placed, Any], Iterator[Diagnostic]]
"""Check a built node against its step, the rest of the flow and the names it uses."""


def no_checks(ctx: Context, flow: Flow, placed: Placed, node: Any) -> Iterator[Diagnostic]:
    """For kinds with nothing of their own to check."""
    return iter(())


@dataclass(frozen=True)
class StepKind:
    """One kind of step: its name in the language, how it is built and checked."""

    name: str
    """The key of `procflow.language.model.StepBase.kind` (``task``, ``sign``, ...)."""
    build: Build
    check: Check = no_checks
