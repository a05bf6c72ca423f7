"""The way an instance went, read from its history: `trail`.

Owns `Trail` and `trail`: the flow nodes an instance reached (in the order
it first reached them), the ones it passed over by their skip rule, the
moves it made between them, and where it is now. It is what a diagram of
the instance marks (`procflow.render.progress.render_progress` takes it as
plain node ids). Read from the events only, with the flow to know which
moves exist; a query for pages, never part of a command.

Imports the flow's `Flow`, `state` and `store` (records).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from procflow.flow.ir import END, START, EndNode, Flow, join_id
from procflow.runtime.state import Snapshot
from procflow.store import Event

__all__ = ["Trail", "trail"]

_ARRIVALS = {
    "task_opened", "step_skipped", "branched", "notified", "forked", "called",
    "handed_off", "decided",
}  # fmt: skip


class Trail(NamedTuple):
    """Where an instance has been and is.

    Attributes:
        visited: Flow node ids it reached, in the order it first reached them.
        skipped: Those it passed over by their skip rule.
        taken: (from, to) flow node ids of the moves it made.
        current: Where it is now: the steps of its open tasks, the calls it waits on,
            or the end it finished at.
    """

    visited: tuple[str, ...]
    skipped: frozenset[str]
    taken: frozenset[tuple[str, str]]
    current: tuple[str, ...]


def _end_of(flow: Flow, result: str, last: list[str]) -> str | None:
    ends = [n for n in flow.nodes.values() if isinstance(n, EndNode) and n.result == result]
    for node in reversed(last):
        for edge in flow.outgoing(node):
            if any(edge.target == e.id for e in ends):
                return edge.target
    return ends[0].id if ends else (END if END in flow.nodes else None)


class _Walk:
    """The nodes an instance passed, in order, and the edges it took, as its events tell."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.log: list[str] = []
        self.skipped: set[str] = set()
        self.taken: set[tuple[str, str]] = set()
        self.finished: str | None = None

    def arrive(self, node: str) -> None:
        if node not in self.flow.nodes:
            return
        sources = {e.source for e in self.flow.incoming[node]}
        source = next((n for n in reversed(self.log) if n in sources), None)
        if source is not None:
            self.taken.add((source, node))
        self.log.append(node)

    def see(self, event: Event) -> None:
        kind = event.type
        if kind == "started":
            self.arrive(START)
        elif kind in _ARRIVALS:
            step = event.data.get("step")
            if isinstance(step, str):
                self.arrive(step)
                if kind == "step_skipped":
                    self.skipped.add(step)
        elif kind == "merged":
            self.arrive(join_id(event.data["step"]))
        elif kind == "finished":
            self.finished = _end_of(self.flow, event.data.get("result", ""), self.log)
            if self.finished is not None:
                self.arrive(self.finished)


def trail(flow: Flow, events: Iterable[Event], state: Snapshot) -> Trail:
    """The `Trail` of an instance of ``flow``, from its ``events`` and its ``state`` now."""
    walk = _Walk(flow)
    for event in events:
        walk.see(event)
    current = [task.step for task in state.tasks.values()]
    current += [token.at for token in state.tokens.values() if token.child is not None]
    if walk.finished is not None and not current:
        current.append(walk.finished)
    return Trail(
        tuple(dict.fromkeys(walk.log)),
        frozenset(walk.skipped - set(current)),
        frozenset(walk.taken),
        tuple(dict.fromkeys(current)),
    )
