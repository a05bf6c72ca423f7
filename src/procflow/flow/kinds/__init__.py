"""The step kinds: one module each, and the registry that lists them.

Each module (``task``, ``sign``, ``branch``, ``parallel``, ``notify``,
``call``, ``handoff``, ``end``) holds everything about its kind after the
language: its node class in the flow, how it is built from the step and
checked, how it runs (against `procflow.flow.ports.Run`) and how it is drawn
(on `procflow.flow.ports.Canvas`). `human` and `carry` hold what tasks and
sign-offs, and calls and hand-offs, share.

Adding a kind: its YAML shape in `procflow.language.model` (the language),
its module here, and one line in `KINDS`; see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from procflow.flow.kinds import branch, call, end, handoff, notify, parallel, sign, task
from procflow.flow.kinds.protocol import StepKind

KINDS: Mapping[str, StepKind] = {
    k.name: k
    for k in (
        task.KIND,
        sign.KIND,
        branch.KIND,
        parallel.KIND,
        notify.KIND,
        call.KIND,
        handoff.KIND,
        end.KIND,
    )
}
"""Step kind name (`procflow.language.model.StepBase.kind`) -> its `StepKind`."""

__all__ = ["KINDS", "StepKind"]
