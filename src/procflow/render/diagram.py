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
from procflow.flow.ir import START, Flow, HumanNode, Scope
from procflow.flow.ir import Node as FlowNode
from procflow.flow.ports import EdgeStyle, Language, NodeLike, Shape
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
    note: str = ""
    """A line under the title: （外部） for an actor outside the company."""


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
    _by_id: dict[str, Node] = field(default_factory=dict, repr=False, compare=False)

    def in_lane(self, key: str) -> list[Node]:
        return [n for n in self.nodes if n.lane == key]

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        found = self._by_id.get(node_id)
        if found is None:
            self._by_id = {n.id: n for n in self.nodes}
            found = self._by_id[node_id]
        return found


class _Builder:
    """Builds a `Diagram`; the flow's nodes draw themselves on it (it is their `Canvas`)."""

    def __init__(self, process: Process, titles: Mapping[str, str], language: Language) -> None:
        self.process = process
        self.flow: Flow = process.flow
        self.actors = self.flow.actors
        self.documents = self.flow.documents
        self.titles = titles
        self.words = words.Words(language, process.labels, self.actors, self.documents)
        self.steps = {k: v.title for k, v in self.flow.nodes.items()}
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
        beside: bool = False,
    ) -> str:
        where = self._lane(lane) if lane else self.lane_of[node.id]
        near = node.id if beside else None
        self.nodes.append(Node(shape_id, where, shape, title, list(lines), beside=near))
        if beside:
            self.edges.append(Edge(node.id, shape_id, "note"))
        return shape_id

    def line(self, source: str, target: str, style: EdgeStyle = "flow", label: str = "") -> None:
        self.edges.append(Edge(source, target, style, label))

    def leave_from(self, node: NodeLike, shape_id: str) -> None:
        self.exit[node.id] = shape_id

    def actor(self, role: str) -> str:
        return actor_title(self.actors, role)

    @property
    def language(self) -> Language:
        return self.words.language

    def outcome(self, name: str) -> str:
        return self.words.outcome(name)

    def document(self, name: str) -> str:
        return self.words.document(name)

    def value(self, text: str) -> str:
        return self.words.value(text)

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
            external = bool(actor and actor.external)
            note = self.words.say("external") if external else ""
            self.lanes[key] = Lane(key, actor_title(self.actors, key), external, note)
        return key

    def _assign_lanes(self) -> dict[str, str]:
        """Each node's lane: its own actor's; else (a notification, a branch, a call...)
        the lane of the step before it in the same list of steps, as the one who sends
        the notice or hands the work on; the first of a list of steps takes the lane of
        the next one there (a branch's first notice is sent by who works that branch);
        the start sits with the role that starts the process (``starts_by``)."""
        lane_of: dict[str, str] = {}
        nodes = self.flow.nodes
        incoming = self.flow.incoming
        if self.process.starts_by:
            lane_of[START] = self._lane(self.process.starts_by[0])
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
                if e.source in lane_of
                and self.pos[e.source] < self.pos[n]
                and nodes[e.source].scope == node.scope
            ]
            if before:
                lane_of[n] = lane_of[max(before, key=self.pos.__getitem__)]
        self._fill_lanes(lane_of)
        return lane_of

    def _fill_lanes(self, lane_of: dict[str, str]) -> None:
        """What is still without a lane takes the next lane of its list of steps, then
        the lane it comes from, else the last one."""
        nodes = self.flow.nodes
        incoming = self.flow.incoming
        following: dict[Scope, str] = {}
        for n in reversed(self.order):
            scope = nodes[n].scope
            if n in lane_of:
                following[scope] = lane_of[n]
            elif scope in following:
                lane_of[n] = following[scope]
        for n in self.order:
            came = [e.source for e in incoming[n] if e.source in lane_of]
            if n not in lane_of and came:
                lane_of[n] = lane_of[min(came, key=self.pos.__getitem__)]
        if not self.lanes:
            title = self.process.owner or self.words.say("process")
            self.lanes[DEFAULT_LANE] = Lane(DEFAULT_LANE, title)
        last = next(iter(self.lanes))
        for n in self.order:
            last = lane_of.setdefault(n, last)

    # -- what every node gets ------------------------------------------------------------

    def _notes(self, node: FlowNode, lane: str) -> None:
        fills = node.fills_written if isinstance(node, HumanNode) else {}
        reads: tuple[str, ...] = getattr(node, "reads", ())
        docs = self.words.document_lines(fills, reads, self.flow.collections)
        n = node.id
        if docs:
            self.nodes.append(Node(f"{n}@docs", lane, "docs", "", docs, beside=n))
            self.edges.append(Edge(n, f"{n}@docs", "note"))
        if isinstance(node, HumanNode) and node.deadline is not None:
            lines = self.words.deadline_lines(node.deadline, self.steps)
            self.nodes.append(Node(f"{n}@due", lane, "clock", lines[0], lines[1:], beside=n))
            self.edges.append(Edge(n, f"{n}@due", "note"))
            escalate = node.deadline.escalate
            if escalate is not None:  # who takes the task over acts here too: in their lane
                how = self.words.say(f"escalate_{escalate.mode}")
                part = f"{n}@escalate"
                where = self._lane(escalate.to)
                self.nodes.append(Node(part, where, "also", node.title, [how], beside=n))
                self.edges.append(Edge(f"{n}@due", part, "note"))

    def _node(self, node: FlowNode, lane: str) -> None:
        n = node.id
        self.entry[n] = self.exit[n] = n
        node.draw(self)
        if node.skip is not None:
            self.entry[n] = f"{n}@when"
            self.nodes.append(Node(f"{n}@when", lane, "gate", ""))
            self.edges.append(Edge(f"{n}@when", n, "flow"))

    # -- edges ---------------------------------------------------------------------------

    def _flow_edges(self) -> None:
        merged: dict[tuple[str, str, EdgeStyle], list[str]] = {}
        for n in self.order:
            for e in self.flow.outgoing(n):
                style: EdgeStyle
                if e.kind == "skip":
                    src, style = f"{n}@when", "bypass"
                    label = self.words.skip(e)
                elif e.kind == "optional":
                    src, style = self.exit[n], "bypass"
                    label = self.words.edge(e)
                else:
                    src = self.exit[n]
                    style = "back" if self.pos[e.target] <= self.pos[n] else "flow"
                    label = self.words.edge(e, back=style == "back")
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
        say = self.words.say
        caption = [say("owner", owner=p.owner)] if p.owner else []
        if p.source is not None:
            lines = p.source.lines and say("lines", lines=p.source.lines)
            where = " ".join(x for x in (p.source.document, p.source.section, lines) if x)
            caption.append(say("source", where=where))
        used = {n.lane for n in self.nodes}
        lanes = [lane for key, lane in self.lanes.items() if key in used]
        return Diagram(p.id, p.title, caption, lanes, self.nodes, self.edges)


def build_diagram(
    process: Process,
    *,
    titles: Mapping[str, str] | None = None,
    language: Language | None = None,
) -> Diagram:
    """The diagram of a loaded process.

    Args:
        process: a process from `procflow.load` or `procflow.load_dir`.
        titles: process id -> title, to name the processes that hand-offs and calls go to.
        language: ``zh`` or ``en`` for the diagram's words; by default the language the
            process's title is written in (`render.words.language_of`).

    Raises:
        AttributeError: when the process was not loaded with `procflow.load`.
    """
    chosen = language or words.language_of(process.title)
    return _Builder(process, titles or {}, chosen).build()
