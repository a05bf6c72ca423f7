"""The text of a diagram as blocks of lines, and the size of the shape around each block.

Owns how every piece of a diagram is set: which lines a node, an edge, a lane
or the title has, at which size and weight, wrapped at how many columns
(`render.wrapping.balanced`), and how large a box, diamond, ellipse or bar must be to
hold its block with a margin (`node_size`). `render.arrange` places the blocks;
`render.dot` writes each one as a Graphviz table with one row per line, so
that the line pitch is ours (`render.metrics.pitch`), never the renderer's.

Imports `render.diagram`, `render.metrics` and `render.words`; never `runtime` or `cli`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from procflow.render.diagram import Diagram, Lane, Node, Shape
from procflow.render.metrics import SLACK, pitch, text_width
from procflow.render.wrapping import balanced

HEAD, LANE, TITLE, EDGE, SMALL = 16, 13, 12, 10, 9
"""Point sizes: the diagram's title, a lane's title, a node's title, an edge label, detail."""
GREY = "#3c4043"
BAR = 5
"""Thickness of the bar of a fork or a join."""

Align = Literal["center", "left"]


@dataclass(frozen=True)
class Line:
    """One line of text, set at one size."""

    text: str
    size: int
    bold: bool = False
    colour: str = ""

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, bold=self.bold) * SLACK + 1

    @property
    def height(self) -> int:
        return pitch(self.size)


@dataclass(frozen=True)
class Block:
    """Lines set one under the other, and a fork's or join's bar below or above them."""

    lines: tuple[Line, ...] = ()
    align: Align = "center"
    bar: Literal["", "above", "below"] = ""
    min_width: float = 0

    @property
    def width(self) -> float:
        return max([self.min_width, *(line.width for line in self.lines)])

    @property
    def height(self) -> float:
        return sum(line.height for line in self.lines) + (BAR + 2 if self.bar else 0)


def lines(
    text: str, columns: int, size: int, *, bold: bool = False, colour: str = ""
) -> list[Line]:
    """``text`` wrapped at ``columns`` into even lines, as lines at ``size`` points."""
    return [Line(t, size, bold, colour) for t in balanced(text, columns)]


def _small(texts: list[str], columns: int) -> list[Line]:
    return [line for text in texts for line in lines(text, columns, SMALL, colour=GREY)]


def node_block(node: Node) -> Block:
    """The block of a node: its title in bold, then its detail lines, smaller."""
    if node.shape == "gate":
        return Block()
    if node.shape in ("fork", "join"):
        head = lines(node.title, 28, TITLE, bold=True) if node.title else []
        bar: Literal["above", "below"] = "below" if node.shape == "fork" else "above"
        return Block((*head, *_small(node.lines, 34)), bar=bar, min_width=120)
    if node.shape in ("docs", "clock"):
        head = lines(node.title, 30, TITLE, bold=True) if node.title else []
        return Block((*head, *_small(node.lines, 32)), align="left")
    narrow = node.shape in ("decision", "branch")
    head = lines(node.title, 16 if narrow else 24, TITLE, bold=True)
    return Block((*head, *_small(node.lines, 20 if narrow else 28)))


def edge_block(label: str) -> Block:
    """The block of an edge's label (none when it has no label)."""
    return Block(tuple(lines(label, 26, EDGE)), align="left") if label else Block()


def lane_block(lane: Lane) -> Block:
    """The block of a lane's title: the actor, and a note for one outside the company."""
    note = [Line(lane.note, SMALL, colour=GREY)] if lane.note else []
    return Block((*lines(lane.title, 24, LANE, bold=True), *note))


def title_block(diagram: Diagram) -> Block:
    """The block above the lanes, at their left (where a wide diagram is read from, on a
    screen too): the process's id and title, then its caption."""
    head = lines(f"{diagram.id} {diagram.title}", 80, HEAD, bold=True)
    return Block((*head, *_small(diagram.caption, 100)), align="left")


PERIPHERY = 4
"""How far a second outline (an end, a call) sits outside the shape."""


def node_size(shape: Shape, block: Block) -> tuple[float, float]:
    """Width and height of the shape that holds ``block``, in points (without a second
    outline: `outline` says how far that adds on each side)."""
    w, h = block.width, block.height
    if shape == "gate":
        return 6.0, 6.0
    if shape in ("fork", "join"):
        return w + 8, h + 4
    if shape in ("start", "end"):  # an ellipse through the corners of the block, and air
        return max((w + 14) * math.sqrt(2), 60), max((h + 6) * math.sqrt(2), 34)
    if shape in ("decision", "branch"):  # a diamond whose sides clear the block's corners
        return max((w + 12) * 1.8, 80), max((h + 6) * 2.25, 44)
    extra = {"handoff": 14 + h / 2, "docs": 10}.get(shape, 0)
    return max(w + 22 + extra, 48), max(h + 12, 28)


def outline(shape: Shape) -> float:
    """The room a second outline takes on each side of a shape."""
    return PERIPHERY if shape in ("end", "call") else 0
