"""A diagram laid out: every shape, lane, line and label at its place, in points.

Owns `lay_out`, the one layout of every diagram: `render.grid` gives rows and
the columns inside the lanes, `render.routes` the way each line runs; here the
lanes are set side by side (each as wide as its content, its channel and its
title need) and the rows one under the other (each as tall as its tallest
shape, each gap as tall as its tracks need), and every line gets its corners.
No two pieces of text can meet: shapes are on rows, lines and labels in the
gaps and channels between them, and every label has a track of its own.

It is linear in the size of the diagram, so a process of 1,000 steps is laid
out in a fraction of a second; Graphviz only draws the result (`render.dot`).
Coordinates grow right and down from the top left corner.

Imports `render.grid`, `render.routes`, `render.blocks` and `render.diagram`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from procflow.render.blocks import Block, lane_block, title_block
from procflow.render.diagram import Diagram, Edge
from procflow.render.grid import Grid, grid
from procflow.render.routes import AIR, Plan, channel_tracks, plan, runs, stack

MARGIN = 8.0
LANE_GAP = 6.0
"""Between two lanes."""
CHANNEL = 8.0
"""The width of one track of a lane's channel."""
INSIDE = 12.0
"""Between a lane's edge and what it holds, on the right and on the left of the channel."""
BAND = 14.0
"""Air around the lane titles."""

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A shape's place: its centre, width and height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2

    @property
    def top(self) -> float:
        return self.y - self.h / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h / 2


@dataclass
class Path:
    """One edge drawn: its corners from source to target, and its label's centre."""

    edge: Edge
    points: list[Point]
    label: Block = field(default_factory=Block)
    label_at: Point | None = None

    @property
    def arrow(self) -> bool:
        return self.edge.style != "note"


@dataclass
class Layout:
    """A laid-out diagram. `nodes` and `lanes` are boxes; `paths` follow the edges."""

    width: float
    height: float
    title: Box
    title_block: Block
    lanes: list[Box]
    lane_blocks: list[Block]
    lane_titles: list[Point]
    nodes: dict[str, Box]
    blocks: dict[str, Block]
    paths: list[Path]


def lay_out(diagram: Diagram) -> Layout:
    """Place every shape, lane, line and label of ``diagram``."""
    g = grid(diagram)
    plans = plan(g)
    tracks = channel_tracks(plans, len(diagram.lanes))
    across = _Across(g, tracks)
    gaps = runs(g, plans, across.corners, across.bounds)
    heights = {gap: stack(items) for gap, items in gaps.items()}
    head = title_block(diagram)
    width = max(across.width, head.width + 2 * MARGIN)
    # down: the title, the lane titles, then rows and the gaps below them
    y = MARGIN + head.height + 10
    top = y
    y += max((b.height for b in across.blocks), default=0) + BAND
    mid: dict[int, float] = {}
    gap_top: dict[int, float] = {}
    for r in range(-1, g.rows):
        if r >= 0:
            tall = max((g.size[n][1] for n, row in g.row.items() if row == r), default=6.0)
            mid[r] = y + tall / 2
            y += tall
        gap_top[r] = y
        y += heights.get(r, ([], 26.0))[1]
    for gap, items in gaps.items():
        tops = [gap_top[gap] + 8.0]
        for h in heights[gap][0]:
            tops.append(tops[-1] + h)
        for run in items:
            run.y = tops[run.track + 1]
            if run.label_x is not None:
                block = run.plan.label
                above = tops[run.track] + AIR
                centre = (run.label_x + block.width / 2, above + block.height / 2)
                run.plan.label_at = centre
    nodes = {n: Box(across.x(n), mid[g.row[n]], *g.size[n]) for n in g.row}
    lanes = [Box(x + w / 2, (top + y) / 2, w, y - top) for x, w in across.lanes]
    titles = [
        (lane.x, top + BAND / 2 + b.height / 2)
        for lane, b in zip(lanes, across.blocks, strict=True)
    ]
    paths = [_path(p, nodes, across) for p in plans]
    return Layout(
        width,
        y + MARGIN,
        Box(MARGIN + head.width / 2, MARGIN + head.height / 2, head.width, head.height),
        head,
        lanes,
        across.blocks,
        titles,
        nodes,
        g.blocks,
        paths,
    )


class _Across:
    """The lanes side by side: where each begins, its channel's tracks, its content."""

    def __init__(self, g: Grid, tracks: list[int]) -> None:
        self.g = g
        self.tracks = tracks
        self.blocks = [lane_block(lane) for lane in g.diagram.lanes]
        self.lanes: list[tuple[float, float]] = []
        self.content: list[float] = []
        x = MARGIN
        for i, block in enumerate(self.blocks):
            channel = max(tracks[i], 1) * CHANNEL
            inner = INSIDE + channel + INSIDE + g.width.get(i, 0) + INSIDE
            wide = max(inner, block.width + 2 * INSIDE)
            self.lanes.append((x, wide))
            self.content.append(x + INSIDE + channel + INSIDE + (wide - inner) / 2)
            x += wide + LANE_GAP
        self.width = x - LANE_GAP + MARGIN

    def bounds(self, lane: int) -> tuple[float, float]:
        """The left and right of a lane."""
        left, wide = self.lanes[lane]
        return left, left + wide

    def x(self, node: str) -> float:
        return self.content[self.g.lane[node]] + self.g.x[node]

    def channel(self, p: Plan) -> float:
        """The x of a plan's track in its lane's channel (track 0 nearest the content)."""
        left, _ = self.lanes[p.lane]
        return left + INSIDE + (self.tracks[p.lane] - p.track - 0.5) * CHANNEL

    def corners(self, p: Plan) -> list[float]:
        """The x of each corner of a plan's line."""
        size = self.g.size
        xu, xv = self.x(p.src), self.x(p.dst)
        if p.kind == "note":
            return [xu + size[p.src][0] / 2, xv - size[p.dst][0] / 2]
        if p.kind == "straight":
            return [xu, xv]
        out = xu + p.aside
        if p.kind == "gap":
            return [out, out, xv, xv]
        xc = self.channel(p)
        if p.enter == "left":
            return [out, out, xc, xc, xv - size[p.dst][0] / 2]
        return [out, out, xc, xc, xv, xv]


def _path(p: Plan, nodes: dict[str, Box], across: _Across) -> Path:
    u, v = nodes[p.src], nodes[p.dst]
    xs = across.corners(p)
    ys: list[float]
    if p.kind == "note":
        ys = [u.y, v.y]
    elif p.kind == "straight":
        ys = [u.bottom, v.top]
    else:
        ys = [u.bottom]
        for run in p.runs:
            ys += [run.y, run.y]
        ys += [v.y, v.y] if p.enter == "left" else [v.top]
    return Path(p.edge, list(zip(xs, ys, strict=True)), p.label, p.label_at)


__all__ = ["Box", "Layout", "Path", "lay_out"]
