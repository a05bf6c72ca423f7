"""Documents carried to other processes: where each entry is written, and whether it is there.

Owns `carry_path` (the YAML place of one ``carry`` entry, for diagnostics),
`held` (the documents that certainly hold a value whenever the flow reaches
a node) and `check_carried` (a `flow.checks` check, PF320: a required ``carry``
of a document that the process may not hold at that step).

The runtime agrees with `held`: a call or hand-off carries a document when
the instance holds a value for it; a required one that is missing is an
`EvaluationError` (nothing changes), an ``optional: true`` one is left out.
`held` is a must-analysis over the flow graph, so the check only accepts a
required carry when every way to the step passes a step that surely fills
the document (or the document starts with a default):

- a task or sign-off fills a document surely when it asks for at least one
  required field of it and can only complete with data: not an ``optional``
  step (answered "not needed"), not a skipped one (``when``), not a for-each
  (which may have nobody to do it), not one whose deadline expires (an
  expiry completes without data);
- a join of ``join: all`` adds what its unconditional branches surely fill;
  a ``join: any`` only what every branch fills.

Documents a process received from the one that started it are not held:
the process may also be started by hand. Carry them on with ``optional: true``.

Imports `build`, `context` and the language layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from procflow.flow.build import START
from procflow.flow.context import Context
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import (
    CallStep,
    DocumentDef,
    HandoffStep,
    HumanStep,
    ParallelStep,
    TaskStep,
)
from procflow.language.source import Document, Path_

__all__ = ["carry_path", "check_carried", "held"]

_NOT_DONE = frozenset({"skip", "optional"})
"""Edges taken without the step being done (its skip rule, or 'not needed')."""


def carry_path(doc: Document, step_path: Path_, theirs: str) -> Path_:
    """Where the ``carry`` entry for ``theirs`` is written (its ``from`` when there is one)."""
    base = (*step_path, "carry")
    raw: Any = doc.data
    for part in base:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return base
    if isinstance(raw, dict) and theirs in raw:
        inner = raw[theirs]
        written_from = isinstance(inner, dict) and "from" in inner
        return (*base, theirs, "from") if written_from else (*base, theirs)
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            if item == theirs:
                return (*base, i)
            if isinstance(item, dict) and theirs in item:
                return (*base, i, theirs)
    return base


def _fills_surely(step: Any, documents: Mapping[str, DocumentDef]) -> frozenset[str]:
    if not isinstance(step, HumanStep) or step.when is not None:
        return frozenset()
    if isinstance(step, TaskStep) and (step.optional or step.for_each is not None):
        return frozenset()
    if step.deadline is not None and step.deadline.expire is not None:
        return frozenset()
    out: set[str] = set()
    for name, fields in step.fills.items():
        d = documents.get(name)
        if d is None:
            continue
        asked = fields or list(d.fields)
        if any(f in d.fields and d.fields[f].required for f in asked):
            out.add(name)
    return frozenset(out)


def _with_defaults(documents: Mapping[str, DocumentDef]) -> frozenset[str]:
    return frozenset(
        name
        for name, d in documents.items()
        if any(f.default is not None for f in d.fields.values())
    )


def held(graph: nx.DiGraph[str], documents: Mapping[str, DocumentDef]) -> dict[str, frozenset[str]]:
    """Node id -> the documents that certainly hold a value whenever the flow arrives there."""
    every = frozenset(documents)
    gen = {n: _fills_surely(graph.nodes[n].get("step"), documents) for n in graph.nodes}
    arrive: dict[str, frozenset[str]] = dict.fromkeys(graph.nodes, every)
    arrive[START] = _with_defaults(documents)

    def leaving(u: str, v: str) -> frozenset[str]:
        data = graph.edges[u, v]
        kinds = {data["kind"], *(extra["kind"] for extra in data.get("also", ()))}
        return arrive[u] if kinds & _NOT_DONE else arrive[u] | gen[u]

    order = list(graph.nodes)
    for _ in range(len(order) + 2):
        changed = False
        for n in order:
            if n == START:
                continue
            fork = graph.nodes[n].get("fork")
            if fork is not None and fork in graph:
                new = _joined(graph, n, fork, arrive, leaving)
            else:
                sets = [leaving(u, n) for u in graph.predecessors(n)]
                new = frozenset.intersection(*sets) if sets else every
            if new != arrive[n]:
                arrive[n], changed = new, True
        if not changed:
            break
    return arrive


def _joined(
    graph: nx.DiGraph[str],
    join: str,
    fork: str,
    arrive: Mapping[str, frozenset[str]],
    leaving: Any,
) -> frozenset[str]:
    step = graph.nodes[fork]["step"]
    if not isinstance(step, ParallelStep):  # pragma: no cover - compile makes joins of parallels
        return arrive[fork]
    by_branch: dict[int, list[frozenset[str]]] = {}
    for u in graph.predecessors(join):
        branch = dict(graph.nodes[u].get("scope", ())).get(fork)
        if branch is not None:
            by_branch.setdefault(branch, []).append(leaving(u, join))
    ends = {b: frozenset.intersection(*sets) for b, sets in by_branch.items()}
    sure = [b for b in ends if step.parallel[b].when is None]
    if step.join == "all":
        return arrive[fork].union(*(ends[b] for b in sure))
    if sure and len(ends) == len(step.parallel):
        return frozenset.intersection(*ends.values())
    return arrive[fork]


def check_carried(ctx: Context) -> Iterator[Diagnostic]:
    """A required ``carry`` names a document the process surely holds at that step."""
    links: list[tuple[Path_, str, CallStep | HandoffStep]] = []
    for p in ctx.layout.placed:
        step = p.step
        if isinstance(step, CallStep | HandoffStep) and any(
            not c.optional for c in step.carry.values()
        ):
            links.append((p.path, p.id, step))
    if not links or ctx.layout.duplicates:
        return
    arrive = held(ctx.graph, ctx.documents)
    for path, step_id, step in links:
        here = arrive.get(step_id, frozenset(ctx.documents))
        for theirs, c in step.carry.items():
            if c.optional or c.from_ not in ctx.documents or c.from_ in here:
                continue
            yield ctx.diag(
                carry_path(ctx.doc, path, theirs),
                "PF320",
                f"'{c.from_}' may not be filled when this step runs, so it may not be there",
                f"write {theirs}: {{from: {c.from_}, optional: true}} to carry it only when it "
                "is there, or fill it on every way to this step",
            )
