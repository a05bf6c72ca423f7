"""Where the shapes of a diagram go: rows in reading order, lanes as columns.

Owns the first half of the layout: the row of every node (the longest path
over the ways forward, so each step sits below everything that leads to it,
and notes sit on their step's row), the columns inside each lane (the first
node of a row on the lane's axis, the next ones beside it, each followed by
its notes) and, for the routes, which stretch of a lane is taken.

All x positions here are relative to the left of the lane's content; the
lanes get their place in `render.arrange` once the routes know how much room
their channels need. y is a row number; ``r + 0.5`` is the gap below row r.

Imports `render.blocks` and `render.diagram`; never `runtime` or `cli`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from procflow.render.blocks import Block, node_block, node_size, outline
from procflow.render.diagram import Diagram

NOTE_GAP = 12.0
"""Between a node and its first note, and between notes."""
SLOT_GAP = 20.0
"""Between two nodes on one row of one lane (parallel branches with one actor)."""
CLEAR = 5.0
"""How close a line running down a lane may pass a shape."""

FORWARD = ("flow", "bypass", "order")


@dataclass
class Grid:
    """Rows, lanes and columns of a diagram, before the lanes are placed.

    Attributes:
        blocks: Node id -> its text.
        size: Node id -> (width, height) of its shape, second outline included.
        row: Node id -> its row.
        lane: Node id -> the index of its lane.
        x: Node id -> the centre of its shape, relative to its lane's content.
        width: Lane index -> the width of its content.
        first: The nodes that are the leftmost on their row of their lane.
        rows: How many rows there are.
    """

    diagram: Diagram
    blocks: dict[str, Block] = field(default_factory=dict)
    size: dict[str, tuple[float, float]] = field(default_factory=dict)
    row: dict[str, int] = field(default_factory=dict)
    lane: dict[str, int] = field(default_factory=dict)
    x: dict[str, float] = field(default_factory=dict)
    width: dict[int, float] = field(default_factory=dict)
    first: set[str] = field(default_factory=set)
    rows: int = 0
    taken: dict[tuple[int, int], list[tuple[float, float]]] = field(default_factory=dict)
    """(lane, row) -> the x ranges its shapes take."""
    runs: dict[tuple[int, float], list[tuple[float, float, str, str]]] = field(default_factory=dict)
    """(lane, x) -> the lines that run down there: (from row, to row, source, target)."""
    notes: dict[str, list[str]] = field(default_factory=dict)
    """Node id -> the notes beside it, in order."""

    def free(self, lane: int, x: float, low: float, high: float, *, src: str, dst: str) -> bool:
        """Whether a line may run down lane ``lane`` at ``x`` from row ``low`` to ``high``:
        no shape is in the way, and no other line runs there (unless it comes from the
        same node or goes to the same one, when the two merge)."""
        for r in range(int(low), int(high) + 1):
            if low <= r <= high:
                for lo, hi in self.taken.get((lane, r), ()):
                    if lo - CLEAR < x < hi + CLEAR:
                        return False
        for a, b, s, d in self.runs.get((lane, round(x, 1)), ()):
            if a <= high and low <= b and s != src and d != dst:
                return False
        return True

    def owner(self, node: str) -> str:
        """The node a note hangs on, or the node itself."""
        near = self.diagram.node(node).beside
        return near if near is not None and node in self.notes.get(near, ()) else node

    def chain_end(self, node: str) -> str:
        """The last of a node's notes (the node itself when it has none): where a line
        out to the right of its row begins."""
        owner = self.owner(node)
        return self.notes.get(owner, [owner])[-1]

    def run(self, lane: int, x: float, low: float, high: float, *, src: str, dst: str) -> None:
        """Note that a line runs down lane ``lane`` at ``x`` from row ``low`` to ``high``."""
        self.runs.setdefault((lane, round(x, 1)), []).append((low, high, src, dst))


def _rows(diagram: Diagram) -> dict[str, int]:
    """Each node's row: one below every node that leads to it (notes: their step's)."""
    main = [n.id for n in diagram.nodes if n.beside is None]
    index = {n: i for i, n in enumerate(main)}
    after: dict[str, list[str]] = {n: [] for n in main}
    count = dict.fromkeys(main, 0)
    for e in diagram.edges:
        if e.style in FORWARD and e.src in index and e.dst in index and e.src != e.dst:
            after[e.src].append(e.dst)
            count[e.dst] += 1
    row = dict.fromkeys(main, 0)
    ready = [(index[n], n) for n in main if count[n] == 0]
    heapq.heapify(ready)
    done: set[str] = set()
    while len(done) < len(main):
        if not ready:  # a loop of ways forward (never built so): go on from the first left
            n = min((n for n in main if n not in done), key=index.__getitem__)
            heapq.heappush(ready, (index[n], n))
            count[n] = 0
        _, n = heapq.heappop(ready)
        if n in done:
            continue
        done.add(n)
        for m in after[n]:
            if m not in done:
                row[m] = max(row[m], row[n] + 1)
                count[m] -= 1
                if count[m] <= 0:
                    heapq.heappush(ready, (index[m], m))
    for node in diagram.nodes:
        if node.beside is not None:
            row[node.id] = row[node.beside]
    return row


def grid(diagram: Diagram) -> Grid:
    """The rows, lanes and columns of ``diagram``."""
    g = Grid(diagram)
    lane_of = {node.id: node.lane for node in diagram.nodes}
    for node in diagram.nodes:
        block = node_block(node)
        w, h = node_size(node.shape, block)
        extra = 2 * outline(node.shape)
        g.blocks[node.id] = block
        g.size[node.id] = (w + extra, h + extra)
        if node.beside is not None and lane_of[node.beside] == node.lane:
            g.notes.setdefault(node.beside, []).append(node.id)
    g.row = _rows(diagram)
    g.rows = max(g.row.values(), default=-1) + 1
    lanes = {lane.key: i for i, lane in enumerate(diagram.lanes)}
    for node in diagram.nodes:
        g.lane[node.id] = lanes[node.lane]
    slots: dict[tuple[int, int], list[str]] = {}
    notes = {n for ids in g.notes.values() for n in ids}
    for node in diagram.nodes:
        if node.id not in notes:  # a shape on its own row, or on another's in another lane
            slots.setdefault((g.lane[node.id], g.row[node.id]), []).append(node.id)
    for i in range(len(diagram.lanes)):
        _columns(g, i, {r: ids for (lane, r), ids in slots.items() if lane == i})
    return g


def _columns(g: Grid, lane: int, rows: dict[int, list[str]]) -> None:
    """Place the nodes of one lane: the k-th node of every row on the lane's k-th axis,
    each followed by its notes; an axis clears what the rows put left of it."""
    depth = max((len(ids) for ids in rows.values()), default=0)
    axes: list[float] = []
    reach = 0.0  # the right end of what the columns so far hold
    for k in range(depth):
        half = max((g.size[ids[k]][0] / 2 for ids in rows.values() if len(ids) > k), default=0)
        axes.append(reach + (SLOT_GAP if k else 0) + half)
        for ids in rows.values():
            if len(ids) > k:
                reach = max(reach, _place(g, lane, ids[k], axes[k]))
    g.width[lane] = reach
    for r, ids in rows.items():
        g.first.add(ids[0])
        g.taken[(lane, r)] = sorted(
            (g.x[n] - g.size[n][0] / 2, g.x[n] + g.size[n][0] / 2)
            for i in ids
            for n in (i, *g.notes.get(i, ()))
        )


def _place(g: Grid, lane: int, node: str, axis: float) -> float:
    """Put ``node`` on ``axis`` and its notes after it; return where the last one ends."""
    g.x[node] = axis
    end = axis + g.size[node][0] / 2
    for note in g.notes.get(node, ()):
        w = g.size[note][0]
        g.x[note] = end + NOTE_GAP + w / 2
        end += NOTE_GAP + w
    return end
