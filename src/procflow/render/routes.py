"""How each edge of a diagram runs: down the lanes, across in the gaps between rows.

Owns the routes. Every line is drawn square: it leaves its source at the
bottom, runs across in the gap below that row, and comes down into its target
from above; a line that would cross a shape on the way runs down the target
lane's channel (a strip at the left of every lane) instead; a line that goes
back up (sent back) runs up that channel and enters its target from the left.
Notes hang on their step by a short dotted line on the same row.

Then the gaps: every run across a gap gets a track of its own where it would
meet another, and a label sits just above its run, or beside the line that
comes down when the edge has no run in that gap, clear of every line that
passes through the gap. How tall each gap must be follows from its tracks.

Imports `render.grid`, `render.blocks` and `render.diagram`; never `runtime` or `cli`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from procflow.render.blocks import Block, edge_block
from procflow.render.diagram import Edge
from procflow.render.grid import Grid

Kind = Literal["straight", "gap", "channel", "note"]

SPACE = 8.0
"""Between two runs or labels on one track of a gap."""
OFF = 6.0
"""Between a label and the line it belongs to."""
TOP, BOTTOM, LEAST = 8.0, 14.0, 26.0
"""Air above the first track of a gap and below the last (room for an arrowhead), and the
least height of a gap."""
LINE = 8.0
"""The height of a track that holds a run without a label."""
AIR = 4.0
"""Above a label, between it and the run on the track above."""


@dataclass
class Plan:
    """How one edge runs, before the lanes and gaps have their sizes.

    Attributes:
        gaps: The gaps it runs across, in order along the edge.
        lane: The lane whose channel it runs along (``channel`` only).
        span: The rows it runs along the channel, from low to high (halves are gaps).
        enter: Where it meets its target: from above, or from the left (going back).
        track: Its track in the channel.
    """

    edge: Edge
    src: str
    dst: str
    kind: Kind
    gaps: tuple[int, ...] = ()
    lane: int = -1
    span: tuple[float, float] = (0.0, 0.0)
    enter: Literal["top", "left"] = "top"
    track: int = 0
    aside: float = 0.0
    """How far right (less than 0: left) of its source's centre a line leaves, when the
    centre is where another line comes down into the shape below."""
    label: Block = field(default_factory=Block)
    runs: list[Run] = field(default_factory=list)
    """Its runs across the gaps, in order (`runs` makes them)."""
    label_at: tuple[float, float] | None = None
    """The centre of its label (`render.arrange` sets it)."""


def plan(g: Grid) -> list[Plan]:
    """How every edge runs (invisible ones are not drawn)."""
    out: list[Plan] = []
    drawn = [e for e in g.diagram.edges if e.style not in ("order", "note")]
    # the lines that need no choice first, so the ones that do see them
    for e in sorted(drawn, key=lambda e: g.row[e.dst] - g.row[e.src]):
        out.append(_route(g, e))
    for node, notes in g.notes.items():
        before = node
        for note in notes:
            out.append(Plan(Edge(node, note, "note"), before, note, "note"))
            before = note
    for e in g.diagram.edges:  # a dotted line to another lane, on the row, behind shapes
        if e.style == "note" and g.lane[e.src] != g.lane[e.dst]:
            if g.lane[e.dst] > g.lane[e.src]:
                out.append(Plan(e, g.chain_end(e.src), e.dst, "note"))
            else:
                out.append(Plan(e, g.chain_end(e.dst), g.owner(e.src), "note"))
    order = {id(e): i for i, e in enumerate(g.diagram.edges)}
    out.sort(key=lambda p: order.get(id(p.edge), len(order)))
    return out


def _route(g: Grid, e: Edge) -> Plan:
    u, v = e.src, e.dst
    ru, rv = g.row[u], g.row[v]
    lu, lv = g.lane[u], g.lane[v]
    xu, xv = g.x[u], g.x[v]
    label = edge_block(e.label)
    if rv > ru:
        low, high = ru + 0.5, rv - 0.5
        if lu == lv and xu == xv and g.free(lv, xv, low, high, src=u, dst=v):
            g.run(lv, xv, low, high, src=u, dst=v)
            return Plan(e, u, v, "straight", label=label)
        if g.free(lv, xv, low, high, src=u, dst=v):  # across below the source, then down
            g.run(lv, xv, low, high, src=u, dst=v)
            return _aside(g, Plan(e, u, v, "gap", (ru,), label=label))
        if g.free(lu, xu, low, high, src=u, dst=v):  # down, then across above the target
            g.run(lu, xu, low, high, src=u, dst=v)
            return Plan(e, u, v, "gap", (rv - 1,), label=label)
        return _aside(g, Plan(e, u, v, "channel", (ru, rv - 1), lv, (low, high), label=label))
    if v in g.first:  # back up the target's lane, in from the left
        return _aside(g, Plan(e, u, v, "channel", (ru,), lv, (rv, ru + 0.5), "left", label=label))
    return _aside(g, Plan(e, u, v, "channel", (ru, rv - 1), lv, (rv - 0.5, ru + 0.5), label=label))


ASIDE = 16.0
"""How far from its centre a line to a channel leaves a box with a shape right below it."""
_FLAT = frozenset({"task", "notify", "call", "handoff", "fork", "join"})


def _aside(g: Grid, p: Plan) -> Plan:
    """A line that turns across the gap below its source leaves a flat-bottomed shape
    off its centre, towards where it goes, when a shape sits right below: a line coming
    down into that shape comes in at the centre, and the two would read as one line
    (存入員工檔案 seemed to lead to the end below it)."""
    u, v = p.src, p.dst
    x = g.x[u]
    below = g.taken.get((g.lane[u], g.row[u] + 1), ())
    if g.diagram.node(u).shape in _FLAT and any(lo <= x <= hi for lo, hi in below):
        to = p.lane if p.kind == "channel" else g.lane[v]
        right = to > g.lane[u] or (to == g.lane[u] and p.kind == "gap" and g.x[v] > x)
        p.aside = min(ASIDE, g.size[u][0] / 2 - 8) * (1 if right else -1)
    return p


def channel_tracks(plans: Sequence[Plan], lanes: int) -> list[int]:
    """Give every line along a channel a track where it would meet another; return how
    many tracks each lane's channel has. Solid lines along one channel into the same
    shape share a track: they join into one line before it (two 駁回 into one end),
    instead of running side by side into one arrowhead. Dashed ones do not: two dashes
    out of step on one line would read as a solid line."""
    groups: dict[tuple[int, str, str] | int, list[Plan]] = {}
    for p in plans:
        if p.kind == "channel":
            key = (p.lane, p.dst, p.enter) if p.edge.style == "flow" else id(p)
            groups.setdefault(key, []).append(p)
    counts = [0] * lanes
    ends: list[list[float]] = [[] for _ in range(lanes)]
    spans = [(min(p.span[0] for p in ps), max(p.span[1] for p in ps), ps) for ps in groups.values()]
    for low, high, ps in sorted(spans, key=lambda s: s[:2]):
        lane = ps[0].lane
        taken = ends[lane]
        free = [t for t, end in enumerate(taken) if end < low]
        track = free[0] if free else len(taken)
        if track == len(taken):
            taken.append(high)
        else:
            taken[track] = high
        for p in ps:
            p.track = track
        counts[lane] = len(taken)
    return counts


def _shared(run: Run) -> list[tuple[str, str, float, bool]]:
    """The stretches of line ``run`` may share with others: the first stretch of a line
    out of its shape, with lines from that shape that go the same way; the last one into
    its shape from above, with lines into that shape from the same side (two signers into
    the join bar, two 駁回 into one end). Shared, they read as one line that parts or
    joins, not as lines side by side into one arrowhead. Runs with a label, and dashed
    lines, share nothing."""
    p = run.plan
    if p.kind not in ("gap", "channel") or run.label_x is not None or not run.line:
        return []
    if p.edge.style != "flow":  # dashes out of step on one line would read as solid
        return []
    out = []
    if run is p.runs[0]:
        out.append(("from", p.src, run.start, run.start < run.end))
    if run is p.runs[-1] and p.enter == "top":
        out.append(("into", p.dst, run.end, run.start < run.end))
    return out


@dataclass
class Run:
    """A stretch across a gap: part of an edge's line, or only its label.

    Attributes:
        start, end: Where the line comes down into the gap and where it turns out of it.
        label_x: The left end of the label, when the label sits here.
        track: Its track in the gap; ``y`` the height of its line once tracks are stacked.
    """

    plan: Plan
    gap: int
    start: float
    end: float
    line: bool = True
    label_x: float | None = None
    track: int = 0
    y: float = 0.0

    @property
    def interval(self) -> tuple[float, float]:
        lo, hi = sorted((self.start, self.end)) if self.line else (self.start, self.start)
        if self.label_x is not None:
            lo, hi = min(lo, self.label_x), max(hi, self.label_x + self.plan.label.width)
        return lo, hi

    @property
    def height(self) -> float:
        if self.label_x is None:
            return LINE
        return AIR + self.plan.label.height + (OFF if self.line else 2)


Xs = Callable[[Plan], list[float]]
"""The x of each corner of a plan's line, in order, once the lanes are placed."""
Lanes = Callable[[int], tuple[float, float]]
"""The left and right of a lane, once the lanes are placed."""


