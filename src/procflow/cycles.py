"""Cycles in a small directed graph of names: decision tables that use each other,
processes that call each other.

Owns `cycles`. The usual graph has none, and finding that out takes the standard
library's `graphlib`; networkx, which lists the cycles when there are some, is
imported only then (importing it costs more than the rest of ``procflow validate
FILE``). Imports nothing from procflow.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every simple cycle of the graph ``node -> the nodes it points to``, each as the
    list of its nodes in order (networkx's `simple_cycles`); ``[]`` when there is none."""
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError:
        pass
    else:
        return []
    import networkx as nx  # noqa: PLC0415 - only a graph with a cycle needs it

    graph: nx.DiGraph[str] = nx.DiGraph()
    for node, targets in edges.items():
        graph.add_node(node)
        graph.add_edges_from((node, target) for target in targets)
    return list(nx.simple_cycles(graph))
