"""Documents carried to other processes: whether each is surely there when it is carried.

Owns `held` (the documents that certainly hold a value whenever the flow
reaches a node) and `check_carried` (a check of `checks`, PF320: a required
``carry`` of a document that the process may not hold at that step).

The runtime agrees with `held`: a call or hand-off carries a document when
the instance holds a value for it; a required one that is missing is an
`EvaluationError` (nothing changes), an ``optional: true`` one is left out.
`held` is a must-analysis over the flow, so the check only accepts a
required carry when every way to the step passes a step that surely fills
the document (`HumanNode.fills_surely`), or the document starts with a
default. A join of ``join: all`` adds what its unconditional branches surely
fill; a ``join: any`` only what every branch fills.

Documents a process received from the one that started it are not held:
the process may also be started by hand. Carry them on with ``optional: true``.

Imports `context`, `ir`, `kinds.carry` and the language layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from procflow.flow.context import Context
from procflow.flow.ir import START, Flow, HumanNode, JoinNode, LinkNode, Node
from procflow.flow.kinds.carry import carry_path
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import DocumentDef

_NOT_DONE = frozenset({"skip", "optional"})
"""Edges taken without the step being done (its skip rule, or 'not needed')."""


def _with_defaults(documents: Mapping[str, DocumentDef]) -> frozenset[str]:
    return frozenset(
        name
        for name, d in documents.items()
        if any(f.default is not None for f in d.fields.values())
    )


def held(flow: Flow, documents: Mapping[str, DocumentDef]) -> dict[str, frozenset[str]]:
    """Node id -> the documents that certainly hold a value whenever the flow arrives there."""
    every = frozenset(documents)
    gen = {
        n.id: n.fills_surely(documents) if isinstance(n, HumanNode) else frozenset()
        for n in flow.nodes.values()
    }
    arrive: dict[str, frozenset[str]] = dict.fromkeys(flow.nodes, every)
    arrive[START] = _with_defaults(documents)
    incoming = flow.incoming

    def leaving(u: str, v: str) -> frozenset[str]:
        kinds = {e.kind for e in incoming[v] if e.source == u}
        return arrive[u] if kinds & _NOT_DONE else arrive[u] | gen[u]

    for _ in range(len(flow.nodes) + 2):
        changed = False
        for node in flow.nodes.values():
            n = node.id
            if n == START:
                continue
            if isinstance(node, JoinNode) and node.fork in flow.nodes:
                new = _joined(flow, node, arrive, leaving)
            else:
                sets = [leaving(u, n) for u in dict.fromkeys(e.source for e in incoming[n])]
                new = frozenset.intersection(*sets) if sets else every
            if new != arrive[n]:
                arrive[n], changed = new, True
        if not changed:
            break
    return arrive


def _joined(
    flow: Flow, join: JoinNode, arrive: Mapping[str, frozenset[str]], leaving: object
) -> frozenset[str]:
    fork: Node = flow.nodes[join.fork]
    branches = getattr(fork, "branches", ())
    by_branch: dict[int, list[frozenset[str]]] = {}
    for u in dict.fromkeys(e.source for e in flow.incoming[join.id]):
        branch = flow.nodes[u].in_branch.get(join.fork)
        if branch is not None:
            by_branch.setdefault(branch, []).append(leaving(u, join.id))  # type: ignore[operator]
    ends = {b: frozenset.intersection(*sets) for b, sets in by_branch.items()}
    sure = [b for b in ends if branches[b].condition is None]
    if not join.any:
        return arrive[fork.id].union(*(ends[b] for b in sure))
    if sure and len(ends) == len(branches):
        return frozenset.intersection(*ends.values())
    return arrive[fork.id]


def check_carried(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    """A required ``carry`` names a document the process surely holds at that step."""
    links = [
        n
        for n in flow.nodes.values()
        if isinstance(n, LinkNode) and any(not c.optional for c in n.carry)
    ]
    if not links or ctx.layout.duplicates:
        return
    arrive = held(flow, ctx.documents)
    for node in links:
        here = arrive.get(node.id, frozenset(ctx.documents))
        for c in node.carry:
            if c.optional or c.ours not in ctx.documents or c.ours in here:
                continue
            yield ctx.diag(
                carry_path(ctx.doc, node.where.path, c.theirs),
                "PF320",
                f"'{c.ours}' may not be filled when this step runs, so it may not be there",
                f"write {c.theirs}: {{from: {c.ours}, optional: true}} to carry it only when it "
                "is there, or fill it on every way to this step",
            )
