"""The drawing of one process as lanes, nodes and edges, before any output syntax.

Owns the decisions every diagram shares: which lane (執行對象) each step sits
in, the order of the lanes and steps (工作程序), the notes beside each step
(規範標準 documents and deadlines), how sign-offs and parallel steps open and
close with bars, which edges are "sent back", and the bypass of a skip rule.
`dot` and `mermaid` only translate a `Diagram` into their syntax and escape it.

Built from the compiled flow graph (`procflow.flow.build`), never from the YAML.
Imports `model`, `flow.build`, `flow.load` and `render.words`; never `runtime` or `cli`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from procflow.flow.build import END, START, join_node, outgoing
from procflow.flow.load import Flow, flow_of
from procflow.language.model import (
    BranchStep,
    CallStep,
    EndStep,
    HandoffStep,
    HumanStep,
    NotifyStep,
    ParallelStep,
    Process,
    SignStep,
    TaskStep,
)
from procflow.render import words
from procflow.render.words import actor_title

Shape = Literal[
    "start",
    "end",
    "task",
    "decision",
    "branch",
    "fork",
    "join",
    "signer",
    "notify",
    "call",
    "handoff",
    "docs",
    "clock",
    "gate",
]
EdgeStyle = Literal["flow", "back", "bypass", "note", "order"]
"""flow: the way forward; back: sent back to an earlier step; bypass: a skip rule or a
step marked not needed; note: ties a note to its step; order: invisible, keeps the
written order top to bottom."""

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
    """The flow-graph node this draws (None for notes and bars of a sign-off's insides)."""


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


def reading_order(flow: Flow) -> list[str]:
    """Flow-graph nodes as the process reads: start, steps as written (each join right
    after the branches of its parallel step), end."""
    out = [START]
    pending: list[str] = []
    for p in flow.layout.placed:
        if p in flow.layout.duplicates:
            continue
        while pending and all(pid != pending[-1] for pid, _ in p.scope):
            out.append(join_node(pending.pop()))
        out.append(p.id)
        if isinstance(p.step, ParallelStep):
            pending.append(p.id)
    out.extend(join_node(pid) for pid in reversed(pending))
    out.append(END)
    graph = flow.graph
    # the implicit end is drawn only when some step falls off the last one
    return [n for n in out if graph.has_node(n) and (n != END or graph.in_degree(n) > 0)]


class _Builder:
    def __init__(self, process: Process, titles: Mapping[str, str]) -> None:
        self.process = process
        self.flow = flow_of(process)
        self.graph = self.flow.graph
        self.actors = self.flow.context.actors
        self.documents = self.flow.context.documents
        self.titles = titles
        self.order = reading_order(self.flow)
        self.pos = {n: i for i, n in enumerate(self.order)}
        self.step_titles = {
            p.id: p.step.title or p.id for p in self.flow.layout.placed if p.step is not None
        }
        self.lanes: dict[str, Lane] = {}
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.entry: dict[str, str] = {}
        self.exit: dict[str, str] = {}

    # ------------------------------------------------------------ lanes

    def _lane(self, key: str) -> str:
        if key not in self.lanes:
            actor = self.actors.get(key)
            self.lanes[key] = Lane(
                key, actor_title(self.actors, key), bool(actor and actor.external)
            )
        return key

    def _assign_lanes(self) -> dict[str, str]:
        lane_of: dict[str, str] = {}
        for n in self.order:
            step = self.graph.nodes[n].get("step")
            if isinstance(step, TaskStep):
                lane_of[n] = self._lane(step.actor[0])
            elif isinstance(step, SignStep):
                for signer in step.sign.signers:
                    self._lane(signer)
            if n in lane_of:
                continue
            fork = self.graph.nodes[n].get("fork")
            if fork is not None and fork in lane_of:
                lane_of[n] = lane_of[fork]
                continue
            before = [
                u for u in self.graph.predecessors(n) if u in lane_of and self.pos[u] < self.pos[n]
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

    # ------------------------------------------------------------ nodes

    def _add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def _task_lines(self, step: TaskStep) -> list[str]:
        lines: list[str] = []
        if len(step.actor) > 1:
            lines.append(" 或 ".join(actor_title(self.actors, a) for a in step.actor) + " 辦理")
        if step.for_each == "member":
            lines.append(f"每位{actor_title(self.actors, step.actor[0])}各自辦理")
        elif step.for_each is not None:
            lines.append(f"逐項辦理：{step.for_each}")
        if step.optional:
            lines.append("（如需要）")
        if step.assignee is not None:
            lines.append(f"指派：{step.assignee}")
        lines.extend(f"不得由「{self.step_titles.get(s, s)}」的辦理人審批" for s in step.not_by)
        lines.extend(f"須：{r.message}" for r in step.requires)
        lines.extend(f"決策表：{a.table}" for a in step.apply)
        return lines

    def _notes(self, n: str, step: HumanStep | NotifyStep, lane: str) -> None:
        docs = words.document_lines(step, self.documents)
        if docs:
            self._add(Node(f"{n}@docs", lane, "docs", "", docs, beside=n))
            self.edges.append(Edge(n, f"{n}@docs", "note"))
        if isinstance(step, HumanStep) and step.deadline is not None:
            lines = words.deadline_lines(step.deadline, self.actors, self.step_titles)
            self._add(Node(f"{n}@due", lane, "clock", lines[0], lines[1:], beside=n))
            self.edges.append(Edge(n, f"{n}@due", "note"))

    def _process_words(self, other: str) -> str:
        title = self.titles.get(other)
        return f"{other} {title}" if title else other

    def _node(self, n: str, lane: str) -> None:
        attrs = self.graph.nodes[n]
        step: Any = attrs.get("step")
        self.entry[n] = self.exit[n] = n
        if n == START:
            lines = words.schedule_lines(self.process.schedule, self.actors)
            self._add(Node(n, lane, "start", "開始", lines, step=n))
        elif n == END or isinstance(step, EndStep):
            result = attrs.get("result", "")
            title = step.title if step is not None and step.title else "結束"
            self._add(Node(n, lane, "end", title, [f"結果：{result}"], step=n))
        elif attrs["kind"] == "join":
            fork = self.graph.nodes[attrs["fork"]]["step"]
            rule = "全部" if fork.join == "all" else "任一"
            self._add(Node(n, lane, "join", f"匯合（{rule}）", step=n))
        elif isinstance(step, TaskStep):
            shape: Shape = "decision" if step.decide else "task"
            self._add(Node(n, lane, shape, step.title or n, self._task_lines(step), step=n))
            self._notes(n, step, lane)
        elif isinstance(step, SignStep):
            word, names = words.sign_rule(step.sign, self.actors)
            self._add(Node(n, lane, "fork", step.title or "會簽", [f"{word}：{names}"], step=n))
            self._notes(n, step, lane)
            done = f"{n}@signed"
            previous = n
            for i, signer in enumerate(step.sign.signers):
                sid = f"{n}@sign.{i + 1}"
                what = f"第{i + 1}位簽準" if step.sign.rule == "in_turn" else "簽準"
                self._add(Node(sid, signer, "signer", actor_title(self.actors, signer), [what]))
                if step.sign.rule == "in_turn":
                    self.edges.append(Edge(previous, sid, "flow"))
                    previous = sid
                else:
                    self.edges.append(Edge(n, sid, "flow"))
                    self.edges.append(Edge(sid, done, "flow"))
            if step.sign.rule == "in_turn":
                self.edges.append(Edge(previous, done, "flow"))
            self._add(Node(done, lane, "join", words.sign_count(step.sign)))
            self.exit[n] = done
        elif isinstance(step, BranchStep):
            self._add(Node(n, lane, "branch", step.title or "自動判斷", step=n))
        elif isinstance(step, ParallelStep):
            rule = "全部完成後匯合" if step.join == "all" else "任一完成即匯合"
            self._add(Node(n, lane, "fork", step.title or "並行", [rule], step=n))
        elif isinstance(step, NotifyStep):
            told = [actor_title(self.actors, a) for a in step.notify]
            who = "、".join([*told, *filter(None, [step.notify_users])])
            lines = [f"知會：{who}"] + ([step.message] if step.message else [])
            self._add(Node(n, lane, "notify", step.title or "知會", lines, step=n))
            self._notes(n, step, lane)
        elif isinstance(step, CallStep):
            lines = [f"調用 {self._process_words(step.call)}（等待完成）"]
            if step.carry:
                lines.append("攜帶：" + words.carried(step.carry))
            if step.returns:
                lines.append("取回：" + "、".join(step.returns))
            title = step.title or f"調用 {step.call}"
            self._add(Node(n, lane, "call", title, lines, link=step.call, step=n))
        elif isinstance(step, HandoffStep):
            lines = [f"轉入 {self._process_words(step.handoff)}"]
            if step.carry:
                lines.append("攜帶：" + words.carried(step.carry))
            title = step.title or f"轉入 {step.handoff}"
            self._add(Node(n, lane, "handoff", title, lines, link=step.handoff, step=n))
        if step is not None and step.when is not None:
            self.entry[n] = f"{n}@when"
            self._add(Node(f"{n}@when", lane, "gate", ""))
            self.edges.append(Edge(f"{n}@when", n, "flow"))

    # ------------------------------------------------------------ edges

    @staticmethod
    def _label(data: dict[str, Any]) -> str:
        kind = data["kind"]
        if kind == "fork":
            when = data.get("expr")
            title: str = data["label"]
            return title + (f"\n僅當 {when}" if when else "")
        label: str = data.get("label", "")
        return words.FIXED_LABELS.get(label, label)

    def _flow_edges(self) -> None:
        merged: dict[tuple[str, str, EdgeStyle], list[str]] = {}
        for n in self.order:
            for dst, data in outgoing(self.graph, n):
                kind = data["kind"]
                label = self._label(data)
                style: EdgeStyle
                if kind == "skip":
                    src, style = f"{n}@when", "bypass"
                    label = f"不符合「{data['expr']}」則跳過"
                elif kind == "optional":
                    src, style = self.exit[n], "bypass"
                else:
                    src = self.exit[n]
                    style = "back" if self.pos[dst] <= self.pos[n] else "flow"
                    if style == "back":
                        label = f"{label}（退回）" if label else "退回"
                labels = merged.setdefault((src, self.entry[dst], style), [])
                if label and label not in labels:
                    labels.append(label)
        for (src, dst, style), labels in merged.items():
            self.edges.append(Edge(src, dst, style, " / ".join(labels)))
        drawn = {(e.src, e.dst) for e in self.edges}
        for placed in self.flow.layout.scopes.values():
            ids = [p.id for p in placed if p.id in self.pos]
            for a, b in itertools.pairwise(ids):
                if (self.exit[a], self.entry[b]) not in drawn:
                    self.edges.append(Edge(self.exit[a], self.entry[b], "order"))

    def build(self) -> Diagram:
        lane_of = self._assign_lanes()
        for n in self.order:
            self._node(n, lane_of[n])
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
        DefinitionError: when the process was not loaded with `procflow.load`.
    """
    return _Builder(process, titles or {}).build()
