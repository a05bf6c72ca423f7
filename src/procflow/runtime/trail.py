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


def trail(flow: Flow, events: Iterable[Event], state: Snapshot) -> Trail:
    """The `Trail` of an instance of ``flow``, from its ``events`` and its ``state`` now."""
    log: list[str] = []
    skipped: set[str] = set()
    taken: set[tuple[str, str]] = set()

    def arrive(node: str) -> None:
        if node not in flow.nodes:
            return
        sources = {e.source for e in flow.incoming[node]}
        source = next((n for n in reversed(log) if n in sources), None)
        if source is not None:
            taken.add((source, node))
        log.append(node)

    finished: str | None = None
    for event in events:
        kind = event.type
        if kind == "started":
            arrive(START)
        elif kind in _ARRIVALS:
            step = event.data.get("step")
            if isinstance(step, str):
                arrive(step)
                if kind == "step_skipped":
                    skipped.add(step)
        elif kind == "merged":
            arrive(join_id(event.data["step"]))
        elif kind == "finished":
            finished = _end_of(flow, event.data.get("result", ""), log)
            if finished is not None:
                arrive(finished)
    current = [task.step for task in state.tasks.values()]
    current += [token.at for token in state.tokens.values() if token.child is not None]
    if finished is not None and not current:
        current.append(finished)
    return Trail(
        tuple(dict.fromkeys(log)),
        frozenset(skipped - set(current)),
        frozenset(taken),
        tuple(dict.fromkeys(current)),
    )
