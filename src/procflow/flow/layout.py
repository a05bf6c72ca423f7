"""Where each step of a process sits: its id, its scope, where it is written, where it goes next.

Owns `Placed` and `Layout`, the first pass of building a flow: every step
(nested parallel branches included) gets an id (its own, or a generated one
such as ``step-3`` or ``step-5.2.1`` that never clashes with an analyst's),
the parallel branches it sits in, its path in the YAML document, and its
continuation (the step written after it, the join at the end of a branch, or
``@end``). Targets (``next``, outcomes, arms) are resolved against it.

Imports the language layer (`model`) and `ir` (node ids) only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from procflow.flow.ir import END, Path_, Scope, join_id
from procflow.language.model import AnyStep, Process, target_of


@dataclass(frozen=True)
class Placed:
    """A step with everything its position implies."""

    step: AnyStep
    id: str
    path: Path_
    """Path of the step inside the YAML document, for diagnostics."""
    scope: Scope
    index: int
    """Position within its own list of steps."""
    continuation: str
    """Where the flow goes after this step when nothing else is said."""

    @property
    def where_id(self) -> Path_:
        """Where to point at the step: its ``id:`` when written, else the step itself."""
        return (*self.path, "id") if self.step.id else self.path


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

    def after(self, p: Placed) -> str:
        """Where the flow goes after ``p`` completes normally (honours ``next:``)."""
        if p.step.next is not None:
            return self.resolve(target_of(p.step.next), p) or p.continuation
        return p.continuation

    def ids_in_scope(self, scope: Scope) -> list[str]:
        return [p.id for p in self.scopes.get(scope, [])]

    def unique(self) -> list[Placed]:
        """The placed steps but the second and later of a duplicated id."""
        dupes = {id(p) for p in self.duplicates}
        return [p for p in self.placed if id(p) not in dupes]


def layout(process: Process) -> Layout:
    """Place every step: ids (generated where missing), scopes and continuations."""
    out = Layout()

    def place(
        steps: Sequence[AnyStep], base: Path_, scope: Scope, exit_to: str, prefix: str
    ) -> None:
        ids = [step.id or f"step-{prefix}{i + 1}" for i, step in enumerate(steps)]
        for i, step in enumerate(steps):
            following = ids[i + 1] if i + 1 < len(steps) else exit_to
            placed = Placed(step, ids[i], (*base, i), scope, i, following)
            out.placed.append(placed)
            out.scopes.setdefault(scope, []).append(placed)
            if placed.id in out.by_id:
                out.duplicates.append(placed)
            else:
                out.by_id[placed.id] = placed
            for b, (where, inner) in enumerate(step.nested()):  # parallel branches
                place(
                    inner,  # type: ignore[arg-type]  # steps hold steps of the union
                    (*base, i, *where),
                    (*scope, (placed.id, b)),
                    join_id(placed.id),
                    f"{prefix}{i + 1}.{b + 1}.",
                )

    place(process.steps, ("steps",), (), END, "")
    return out
