"""An instance's position on its process's swimlane diagram: `render_progress`.

Owns marking, on the SVG of a process (`render_image`), where an instance
is (the current steps), where it has been (the steps it reached, the skip
gates it passed) and the edges it took. It takes plain data, flow node ids
and pairs of them, so it knows nothing of instances or events: the caller
(``procflow serve`` reads them from an instance's history) says what to mark.

The SVG of a definition is drawn once and kept (by content hash); marking
adds CSS classes to its nodes and edges (``pf-current``, ``pf-visited``,
``pf-taken``) and a ``<style>`` that draws them, so a page may restyle them.
A drawing node belongs to the flow node it draws, or, for the parts a step
adds (a skip gate ``<id>@when``, a sign-off's signers), to that step.

Imports `render.diagram`, `render.dot` and the flow's `Process`; never `runtime`.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable

from procflow.flow.catalog import Process
from procflow.render.diagram import Diagram, build_diagram
from procflow.render.dot import render_image

__all__ = ["STYLE", "render_progress"]

STYLE = """
.pf-visited > path, .pf-visited > polygon, .pf-visited > ellipse {
  stroke: #188038; stroke-width: 2.5; }
.pf-taken > path { stroke: #188038; stroke-width: 3; }
.pf-taken > polygon { stroke: #188038; fill: #188038; }
.pf-current > path, .pf-current > polygon, .pf-current > ellipse {
  stroke: #c5221f; stroke-width: 4; fill: #fde7c7; }
"""
"""The CSS that draws the marks (green: the way taken; red on amber: where it is now)."""

_CACHE_SIZE = 64
_cache: OrderedDict[str, tuple[str, Diagram]] = OrderedDict()
_lock = threading.Lock()

_NODE = re.compile(r'<g id="node&#45;([^"]+)" class="node"')
_EDGE = re.compile(r'<g id="(edge\d+)" class="edge">\s*<title>([^<]*)</title>')


def _drawing(process: Process) -> tuple[str, Diagram]:
    key = process.flow.definition_hash or process.id
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    diagram = build_diagram(process)
    svg = render_image(diagram, "svg").decode("utf-8")
    with _lock:
        _cache[key] = (svg, diagram)
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return svg, diagram


def _owners(diagram: Diagram, flow_ids: Collection[str]) -> dict[str, str]:
    """Drawing node id -> the flow node it belongs to (notes belong to none)."""
    out: dict[str, str] = {}
    for node in diagram.nodes:
        if node.beside is not None:
            continue
        if node.step is not None:
            out[node.id] = node.step
        elif node.id not in flow_ids and "@" in node.id:
            owner = node.id.rsplit("@", 1)[0]
            if owner in flow_ids:
                out[node.id] = owner
    return out


def render_progress(
    process: Process,
    *,
    current: Iterable[str] = (),
    visited: Iterable[str] = (),
    skipped: Iterable[str] = (),
    taken: Iterable[tuple[str, str]] = (),
) -> str:
    """The process's swimlane diagram as SVG text, with an instance's position marked.

    Args:
        process: The process (the definition the instance runs on).
        current: Flow node ids where it is now (open tasks, a call waiting).
        visited: Flow node ids it has reached.
        skipped: Of those, the ones passed over by their skip rule: only their gate
            is marked.
        taken: (from, to) flow node ids of the moves it made.

    Raises:
        RenderError: Graphviz is missing or failed (the message says how to install it).
    """
    svg, diagram = _drawing(process)
    flow_ids = set(process.flow.nodes)
    owners = _owners(diagram, flow_ids)
    now, seen, passed = set(current), set(visited), set(skipped)
    moves = set(taken)

    def reached(node_id: str) -> bool:
        owner = owners.get(node_id)
        if owner is None or owner not in seen:
            return False
        return owner not in passed or node_id.endswith("@when")

    def mark_node(match: re.Match[str]) -> str:
        node_id = html.unescape(match.group(1))
        owner = owners.get(node_id)
        classes = ["node"]
        if owner in now and not node_id.endswith("@when"):
            classes.append("pf-current")
        elif reached(node_id):
            classes.append("pf-visited")
        return f'<g id="node&#45;{match.group(1)}" class="{" ".join(classes)}"'

    def mark_edge(match: re.Match[str]) -> str:
        source, _, target = html.unescape(match.group(2)).partition("->")
        a, b = owners.get(source), owners.get(target)
        on_path = (
            a is not None
            and b is not None
            and reached(source)
            and (reached(target) or b in now)
            and ((a, b) in moves or a == b)
        )
        extra = " pf-taken" if on_path else ""
        return f'<g id="{match.group(1)}" class="edge{extra}">\n<title>{match.group(2)}</title>'

    marked = _EDGE.sub(mark_edge, _NODE.sub(mark_node, svg))
    return marked.replace("</svg>", f"<style>{STYLE}</style>\n</svg>", 1)
