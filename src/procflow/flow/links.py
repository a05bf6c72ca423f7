"""Checks between processes: hand-offs, calls and the documents they carry.

Owns `check_catalog`, run by `loader.check_paths` once every file of a
folder is loaded. Imports `model`, `flow.held`, `diagnostics`, `source`; never `runtime`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import networkx as nx

from procflow.flow.catalog import Catalog
from procflow.flow.held import carry_path
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.model import CallStep, HandoffStep, Process
from procflow.language.source import Document


def _links(catalog: Catalog) -> Iterator[tuple[str, CallStep | HandoffStep, tuple[str | int, ...]]]:
    for pid, process in catalog.items():
        for placed in process.flow.layout.placed:
            if isinstance(placed.step, CallStep | HandoffStep):
                yield pid, placed.step, placed.path


def linked_ids(process: Process) -> list[str]:
    """The ids of the processes ``process`` calls or hands off to, in the order written."""
    return list(
        dict.fromkeys(
            p.step.call if isinstance(p.step, CallStep) else p.step.handoff
            for p in process.flow.layout.placed
            if isinstance(p.step, CallStep | HandoffStep)
        )
    )


def check_catalog(
    catalog: Catalog,
    docs: Mapping[str, Document],
    *,
    known: Mapping[str, Process] | None = None,
    unchecked: Mapping[str, str] | None = None,
) -> list[Diagnostic]:
    """Every hand-off and call names a process of the catalog (or one ``known`` beside
    it), carries documents it has, and no process calls itself. A process in
    ``unchecked`` (id -> why it could not be looked up) is not an error: it is
    reported as not checked (PF324, a warning)."""
    out: list[Diagnostic] = []
    calls: nx.DiGraph[str] = nx.DiGraph()
    for pid, step, path in _links(catalog):
        doc = docs[pid]
        other = step.call if isinstance(step, CallStep) else step.handoff
        key = "call" if isinstance(step, CallStep) else "handoff"
        target = catalog.processes.get(other) or (known or {}).get(other)
        if target is None and other in (unchecked or {}):
            out.append(
                doc.diag(
                    (*path, key),
                    "PF324",
                    f"the {key} to '{other}' is not checked: {(unchecked or {})[other]}",
                    "validate the whole folder to check it against every process",
                    warning=True,
                )
            )
            continue
        if target is None:
            hint = did_you_mean(other, catalog) or "check the id, or add that process's file"
            out.append(
                doc.diag(
                    (*path, key), "PF312", f"there is no process '{other}' in the catalog", hint
                )
            )
            continue
        theirs_docs = target.flow.context.documents
        for theirs in step.carry:
            if theirs not in theirs_docs:
                out.append(
                    doc.diag(
                        carry_path(doc, path, theirs),
                        "PF320",
                        f"'{other}' has no document '{theirs}' to carry into",
                        did_you_mean(theirs, theirs_docs) or "declare it in that process",
                    )
                )
        if isinstance(step, CallStep):
            calls.add_edge(pid, other, path=path)
            for ours, theirs in step.returns.items():
                if theirs not in theirs_docs:
                    out.append(
                        doc.diag(
                            (*path, "returns", ours),
                            "PF320",
                            f"'{other}' has no document '{theirs}' to return",
                            did_you_mean(theirs, theirs_docs),
                        )
                    )
    cycles = [] if nx.is_directed_acyclic_graph(calls) else nx.simple_cycles(calls)
    for cycle in cycles:
        first = cycle[0]
        path = calls.edges[first, cycle[1 % len(cycle)]]["path"]
        chain = " → ".join([*cycle, first])
        out.append(
            docs[first].diag(
                (*path, "call"),
                "PF322",
                f"the process calls itself: {chain}",
                "a call must finish; use a hand-off to start the next round",
            )
        )
    return out
