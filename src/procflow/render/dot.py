"""Swimlane diagrams in DOT, and SVG or PNG through the Graphviz binary.

Owns the translation of a `Diagram` into DOT (with the `graphviz` package),
the escaping of every text it carries, and running ``dot``. Every label is a
Graphviz HTML-like label: text is XML-escaped and each backslash doubled,
because Graphviz expands ``\\N``, ``\\G`` and friends even inside HTML labels.
Plain-string attributes only ever hold ids and URLs we make ourselves.

The layout is procflow's own (`render.arrange`): every node, lane, edge and
label comes with its position, and the graph says ``layout=nop2``, so Graphviz
only draws. Lanes are clusters, every label is a table of one row per line
(`table`), edges are square lines with rounded corners given as Bézier control
points. Edges that go back are dashed red: they read as "sent back".

Imports `render.arrange`, `render.blocks`, `render.diagram`, `render.words` and
`errors`; never `runtime` or `cli`.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import graphviz

from procflow.errors import RenderError
from procflow.render.arrange import Layout, Point, lay_out
from procflow.render.blocks import (
    BAR,
    EDGE,
    TITLE,
    Block,
    Line,
    outline,
)
from procflow.render.diagram import Diagram, EdgeStyle, Node, Shape
from procflow.render.words import FONT
from procflow.render.wrapping import clean

INSTALL_HINT = (
    "the Graphviz program 'dot' was not found, and SVG and PNG need it; install it with "
    "'apt-get install graphviz fonts-noto-cjk' (or 'brew install graphviz'). "
    "DOT and Mermaid output work without it"
)
TIMEOUT = 300
"""Seconds one run of ``dot`` may take."""
ARROW = 7.0
"""The length of an arrowhead (``arrowsize`` 0.7)."""
RADIUS = 5.0
"""The radius of a line's corners."""
CDS_INSET = 12.0
"""Graphviz draws a ``cds`` (a hand-off) this much shorter than the node's height."""

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
    "fork": {"shape": "none"},
    "join": {"shape": "none"},
    "signer": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#e6f4ea",
        "color": "#188038",
    },
    "notify": {
        "shape": "box",
        "style": "rounded,dashed,filled",
        "fillcolor": "#ffffff",
        "color": "#5f6368",
    },
    "also": {
        "shape": "box",
        "style": "rounded,dashed,filled",
        "fillcolor": "#f1f3f4",
        "color": "#1a56b0",
    },
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


def _text(line: Line) -> str:
    text = escape(line.text)
    if line.bold:
        text = f"<B>{text}</B>"
    colour = f' COLOR="{line.colour}"' if line.colour else ""
    return f'<FONT POINT-SIZE="{line.size}"{colour}>{text}</FONT>'


def table(block: Block, *, bar_width: float = 0) -> str:
    """A block as an HTML-like label: a table of one row per line, each as tall as its
    pitch, so that the lines sit where the layout measured them."""
    align = ' ALIGN="LEFT"' if block.align == "left" else ""
    rows = [
        f'<TR><TD HEIGHT="{line.height}"{align}>{_text(line)}</TD></TR>' for line in block.lines
    ]
    if block.bar:
        bar = f'<TR><TD HEIGHT="{BAR}" WIDTH="{int(bar_width)}" BGCOLOR="#202124"></TD></TR>'
        air = '<TR><TD HEIGHT="2"></TD></TR>'
        rows = [bar, air, *rows] if block.bar == "above" else [*rows, air, bar]
    if not rows:
        return "<>"
    body = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{body}</TABLE>>'


def _spline(points: list[Point], arrow: bool) -> list[Point]:
    """A square line as Bézier control points (3n+1 of them), corners rounded, the end
    pulled back by the arrowhead's length when it has one."""
    pts = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if arrow and len(pts) > 1:
        (x0, y0), (x1, y1) = pts[-2], pts[-1]
        length = math.hypot(x1 - x0, y1 - y0)
        cut = min(ARROW, length * 0.8)
        pts[-1] = (x1 - (x1 - x0) * cut / length, y1 - (y1 - y0) * cut / length)
    out = [pts[0]]

    def line(a: Point, b: Point) -> None:
        out.extend([_lerp(a, b, 1 / 3), _lerp(a, b, 2 / 3), b])

    here = pts[0]
    for before, corner, after in zip(pts, pts[1:], pts[2:], strict=False):
        r = min(RADIUS, math.dist(before, corner) / 2, math.dist(corner, after) / 2)
        a = _lerp(corner, before, r / math.dist(before, corner))
        b = _lerp(corner, after, r / math.dist(corner, after))
        line(here, a)
        out.extend([corner, corner, b])
        here = b
    line(here, pts[-1])
    return out


