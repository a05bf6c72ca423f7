"""Swimlane diagrams in DOT, and SVG or PNG through the Graphviz binary.

Owns the translation of a `Diagram` into DOT (with the `graphviz` package),
the escaping of every text it carries, and running ``dot``. Every label is a
Graphviz HTML-like label: text is XML-escaped and each backslash doubled,
because Graphviz expands ``\\N``, ``\\G`` and friends even inside HTML labels.
Plain-string attributes only ever hold ids and URLs we make ourselves.

Lanes are clusters kept in order by invisible anchor nodes on the first and
last ranks (``newrank=true`` lets rank constraints cross clusters), so every
lane runs the full height, as in the source's charts. Notes sit on the row of
their step. Edges that go back are dashed red with ``constraint=false``: they
read as "sent back" and do not push the layout around.

Imports `render.diagram`, `render.words` and `errors`; never `runtime` or `cli`.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import graphviz

from procflow.errors import RenderError
from procflow.render.diagram import Diagram, EdgeStyle, Node, Shape
from procflow.render.words import FONT, clean, wrap

INSTALL_HINT = (
    "the Graphviz program 'dot' was not found, and SVG and PNG need it; install it with "
    "'apt-get install graphviz fonts-noto-cjk' (or 'brew install graphviz'). "
    "DOT and Mermaid output work without it"
)
TIMEOUT = 300
"""Seconds one run of ``dot`` may take."""
SPLINE_LIMIT = 120
"""Diagrams with more nodes than this get right-angled (or straight) edges."""

ImageFormat = Literal["svg", "png"]
Linker = Callable[[str], str | None]

_NODE: dict[Shape, dict[str, str]] = {
    "start": {"shape": "ellipse", "style": "filled", "fillcolor": "#d2e3fc", "color": "#1a56b0"},
    "end": {
        "shape": "ellipse",
        "peripheries": "2",
        "style": "filled",
        "fillcolor": "#e6e6e6",
        "color": "#3c4043",
    },
    "task": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f0fe", "color": "#1a56b0"},
    "decision": {"shape": "diamond", "style": "filled", "fillcolor": "#fff4d6", "color": "#b07d00"},
    "branch": {
        "shape": "diamond",
        "style": "filled,dashed",
        "fillcolor": "#f1f3f4",
        "color": "#5f6368",
    },
    "fork": {"shape": "plain"},
    "join": {"shape": "plain"},
    "signer": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#e6f4ea",
        "color": "#188038",
    },
    "notify": {"shape": "box", "style": "rounded,dashed", "color": "#5f6368"},
    "call": {
        "shape": "box",
        "peripheries": "2",
        "style": "filled",
        "fillcolor": "#f3e8fd",
        "color": "#7627bb",
    },
    "handoff": {"shape": "cds", "style": "filled", "fillcolor": "#f3e8fd", "color": "#7627bb"},
    "docs": {"shape": "note", "style": "filled", "fillcolor": "#fffbe6", "color": "#b07d00"},
    "clock": {
        "shape": "box",
        "style": "rounded,filled,bold",
        "fillcolor": "#fdeee0",
        "color": "#c5570a",
    },
    "gate": {"shape": "point", "width": "0.08", "color": "#5f6368"},
}
_EDGE: dict[EdgeStyle, dict[str, str]] = {
    "flow": {"color": "#3c4043"},
    "back": {
        "color": "#d93025",
        "fontcolor": "#d93025",
        "style": "dashed",
        "constraint": "false",
    },
    "bypass": {
        "color": "#5f6368",
        "fontcolor": "#5f6368",
        "style": "dashed",
        "constraint": "false",
    },
    "note": {"style": "dotted", "arrowhead": "none", "color": "#9aa0a6"},
    "order": {"style": "invis"},
}
_LANE_FILL = ("#f8f9fa", "#ffffff")
_INVISIBLE = {"shape": "point", "style": "invis", "width": "0", "height": "0", "label": ""}


def escape(text: str) -> str:
    """``text`` for the inside of a Graphviz HTML-like label (no line breaks)."""
    return (
        clean(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\\", "\\\\")
    )


def _lines(text: str, columns: int, *, align: str = "") -> str:
    br = f'<BR ALIGN="{align}"/>' if align else "<BR/>"
    return br.join(escape(line) for line in wrap(text, columns))


def _small(lines: list[str], columns: int, *, align: str = "") -> str:
    if not lines:
        return ""
    br = f'<BR ALIGN="{align}"/>' if align else "<BR/>"
    body = br.join(_lines(line, columns, align=align) for line in lines)
    return f'<FONT POINT-SIZE="9" COLOR="#3c4043">{body}</FONT>'


def _bar(colour: str = "#202124") -> str:
    return f'<TR><TD BGCOLOR="{colour}" HEIGHT="5" WIDTH="140" FIXEDSIZE="FALSE"></TD></TR>'


def node_label(node: Node) -> str:
    """The HTML-like label of a node, angle brackets included."""
    if node.shape in ("fork", "join"):
        text = f"<B>{_lines(node.title, 28)}</B>" if node.title else ""
        rows = [f"<TR><TD>{text}</TD></TR>"] if text else []
        if node.lines:
            rows.append(f"<TR><TD>{_small(node.lines, 34)}</TD></TR>")
        rows = [*rows, _bar()] if node.shape == "fork" else [_bar(), *rows]
        table = "".join(rows)
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{table}</TABLE>>'
    if node.shape == "gate":
        return "<>"
    if node.shape in ("docs", "clock"):
        head = f"<B>{_lines(node.title, 30, align='LEFT')}</B>" if node.title else ""
        parts = [p for p in (head, _small(node.lines, 32, align="LEFT")) if p]
        return "<" + '<BR ALIGN="LEFT"/>'.join(parts) + '<BR ALIGN="LEFT"/>>'
    title = f"<B>{_lines(node.title, 16 if node.shape in ('decision', 'branch') else 24)}</B>"
    small = _small(node.lines, 20 if node.shape in ("decision", "branch") else 28)
    return f"<{title}<BR/>{small}>" if small else f"<{title}>"


def _edge_label(text: str) -> str:
    return f'<<FONT POINT-SIZE="10">{_lines(text, 30)}</FONT>>'


def _rows(nodes: list[Node]) -> list[list[str]]:
    rows: dict[str, list[str]] = {}
    for node in nodes:
        if node.beside is not None:
            rows.setdefault(node.beside, [node.beside]).append(node.id)
    return list(rows.values())


@dataclass(frozen=True)
class _Placement:
    """Where the first pass put things, with the lanes moved into their order."""

    nodes: dict[str, tuple[float, float]]
    lanes: list[tuple[float, float, float, float]]
    labels: list[tuple[float, float]]
    size: tuple[float, float]
    splines: str = "true"


def _graph(diagram: Diagram, link: Linker | None, placed: _Placement | None) -> graphviz.Digraph:
    g = graphviz.Digraph(name=diagram.id)
    caption = _small(diagram.caption, 80)
    layout = (
        {"newrank": "true", "rankdir": "TB", "nodesep": "0.3", "ranksep": "0.35"}
        if placed is None
        else {
            "splines": placed.splines,
            "forcelabels": "true",
            "bb": f"0,0,{placed.size[0]:.2f},{placed.size[1]:.2f}",
        }
    )
    g.attr(
        "graph",
        **layout,
        fontname=FONT,
        fontsize="16",
        labelloc="t",
        label=f"<<B>{_lines(f'{diagram.id} {diagram.title}', 80)}</B>"
        + (f"<BR/>{caption}>" if caption else ">"),
    )
    g.attr("node", fontname=FONT, fontsize="12", margin="0.12,0.06")
    g.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.7")
    tops = [f"lane.{i}@top" for i in range(len(diagram.lanes))]
    for i, lane in enumerate(diagram.lanes):
        with g.subgraph(name=f"cluster_{i}") as c:
            title = f"<B>{_lines(lane.title, 24)}</B>"
            if lane.external:
                title += '<BR/><FONT POINT-SIZE="9">（外部）</FONT>'
            c.attr(
                label=f"<{title}>",
                style="filled,dashed" if lane.external else "filled",
                fillcolor=_LANE_FILL[i % 2],
                color="#bdc1c6",
                fontsize="13",
                id=f"lane-{i}",
            )
            if placed is None:
                c.node(tops[i], **_INVISIBLE)
            else:
                c.attr(bb="{:.2f},{:.2f},{:.2f},{:.2f}".format(*placed.lanes[i]))
                c.attr(lp="{:.2f},{:.2f}".format(*placed.labels[i]))
            members = diagram.in_lane(lane.key)
            for node in members:
                attrs = dict(_NODE[node.shape])
                attrs["label"] = node_label(node)
                attrs["id"] = f"node-{node.id}"
                url = link(node.link) if link is not None and node.link is not None else None
                if url is not None:
                    attrs.update(URL=url, target="_top", tooltip=f"→ {node.link}")
                if placed is not None:
                    attrs["pos"] = "{:.2f},{:.2f}".format(*placed.nodes[node.id])
                c.node(node.id, **attrs)
            if placed is None:
                for row in _rows(members):
                    with c.subgraph() as same:  # notes on the row of their step, to its right
                        same.attr(rank="same")
                        for a, b in itertools.pairwise(row):
                            same.edge(a, b, style="invis")
    if placed is None:
        # a row of anchors above everything; it hints the lane order to the first pass
        with g.subgraph() as row:
            row.attr(rank="same")
            for a, b in itertools.pairwise(tops):
                row.edge(a, b, style="invis")
        for i, lane in enumerate(diagram.lanes):
            first = next(n for n in diagram.in_lane(lane.key) if n.beside is None)
            g.edge(tops[i], first.id, style="invis")
    for edge in diagram.edges:
        # the first pass keeps notes beside their step with an invisible chain of its own
        # (a second, visible flat edge there makes dot lose edges), the second pass draws
        # the note edges and has no use for the order edges
        if edge.style == ("order" if placed is not None else "note"):
            continue
        attrs = dict(_EDGE[edge.style])
        if edge.label:
            # labels of edges that do not shape the layout are placed after it (xlabel)
            # (the second pass draws plain labels only when it routes splines)
            plain = placed is None or placed.splines == "true"
            key = "label" if plain and attrs.get("constraint") != "false" else "xlabel"
            attrs[key] = _edge_label(edge.label)
        g.edge(edge.src, edge.dst, **attrs)
    return g


def dot_source(diagram: Diagram, *, link: Linker | None = None) -> str:
    """The DOT text of a swimlane diagram (what ``--format dot`` writes).

    Args:
        diagram: from `build_diagram`.
        link: process id -> URL for hand-off and call nodes (None: no link).
    """
    source: str = _graph(diagram, link, None).source
    return source


def _bb(text: str) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in text.split(","))
    return x0, y0, x1, y1


def _place(diagram: Diagram, layout: dict[str, Any]) -> _Placement:
    """Move each lane, with everything in it, into the order the lanes are listed, and
    stretch every lane to the full height (dot keeps clusters apart but may reorder them)."""
    objects = layout.get("objects", [])
    names = {o["_gvid"]: o["name"] for o in objects if "pos" in o}
    pos = {o["name"]: tuple(float(v) for v in o["pos"].split(",")) for o in objects if "pos" in o}
    lanes: dict[int, dict[str, Any]] = {}
    for o in objects:
        if str(o.get("name", "")).startswith("cluster_") and "bb" in o:
            lanes[int(o["name"].removeprefix("cluster_"))] = o
    gap, margin = 8.0, 8.0
    boxes = [_bb(lanes[i]["bb"]) for i in range(len(diagram.lanes))]
    low = min(b[1] for b in boxes)
    high = max(b[3] for b in boxes)
    x = margin
    nodes: dict[str, tuple[float, float]] = {}
    out_boxes: list[tuple[float, float, float, float]] = []
    labels: list[tuple[float, float]] = []
    for i, (x0, _y0, x1, y1) in enumerate(boxes):
        dx = x - x0
        for gvid in lanes[i].get("nodes", []):
            name = names.get(gvid)
            if name is not None:
                nodes[name] = (pos[name][0] + dx, pos[name][1])
        label_y = float(lanes[i].get("lp", f"0,{y1 - 10}").split(",")[1])
        out_boxes.append((x, low, x + x1 - x0, high))
        labels.append((x + (x1 - x0) / 2, high - (y1 - label_y)))
        x += x1 - x0 + gap
    _, _, _, height = _bb(layout["bb"])
    return _Placement(nodes, out_boxes, labels, (x - gap + margin, height))


def render_image(diagram: Diagram, fmt: ImageFormat, *, link: Linker | None = None) -> bytes:
    """Draw a swimlane diagram as SVG or PNG with Graphviz.

    Two passes: ``dot`` lays the diagram out, the lanes are put in order and made
    full height, and ``neato -n2`` draws it at those positions, routing the edges.

    Raises:
        RenderError: when Graphviz is not installed (the message says how to install
            it), fails, or takes longer than `TIMEOUT` seconds.
    """
    first = json.loads(run_graphviz(dot_source(diagram, link=link), "json"))
    placed = _place(diagram, first)
    # neato routes splines around nodes well but slowly (7 s for 100 steps, 50 s for 200):
    # large diagrams get right-angled edges, or straight ones if that router gives up
    modes = ["true"] if len(diagram.nodes) <= SPLINE_LIMIT else ["ortho", "line"]
    for mode in modes:
        try:
            source = _graph(diagram, link, replace(placed, splines=mode)).source
            return run_graphviz(source, fmt, engine="neato")
        except RenderError:
            if mode == modes[-1]:
                raise
    raise AssertionError("unreachable")


def graphviz_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def run_graphviz(source: str, fmt: ImageFormat | Literal["json"], *, engine: str = "dot") -> bytes:
    """Lay out DOT ``source`` and draw it as SVG or PNG.

    Raises:
        RenderError: when ``dot`` is not installed (the message says how to install it),
            fails, or takes longer than `TIMEOUT` seconds.
    """
    exe = shutil.which(engine)
    if exe is None:
        raise RenderError(INSTALL_HINT)
    argv = [exe, f"-T{fmt}"] + (["-n2"] if engine == "neato" else [])
    argv += ["-Gdpi=110"] if fmt == "png" else []
    try:
        # an argument list of our own and DOT text we generated: no shell, no user input
        done = subprocess.run(  # noqa: S603
            argv, input=source.encode("utf-8"), capture_output=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took longer than {TIMEOUT} s to draw the diagram") from None
    except OSError as exc:
        raise RenderError(f"Graphviz could not be run: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz failed: {detail[-1] if detail else done.returncode}")
    return done.stdout
