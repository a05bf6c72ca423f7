"""Checks between processes: hand-offs, calls and the documents they carry.

Owns `check_catalog`, run by `load.check_paths` once every file of a
folder is loaded. Imports `catalog`, `ir`, `kinds`, the language layer and
`cycles`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from procflow.cycles import cycles
from procflow.flow.catalog import Catalog, Process
from procflow.flow.ir import LinkNode
from procflow.flow.kinds.call import CallNode
from procflow.flow.kinds.carry import carry_path
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.source import Document, Path_


def _links(catalog: Catalog) -> Iterator[tuple[str, LinkNode]]:
    for pid, process in catalog.items():
        for node in process.flow.nodes.values():
            if isinstance(node, LinkNode):
                yield pid, node


def linked_ids(process: Process) -> list[str]:
    """The ids of the processes ``process`` calls or hands off to, in the order written."""
    return list(dict.fromkeys(other for node in process.flow.steps() for other in node.links))


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
    reported as not checked (PF324, a warning). A process may call itself (through
    others too) when a call on the way has a ``when:`` condition that bounds the
    depth; without one, PF322."""
    out: list[Diagnostic] = []
    calls: dict[str, dict[str, Path_]] = {}  # caller -> called -> where (the last call)
    bounded: set[tuple[str, str]] = set()  # (caller, called) with a call that has 'when:'
    for pid, node in _links(catalog):
        doc = docs[pid]
        other, key, path = node.target, node.kind, node.where.path
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
        theirs_docs = target.flow.documents
        for theirs in (c.theirs for c in node.carry):
            if theirs not in theirs_docs:
                out.append(
                    doc.diag(
                        carry_path(doc, path, theirs),
                        "PF320",
                        f"'{other}' has no document '{theirs}' to carry into",
                        did_you_mean(theirs, theirs_docs) or "declare it in that process",
                    )
                )
        if isinstance(node, CallNode):
            calls.setdefault(pid, {})[other] = path
            if node.skip is not None:
                bounded.add((pid, other))
            for ours, theirs in node.returns:
                if theirs not in theirs_docs:
                    out.append(
                        doc.diag(
                            (*path, "returns", ours),
                            "PF320",
                            f"'{other}' has no document '{theirs}' to return",
                            did_you_mean(theirs, theirs_docs),
                        )
                    )
    for cycle in cycles(calls):
        pairs = [(a, cycle[(i + 1) % len(cycle)]) for i, a in enumerate(cycle)]
        if any(pair in bounded for pair in pairs):
            continue  # recursion: a call's 'when:' bounds the depth (the engine limits it too)
        first = cycle[0]
        path = calls[first][cycle[1 % len(cycle)]]
        chain = " → ".join([*cycle, first])
        out.append(
            docs[first].diag(
                (*path, "call"),
                "PF322",
                f"the process calls itself with nothing to stop it: {chain}",
                "give the call a 'when:' condition that ends the recursion, or use a "
                "hand-off to start the next round",
            )
        )
    return out
