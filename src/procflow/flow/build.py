"""Build the flow of a process: its model, placed, made into typed nodes.

Owns `build_flow`, the second stage of the pipeline (source → model →
**flow** → checks → runtime / render). It places the steps (`layout`), makes
each one's node through its kind (`procflow.flow.kinds.KINDS`), adds
``@start``, ``@end`` and one join per parallel step right after its branches,
and compiles every expression on the way (conditions, rules, assignees, dates,
decision-table inputs). Problems found while building (an expression that
does not type-check, a deadline that does not parse, a table that does not
exist) go to the `Context`; the checks over the built flow are in `checks`.

Building never fails: a target that does not exist gets no edge (its check
reports it), an expression that does not compile is kept as a stand-in that
never runs (a flow with problems is never returned by the loader).

Imports `context`, `layout`, `ir`, `kinds` and the language layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procflow.flow.context import Context
from procflow.flow.ir import END, START, EndNode, Flow, Node, StartNode, Where, join_id
from procflow.flow.kinds import KINDS
from procflow.flow.kinds.parallel import ParallelNode, join_of
from procflow.flow.kinds.protocol import Base
from procflow.flow.layout import Placed
from procflow.language.model import Loop


def _remembered(ctx: Context) -> frozenset[str]:
    """Steps whose doers a later rule names (four-eyes, same_as, a deadline counted from
    them)."""
    names: set[str] = set()
    for p in ctx.layout.placed:
        names.update(getattr(p.step, "not_by", ()))
        familiar = getattr(p.step, "same_as", None)
        if familiar is not None:
            names.add(familiar)
        deadline = getattr(p.step, "deadline", None)
        if deadline is not None and deadline.from_ not in ("open", "start"):
            names.add(deadline.from_)
    return frozenset(names)


def base_of(ctx: Context, p: Placed) -> Base:
    """What every node gets from its place: the keyword arguments of `Node`."""
    step = p.step
    skip = None
    if step.when is not None:
        skip = ctx.condition((*p.path, "when"), step.when, step.when_title)
    line, column = ctx.doc.positions.value(p.path)
    if isinstance(step.next, Loop):  # a parallel step goes on from its join
        source = join_id(p.id) if step.kind == "parallel" else p.id
        ctx.way(step.next, p, (*p.path, "next"), source=source)
    return {
        "id": p.id,
        "title": step.title or p.id,
        "label": step.title,
        "where": Where(p.path, line, column),
        "scope": p.scope,
        "after": ctx.layout.after(p),
        "skip": skip,
        "skip_to": p.continuation if skip is not None else None,
        "notes": tuple(step.notes),
    }


def build_nodes(ctx: Context) -> dict[str, Node]:
    """Every node of the flow, in reading order; a duplicated id's steps are built (their
    problems reported) but only the first is kept."""
    ctx.remembered = _remembered(ctx)
    lay = ctx.layout
    line, column = ctx.doc.positions.value(("steps",))
    nodes: dict[str, Node] = {
        START: StartNode(
            id=START,
            title="開始",
            where=Where(("steps",), line, column),
            after=lay.placed[0].id if lay.placed else END,
            schedule=ctx.process.schedule,
        )
    }
    built: dict[int, Node] = {}
    pending: list[tuple[Placed, ParallelNode]] = []
    duplicates = {id(p) for p in lay.duplicates}
    for p in lay.placed:
        node = KINDS[p.step.kind].build(ctx, p, base_of(ctx, p))
        built[id(p)] = node
        if id(p) in duplicates:
            continue
        while pending and all(pid != pending[-1][1].id for pid, _ in p.scope):
            placed, fork = pending.pop()
            nodes[fork.join] = join_of(ctx, placed, fork)
        nodes[p.id] = node
        if isinstance(node, ParallelNode):
            pending.append((p, node))
    while pending:
        placed, fork = pending.pop()
        nodes[fork.join] = join_of(ctx, placed, fork)
    for end_id, (result, path) in ctx.ends.items():  # where limits end the instance
        at_line, at_column = ctx.doc.positions.value(path)
        nodes[end_id] = EndNode(
            id=end_id, title=result, where=Where(path, at_line, at_column), result=result
        )
    nodes[END] = EndNode(id=END, title="結束", where=Where(("steps",), line, column))
    ctx.built = built
    return nodes


def build_flow(
    ctx: Context,
    *,
    file: str = "",
    definition: Mapping[str, Any] | None = None,
    definition_hash: str = "",
) -> Flow:
    """The flow of the process in ``ctx``; problems found on the way go to ``ctx.problems``."""
    return Flow(
        process_id=ctx.process.id,
        nodes=build_nodes(ctx),
        actors=ctx.actors,
        documents=ctx.documents,
        tables=ctx.tables,
        collections=ctx.collections,
        limits={way: found[0] for way, found in ctx.limits.items()},
        file=file,
        definition=definition or {},
        definition_hash=definition_hash,
        search=tuple(
            (doc, field) for doc, _, field in (entry.partition(".") for entry in ctx.process.search)
        ),
    )