def runs(g: Grid, plans: Sequence[Plan], xs: Xs, lanes: Lanes) -> dict[int, list[Run]]:
    """The runs across every gap, each label placed clear of the lines that pass and,
    where it fits, inside the source's lane (``lanes`` gives a lane's left and right)."""
    by_gap: dict[int, list[Run]] = {}
    downs: dict[int, list[float]] = {}  # gap -> the x of every line that passes down it
    for p in plans:
        if p.kind == "note":
            continue
        corners = xs(p)
        ru, rv = g.row[p.src], g.row[p.dst]
        for x, gaps in _downs(p, corners, ru, rv):
            for gap in gaps:
                downs.setdefault(gap, []).append(x)
        made = []
        for i, gap in enumerate(p.gaps):
            start, end = corners[1 + 2 * i], corners[2 + 2 * i]
            made.append(Run(p, gap, start, end, start != end))
            by_gap.setdefault(gap, []).append(made[-1])
        p.runs = made
        if not p.label.lines:
            continue
        first = made[0] if made and made[0].gap == ru and made[0].line else None
        if first is None:  # no run below the source: the label goes beside the line down
            first = Run(p, ru, corners[0], corners[0], line=False)
            by_gap.setdefault(ru, []).append(first)
        first.label_x = 0.0  # placed below, once every line down is known
    for gap, items in by_gap.items():
        for run in items:
            if run.label_x is not None:
                within = lanes(g.lane[run.plan.src])
                run.label_x = _label_x(run, downs.get(gap, []), within)
    return by_gap


