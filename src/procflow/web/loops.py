"""How often an instance took each limited way (a bounded loop), as a page says it.

Owns `Loops`: for one definition, the limited ways (``revise: {to: draft,
at_most: 3, ...}``) and the words for their counts in the process's own
language (`render.words.Words`): ``退回修改：已退回2次，至多3次``, ``revise:
sent back 2 of at most 3 times``; which limits a step sits inside (the task
page shows only those); and the history lines of the ``looped`` and
``loop_exhausted`` events. The counts themselves are the instance's
(`Instance.loops`).

Imports the flow's `Edge` and `Flow`, `render.words`, the runtime's `Program`;
never other web modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from procflow.flow.ir import Edge, Flow
from procflow.render.words import Words
from procflow.runtime.program import Program

__all__ = ["Loops"]


def _reach(start: str, step: Mapping[str, Iterable[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in step.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


class Loops:
    """The limited ways of one definition, and what a page says of them."""

    def __init__(self, program: Program) -> None:
        flow: Flow = program.flow
        self.flow = flow
        self.words = Words.of(program.process)
        self.ways: dict[str, Edge] = {}
        """``step>target`` -> the limited way (the first edge when several share it)."""
        for e in flow.edges:
            if e.limit is not None and e.kind != "exceeded":
                self.ways.setdefault(e.limit.key, e)
        self._order = {n: i for i, n in enumerate(flow.nodes)}

    def _back(self, edge: Edge) -> bool:
        order = self._order
        return order.get(edge.target, 0) <= order.get(edge.source, 0)

    def _title(self, node: str) -> str:
        found = self.flow.nodes.get(node)
        return found.title if found is not None else node

    def _said(self, edge: Edge, count: int) -> str:
        return self.words.loop_count(
            edge, count, back=self._back(edge), target=self._title(edge.target)
        )

    def inside(self, edge: Edge) -> set[str]:
        """The nodes of the loop the limited way closes: reached from where it goes,
        and reaching where it leaves (both ends included)."""
        flow = self.flow
        ahead = {n: [e.target for e in flow.outgoing(n)] for n in flow.nodes}
        behind = {n: [e.source for e in flow.incoming[n]] for n in flow.nodes}
        return _reach(edge.target, ahead) & _reach(edge.source, behind)

    def counts(self, taken: Mapping[str, int], step: str | None = None) -> list[str]:
        """Each limited way with how often it was taken (``taken``: `Instance.loops`),
        in reading order; with ``step``, only the loops that step is inside."""
        return [
            self._said(edge, taken.get(key, 0))
            for key, edge in self.ways.items()
            if step is None or step in self.inside(edge)
        ]

    def looped(self, step: str, to: str, count: int) -> str:
        """The history line of a ``looped`` event."""
        edge = self.ways.get(f"{step}>{to}")
        return f"{step}>{to} {count}" if edge is None else self._said(edge, count)

    def exhausted(self, step: str, to: str) -> str:
        """The history line of a ``loop_exhausted`` event: ``退回修改超過3次``."""
        for e in self.flow.outgoing(step):
            if e.kind == "exceeded" and e.target == to:
                return self.words.edge(e)
        return f"{step}>{to}"