def _lerp(a: Point, b: Point, t: float) -> Point:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _graph(diagram: Diagram, layout: Layout, link: Linker | None) -> graphviz.Digraph:
    height = layout.height

    def at(x: float, y: float) -> str:  # Graphviz counts y up from the bottom
        return f"{x:.2f},{height - y:.2f}"

    g = graphviz.Digraph(name=diagram.id)
    g.attr(
        "graph",
        layout="nop2",  # every position is given: Graphviz only draws
        bb=f"0,0,{layout.width:.2f},{height:.2f}",
        notranslate="true",
        outputorder="edgesfirst",
        fontname=FONT,
    )
    g.attr("node", fontname=FONT, fontsize=str(TITLE), fixedsize="true", margin="0")
    g.attr("edge", fontname=FONT, fontsize=str(EDGE), arrowsize="0.7")
    t = layout.title
    g.node("@title", label=table(layout.title_block), shape="none", id="diagram-title",
           pos=at(t.x, t.y), width=_inch(t.w), height=_inch(t.h))  # fmt: skip
    for i, lane in enumerate(diagram.lanes):
        box = layout.lanes[i]
        with g.subgraph(name=f"cluster_{i}") as c:
            c.attr(
                label=table(layout.lane_blocks[i]),
                style="filled,dashed" if lane.external else "filled",
                fillcolor=_LANE_FILL[i % 2],
                color="#bdc1c6",
                fontname=FONT,
                id=f"lane-{i}",
                bb=f"{at(box.left, box.bottom)},{at(box.right, box.top)}",
                lp=at(*layout.lane_titles[i]),
            )
            for node in diagram.in_lane(lane.key):
                c.node(node.id, **_node_attrs(node, layout, link, at))
    for path in layout.paths:
        attrs = dict(_EDGE[path.edge.style])
        spline = " ".join(at(x, y) for x, y in _spline(path.points, path.arrow))
        end = f"e,{at(*path.points[-1])} " if path.arrow else ""
        attrs.update(pos=end + spline)  # ids edge1, edge2...: render.progress finds them
        if path.label_at is not None:
            attrs.update(label=table(path.label), lp=at(*path.label_at))
        g.edge(path.edge.src, path.edge.dst, **attrs)
    return g


def _inch(points: float) -> str:
    return f"{points / 72:.4f}"


def _node_attrs(
    node: Node, layout: Layout, link: Linker | None, at: Callable[[float, float], str]
) -> dict[str, str]:
    box = layout.nodes[node.id]
    ring = 2 * outline(node.shape)
    block = layout.blocks[node.id]
    attrs = dict(_NODE[node.shape])
    attrs.update(
        label=table(block, bar_width=box.w - 8),
        id=f"node-{node.id}",
        pos=at(box.x, box.y),
        width=_inch(box.w - ring),
        height=_inch(box.h - ring + (CDS_INSET if node.shape == "handoff" else 0)),
    )
    url = link(node.link) if link is not None and node.link is not None else None
    if url is not None:
        attrs.update(URL=url, target="_top", tooltip=f"→ {node.link}")
    return attrs


def dot_source(diagram: Diagram, *, link: Linker | None = None) -> str:
    """The DOT text of a swimlane diagram, laid out (what ``--format dot`` writes).

    Every node, lane, edge and label has its position (`render.arrange`), and
    ``layout=nop2`` tells Graphviz to draw it as it is: ``dot -Tsvg X.dot``.

    Args:
        diagram: from `build_diagram`.
        link: process id -> URL for hand-off and call nodes (None: no link).
    """
    source: str = _graph(diagram, lay_out(diagram), link).source
    return source


def render_image(diagram: Diagram, fmt: ImageFormat, *, link: Linker | None = None) -> bytes:
    """Draw a swimlane diagram as SVG or PNG with Graphviz, at the positions of
    `render.arrange.lay_out` (one run of Graphviz, which only draws).

    Raises:
        RenderError: when Graphviz is not installed (the message says how to install
            it), fails, or takes longer than `TIMEOUT` seconds.
    """
    return run_graphviz(dot_source(diagram, link=link), fmt)


def render_images(
    diagram: Diagram, formats: Sequence[ImageFormat], *, link: Linker | None = None
) -> dict[ImageFormat, bytes]:
    """Draw a swimlane diagram in several formats (SVG and PNG) from one layout and one
    DOT text: Graphviz draws each format in a run of its own, the runs side by side.
    The drawings are those of `render_image`, byte for byte.

    Raises:
        RenderError: as `render_image` does.
    """
    source = dot_source(diagram, link=link)
    if len(formats) < 2:
        return {fmt: run_graphviz(source, fmt) for fmt in formats}
    # each run waits on its own dot process: threads are enough to run them side by side
    with ThreadPoolExecutor(max_workers=len(formats)) as pool:
        drawn = list(pool.map(lambda fmt: run_graphviz(source, fmt), formats))
    return dict(zip(formats, drawn, strict=True))


def graphviz_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def run_graphviz(source: str, fmt: ImageFormat) -> bytes:
    """Draw DOT ``source`` as SVG or PNG with ``dot`` (which lays it out unless the graph
    says ``layout=nop2``, as our diagrams do).

    Raises:
        RenderError: when ``dot`` is not installed (the message says how to install it),
            fails, or takes longer than `TIMEOUT` seconds.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(INSTALL_HINT)
    argv = [exe, f"-T{fmt}"] + (["-Gdpi=110"] if fmt == "png" else [])
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