def _downs(p: Plan, xs: list[float], ru: int, rv: int) -> list[tuple[float, range]]:
    """Where a plan's line runs down or up, and the gaps it passes there."""
    if p.kind == "straight":
        return [(xs[0], range(ru, rv))]
    out = [(xs[0], range(ru, p.gaps[0] + 1))]
    if p.kind == "gap":
        return [*out, (xs[-1], range(p.gaps[0], rv))]
    low, high = sorted((p.gaps[0], p.gaps[-1] if p.enter == "top" else rv))
    out.append((xs[2], range(low, high + 1)))
    if p.enter == "top":
        out.append((xs[-1], range(p.gaps[-1], rv)))
    return out


def _label_x(run: Run, downs: list[float], lane: tuple[float, float]) -> float:
    """The left end of a run's label: beside where the line comes down, on the side the
    run goes (a label alone: right), moved on past every other line that passes down the
    gap; on the other side if it does not fit in the lane there, and to the right, across
    the lane's edge, if it fits on neither."""
    width = run.plan.label.width
    x0 = run.start

    def moved(right: bool) -> float:
        x = x0 + OFF if right else x0 - OFF - width
        for _ in range(len(downs) + 1):
            hit = [d for d in downs if x - OFF / 2 < d < x + width + OFF / 2 and d != x0]
            if not hit:
                break
            x = max(hit) + OFF if right else min(hit) - OFF - width
        return x

    right, left = moved(True), moved(False)
    ahead = (left, right) if run.line and run.end < run.start else (right, left)
    fits = [x for x in ahead if lane[0] <= x and x + width <= lane[1]]
    return fits[0] if fits else right


def stack(items: list[Run]) -> tuple[list[float], float]:
    """Give each run of a gap a track, apart from the runs it would meet; return the
    height of each track and of the gap. Labels of lines that only pass down the gap go
    below every run across it, beside the part of their line that goes on down."""
    ends: list[float] = []
    lines = sum(1 for run in items if run.line)
    shared: dict[tuple[str, str, float, bool], int] = {}  # a stretch lines share: its track
    for run in sorted(items, key=lambda r: (not r.line, r.interval)):
        lo, hi = run.interval
        keys = _shared(run)
        found = [shared[k] for k in keys if k in shared]
        if found:
            run.track = found[0]
            ends[run.track] = max(ends[run.track], hi)
        else:
            first = (
                0 if run.line else lines and max((r.track + 1 for r in items if r.line), default=0)
            )
            free = [t for t, end in enumerate(ends) if end + SPACE <= lo and t >= first]
            run.track = free[0] if free else max(len(ends), first)
            while len(ends) <= run.track:
                ends.append(-math.inf)
            ends[run.track] = hi
        for k in keys:
            shared.setdefault(k, run.track)
    heights = [0.0] * len(ends)
    for run in items:
        heights[run.track] = max(heights[run.track], run.height)
    return heights, max(LEAST, TOP + sum(heights) + BOTTOM)
