"""Diagrams of processes: swimlanes in DOT/SVG/PNG, Mermaid, and an HTML catalog.

The stages, one module each: `diagram` (a process as lanes, nodes and edges,
the one place that decides what is drawn), `words` (their words, in Chinese
or English) and `wrapping`; the layout: `blocks` (text set in lines),
`metrics` (how wide it is), `grid` (rows and lanes), `routes` (lines and
labels), `arrange` (everything at its place); `dot` and `mermaid` (syntax and
escaping), `html` and `site` (the static catalog), `output` (files, written
atomically). Imports flow that way; nothing here imports `runtime` or `cli`.

    >>> import procflow, procflow.render as render
    >>> catalog = procflow.load_dir("processes")
    >>> render.write_diagrams(catalog, "build/diagrams", formats="svg,html")  # doctest: +SKIP
"""

from __future__ import annotations

from procflow.render.diagram import Diagram, Edge, Lane, Node, build_diagram
from procflow.render.dot import (
    INSTALL_HINT,
    dot_source,
    graphviz_available,
    render_image,
    render_images,
)
from procflow.render.mermaid import mermaid_source
from procflow.render.output import FORMATS, parse_formats, write_diagrams
from procflow.render.site import RESULTS_FILE, load_results
from procflow.writing import atomic_write

__all__ = [
    "FORMATS",
    "INSTALL_HINT",
    "RESULTS_FILE",
    "Diagram",
    "Edge",
    "Lane",
    "Node",
    "atomic_write",
    "build_diagram",
    "dot_source",
    "graphviz_available",
    "load_results",
    "mermaid_source",
    "parse_formats",
    "render_image",
    "render_images",
    "write_diagrams",
]
