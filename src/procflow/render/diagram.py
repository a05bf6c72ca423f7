"""The drawing of one process as lanes, nodes and edges, before any output syntax.

Owns the decisions every diagram shares: which lane (執行對象) each node sits
in, the order of the lanes and nodes (工作程序), the notes beside each step
(規範標準 documents and deadlines), the gate of a skip rule and its bypass,
which edges are "sent back", and the labels of the edges. What each kind of
step looks like is its own: every node draws itself on this module's
`Canvas` (`procflow.flow.ports.Canvas`). `dot` and `mermaid` only translate
a `Diagram` into their syntax and escape it.

Built from the typed flow (`procflow.flow.ir.Flow`), never from the YAML.
Imports the flow layer and `render.words`; never `runtime` or `cli`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from procflow.flow.catalog import Process
from procflow.flow.ir import Edge as FlowEdge
from procflow.flow.ir import Flow, HumanNode
from procflow.flow.ir import Node as FlowNode
from procflow.flow.ports import EdgeStyle, NodeLike, Shape
from procflow.render import words
from procflow.render.words import actor_title

__all__ = ["Diagram", "Edge", "EdgeStyle", "Lane", "Node", "Shape", "build_diagram"]

DEFAULT_LANE = ""


@dataclass(frozen=True)
class Lane:
    """One swimlane: an actor (執行對象)."""

    key: str
    title: str
    external: bool = False


@dataclass
class Node:
    """One box, diamond, bar or note."""

    id: str
    lane: str
    shape: Shape
    title: str
    lines: list[str] = field(default_factory=list)
    link: str | None = None
    """The id of the process this node hands off to or calls."""
    beside: str | None = None
    """For notes: the node they sit beside, on the same row."""
    step: str | None = None
    """The flow node this draws (None for notes and the insides of a sign-off)."""


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    style: EdgeStyle
    label: str = ""


@dataclass
class Diagram:
    """A process drawn as lanes, nodes (in reading order) and edges."""

    id: str
    title: str
    caption: list[str]
    lanes: list[Lane]
    nodes: list[Node]
    edges: list[Edge]

    def in_lane(self, key: str) -> list[Node]:
        return [n for n in self.nodes if n.lane == key]


class _Builder:
    """Builds a `Diagram`; the flow's nodes draw themselves on it (it is their `Canvas`)."""

    def __init__(self, process: Process, titles: Mapping[str, str]) -> None:
        self.process = process
        self.flow: Flow = process.flow
        self.actors = self.flow.actors
        self.documents = self.flow.documents
        self.titles = titles
        self.order = self.flow.reading_order
        self.pos = {n: i for i, n in enumerate(self.order)}
        self.lanes: dict[str, Lane] = {}
        self.lane_of: dict[str, str] = {}
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.entry: dict[str, str] = {}
        self.exit: dict[str, str] = {}

    # -- the Canvas the nodes draw on ---------------------------------------------------

    def box(
        self,
        node: NodeLike,
        shape: Shape,
        title: str,
        lines: Sequence[str] = (),
        *,
        link: str | None = None,
    ) -> str:
        lane = self.lane_of[node.id]
        self.nodes.append(Node(node.id, lane, shape, title, list(lines), link=link, step=node.id))
        self._notes(self.flow.nodes[node.id], lane)  # the notes sit right beside the shape
        return node.id

    def part(
        self,
        node: NodeLike,
        shape_id: str,
        *,
        lane: str,
        shape: Shape,
        title: str,
        lines: Sequence[str] = (),
    ) -> str:
        where = self._lane(lane) if lane else self.lane_of[node.id]
        self.nodes.append(Node(shape_id, where, shape, title, list(lines)))
        return shape_id

    def line(self, source: str, target: str, style: EdgeStyle = "flow", label: str = "") -> None:
        self.edges.append(Edge(source, target, style, label))

    def leave_from(self, node: NodeLike, shape_id: str) -> None:
        self.exit[node.id] = shape_id

    def actor(self, role: str) -> str:
        return actor_title(self.actors, role)

    def step_title(self, step_id: str) -> str:
        node = self.flow.nodes.get(step_id)
        return node.title if node is not None else step_id

    def process_title(self, process_id: str) -> str:
        title = self.titles.get(process_id)
        return f"{process_id} {title}" if title else process_id

    # -- lanes ---------------------------------------------------------------------------

    def _lane(self, key: str) -> str:
        if key not in self.lanes:
            actor = self.actors.get(key)
            self.lanes[key] = Lane(
                key, actor_title(self.actors, key), bool(actor and actor.external)
            )
        return key

    def _assign_lanes(self) -> dict[str, str]:
        lane_of: dict[str, str] = {}
        nodes = self.flow.nodes
        incoming = self.flow.incoming
        for n in self.order:
            node = nodes[n]
            for role in node.lanes():
                self._lane(role)
            if node.own_lane is not None:
                lane_of[n] = node.own_lane
                continue
            fork = getattr(node, "fork", None)
            if fork is not None and fork in lane_of:
                lane_of[n] = lane_of[fork]
                continue
            before = [
                e.source
                for e in incoming[n]
                if e.source in lane_of and self.pos[e.source] < self.pos[n]
            ]
            if before:
                lane_of[n] = lane_of[max(before, key=self.pos.__getitem__)]
        # what is still without a lane (the start) takes the next lane, else the last
        following = ""
        for n in reversed(self.order):
            following = lane_of.get(n, following)
            if n not in lane_of and following:
                lane_of[n] = following
        if not self.lanes:
            title = self.process.owner or "流程"
            self.lanes[DEFAULT_LANE] = Lane(DEFAULT_LANE, title)
        last = next(iter(self.lanes))
        for n in self.order:
            last = lane_of.setdefault(n, last)
        return lane_of

    # -- what every node gets ------------------------------------------------------------

    def _notes(self, node: FlowNode, lane: str) -> None:
        fills = node.fills_written if isinstance(node, HumanNode) else {}
        reads: tuple[str, ...] = getattr(node, "reads", ())
        docs = words.document_lines(fills, reads, self.documents, self.flow.collections)
        n = node.id
        if docs:
            self.nodes.append(Node(f"{n}@docs", lane, "docs", "", docs, beside=n))
            self.edges.append(Edge(n, f"{n}@docs", "note"))
        if isinstance(node, HumanNode) and node.deadline is not None:
            titles = {k: v.title for k, v in self.flow.nodes.items()}
            lines = words.deadline_lines(node.deadline, self.actors, titles)
            self.nodes.append(Node(f"{n}@due", lane, "clock", lines[0], lines[1:], beside=n))
            self.edges.append(Edge(n, f"{n}@due", "note"))

    def _node(self, node: FlowNode, lane: str) -> None:
        n = node.id
        self.entry[n] = self.exit[n] = n
        node.draw(self)
        if node.skip is not None:
            self.entry[n] = f"{n}@when"
            self.nodes.append(Node(f"{n}@when", lane, "gate", ""))
            self.edges.append(Edge(f"{n}@when", n, "flow"))

    # -- edges ---------------------------------------------------------------------------

    @staticmethod
    def _label(edge: FlowEdge) -> str:
        if edge.kind == "fork":
            when = edge.condition.text if edge.condition is not None else ""
            return edge.label + (f"\n僅當 {when}" if when else "")
        label = words.FIXED_LABELS.get(edge.label, edge.label)
        if edge.limit is not None:  # a limited way: how often, and where past it
            return (
                edge.limit.exceeded(label) if edge.kind == "exceeded" else edge.limit.label(label)
            )
        return label

    def _flow_edges(self) -> None:
        merged: dict[tuple[str, str, EdgeStyle], list[str]] = {}
        for n in self.order:
            for e in self.flow.outgoing(n):
                label = self._label(e)
                style: EdgeStyle
                if e.kind == "skip":
                    src, style = f"{n}@when", "bypass"
                    label = f"不符合「{e.label}」則跳過"
                elif e.kind == "optional":
                    src, style = self.exit[n], "bypass"
                else:
                    src = self.exit[n]
                    style = "back" if self.pos[e.target] <= self.pos[n] else "flow"
                    if style == "back":
                        label = f"{label}（退回）" if label else "退回"
                labels = merged.setdefault((src, self.entry[e.target], style), [])
                if label and label not in labels:
                    labels.append(label)
        for (src, dst, style), labels in merged.items():
            self.edges.append(Edge(src, dst, style, " / ".join(labels)))
        drawn = {(e.src, e.dst) for e in self.edges}
        # invisible edges keep each list of steps in its written order, top to bottom
        by_scope: dict[tuple[tuple[str, int], ...], list[str]] = {}
        for node in self.flow.steps():
            by_scope.setdefault(node.scope, []).append(node.id)
        for ids in by_scope.values():
            present = [i for i in ids if i in self.pos]
            for a, b in itertools.pairwise(present):
                if (self.exit[a], self.entry[b]) not in drawn:
                    self.edges.append(Edge(self.exit[a], self.entry[b], "order"))

    def build(self) -> Diagram:
        self.lane_of = self._assign_lanes()
        for n in self.order:
            self._node(self.flow.nodes[n], self.lane_of[n])
        self._flow_edges()
        p = self.process
        caption = [f"主管部門：{p.owner}"] if p.owner else []
        if p.source is not None:
            where = " ".join(
                x
                for x in (
                    p.source.document,
                    p.source.section,
                    p.source.lines and f"{p.source.lines}行",
                )
                if x
            )
            caption.append(f"來源：{where}")
        used = {n.lane for n in self.nodes}
        lanes = [lane for key, lane in self.lanes.items() if key in used]
        return Diagram(p.id, p.title, caption, lanes, self.nodes, self.edges)


def build_diagram(process: Process, *, titles: Mapping[str, str] | None = None) -> Diagram:
    """The diagram of a loaded process.

    Args:
        process: a process from `procflow.load` or `procflow.load_dir`.
        titles: process id -> title, to name the processes that hand-offs and calls go to.

    Raises:
        AttributeError: when the process was not loaded with `procflow.load`.
    """
    return _Builder(process, titles or {}).build()
