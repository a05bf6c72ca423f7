"""The flow of a process: one typed intermediate form between the YAML and everything else.

Owns `Flow`, the `Node` base classes, `Edge`, `Condition`, `Where` and the
plans of deadlines, rules and decision tables that human steps carry. Each
step kind's own node class lives in its module under `procflow.flow.kinds`
(what it is, how it is checked, how it runs, how it is drawn); the node
classes here are the ones every flow has (`StartNode`, `EndNode`,
`JoinNode`) and the shared bases (`Node`, `HumanNode`).

A `Flow` is built once per definition by `procflow.flow.build` and never
changes: nodes and edges are frozen dataclasses, conditions are compiled and
type-checked `Expression`s, and every node keeps where it is written. What
can reach what is `Flow.reach`, over the flow's own edge lists. The networkx
graph (`Flow.graph`) is a view made from it on demand, for the graph
algorithms the checks need only when a flow has a problem (loops with no way
out) and for embedders; nothing reads attributes off it, and networkx is
imported only then.

Imports the language layer (`expr`, `deadlines`, `model` for documents and
actors) and `ports` (what running and drawing may ask of the runtime and the
renderers); never `runtime`, `render` or `cli`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from procflow.flow.ports import Canvas, Language, Move, Run
from procflow.language import deadlines
from procflow.language.expr import Expression
from procflow.language.model import Actor, DocumentDef, Schedule

if TYPE_CHECKING:
    import networkx as nx

    from procflow.decisions.table import DecisionTable

START = "@start"
END = "@end"
DEFAULT_RESULT = "completed"
STARTER = "starter"
"""The person who started the instance: ``actor: starter``, ``assignee: starter``,
``not_by: starter`` (an actor no file declares)."""

WORDS: Mapping[Language, Mapping[str, str]] = {
    "zh": {
        "start": "開始",
        "auto": "{when}自動開始",
        "postpone": "遇假日順延",
        "for": "代{who}",
        "end": "結束",
        "result": "結果：{result}",
        "join": "匯合（{how}）",
        "any": "任一",
        "first": "首個",
        "all": "全部",
    },
    "en": {
        "start": "Start",
        "auto": "starts by itself {when}",
        "postpone": "postponed past holidays",
        "for": "for {who}",
        "end": "End",
        "result": "result: {result}",
        "join": "Join ({how})",
        "any": "first done",
        "first": "first done, the others go on",
        "all": "all done",
    },
}
"""The words of the nodes every flow has (start, end, join), in each language."""

Scope = tuple[tuple[str, int], ...]
"""Where a node sits: () at the top, else the chain of (parallel step id, branch index)."""
Path_ = tuple[str | int, ...]

EdgeKind = Literal[
    "next", "outcome", "loop", "skip", "optional", "condition", "otherwise", "fork", "reject",
    "exceeded",
]  # fmt: skip
"""next: on when done; outcome / loop: a named outcome forward / back to an earlier step;
skip: a skip rule that does not hold; optional: answered "not needed"; condition /
otherwise: a branch arm; fork: into a parallel branch; reject: a sign-off's rejection;
exceeded: where a limited way goes instead once its limit is reached (`Limit`)."""


def join_id(parallel_id: str) -> str:
    """The id of the join node of a parallel step."""
    return f"{parallel_id}@join"


@dataclass(frozen=True, slots=True)
class Where:
    """Where a node is written: its path inside the YAML document, line and column (1-based)."""

    path: Path_
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition as written, compiled and type-checked against the documents, and the
    analyst's words for it (``when_title``, a branch arm's ``title``), if any."""

    text: str
    expression: Expression
    title: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def words(self) -> str:
        """What a reader is shown: the analyst's words, else the condition itself."""
        return self.title or self.text


@dataclass(frozen=True, slots=True)
class Limit:
    """A way that may be taken at most ``at_most`` times in an instance (``to: ...,
    at_most: 3, then: ...``): the next time, the flow goes to ``then`` instead.

    Attributes:
        source: The node the way leaves (a parallel step's ``next:`` leaves its join).
        target: The node it goes to.
        at_most: How many times it may be taken.
        then: Where the flow goes once the limit is reached (a step, or an end node
            ``<step>@<result>`` that the flow adds for ``end:``).
        where: Where the limit is written.
    """

    source: str
    target: str
    at_most: int
    then: str
    where: Path_ = ()

    @property
    def key(self) -> str:
        """How the instance's state counts it: ``review>draft``."""
        return f"{self.source}>{self.target}"


@dataclass(frozen=True, slots=True)
class Edge:
    """One way the flow can go from a node to another.

    Attributes:
        kind: What takes it (see `EdgeKind`).
        outcome: The task outcome that takes it (``approve``, ``sign``, ``reject``,
            ``skip``), if a person's choice does.
        condition: The compiled condition of a branch arm, a skip rule or a
            parallel branch's ``when``.
        label: What an analyst wrote for it (an outcome name, a branch title,
            ``otherwise``), for diagrams.
        order: First-match order of branch arms; fork order of parallel branches.
        limit: The `Limit` of a limited way (on the way and on the one past it).
    """

    source: str
    target: str
    kind: EdgeKind
    outcome: str | None = None
    condition: Condition | None = None
    label: str = ""
    order: int = 0
    limit: Limit | None = None


@dataclass(frozen=True, slots=True)
class DeadlinePlan:
    """A step's deadline, read once."""

    due: deadlines.Deadline | None
    """``due:`` parsed; None when the deadline is ``due_on``."""
    due_text: str
    """``due:`` as written, or the ``due_on`` expression's text."""
    count_from: str
    """``open``, ``start`` or a step id."""
    postpone: bool
    reminders: tuple[deadlines.Offset, ...] = ()
    reminder_texts: tuple[str, ...] = ()
    escalate: Escalation | None = None
    expire: Expiry | None = None
    due_on: Expression | None = None
    """``due_on:`` compiled: a date (due at its end) or a date and time, read at opening."""


@dataclass(frozen=True, slots=True)
class Escalation:
    after: deadlines.Offset
    after_text: str
    to: str
    mode: Literal["offer", "move"]


@dataclass(frozen=True, slots=True)
class Expiry:
    after: deadlines.Offset
    after_text: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Rule:
    """A ``requires`` rule: checked when the task is completed."""

    condition: Condition
    message: str


@dataclass(frozen=True, slots=True)
class TablePlan:
    """An ``apply:`` entry: a decision table whose outputs fill fields when the step completes."""

    table: str
    inputs: tuple[tuple[str, Expression], ...]
    """Input name -> the expression giving it (an input not written reads a field of that name)."""
    outputs: tuple[tuple[str, str, str], ...]
    """(table output, document, field)."""


Per = Literal["member", "item", "submission"]
"""What a per-person form keeps one copy for (see `Collection`)."""


@dataclass(frozen=True, slots=True)
class Collection:
    """A per-person form: the copies a process keeps of one document.

    Attributes:
        document: The document.
        per: ``member`` (one copy per holder of a role), ``item`` (one per list item),
            or ``submission`` (``copies: each``: every submission is a copy).
        steps: The steps that make its copies, in order.
    """

    document: str
    per: Per
    steps: tuple[str, ...]

    @property
    def words(self) -> str:
        """How a diagram says it: ``每人一份``, ``每項一份``, ``每次一份``."""
        return {"member": "每人一份", "item": "每項一份", "submission": "每次一份"}[self.per]


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """What every node of a flow has.

    Attributes:
        id: The step id as written, or a generated one (``step-3``, ``step-5.2.1``);
            ``@start``, ``@end`` and ``<parallel>@join`` for the nodes the flow adds.
        title: The analyst's title, or the id.
        where: Where it is written.
        label: The analyst's title, or "" when there is none.
        scope: The parallel branches it sits in.
        after: Where the flow goes when it is done (``next:`` resolved); None at an end.
        skip: The skip rule (``when:``) that must hold for it to run.
        skip_to: Where a skipped step goes (the step written after it).
        notes: The analyst's notes.
    """

    kind: ClassVar[str] = ""
    human: ClassVar[bool] = False
    """True for steps that open tasks for people (tasks and sign-offs)."""

    id: str
    title: str
    where: Where
    label: str = ""
    """The title as written; empty when the analyst gave none (``title`` is then the id)."""
    scope: Scope = ()
    after: str | None = None
    skip: Condition | None = None
    skip_to: str | None = None
    notes: tuple[str, ...] = ()

    in_branch: Mapping[str, int] = field(init=False, repr=False, compare=False)
    """Parallel step id -> the index of its branch this node sits in (from ``scope``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_branch", dict(self.scope))

    def out_edges(self) -> Iterator[Edge]:
        """The ways on from this node, in a stable order (skip rule first)."""
        if self.skip is not None and self.skip_to is not None:
            yield Edge(self.id, self.skip_to, "skip", condition=self.skip, label=self.skip.text)
        if self.after is not None:
            yield Edge(self.id, self.after, "next")

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        """A token has arrived (its skip rule held): act, and say where it goes on.

        Returns:
            ``(token, came_from, node)`` to go on with, or None while it waits here.
        """
        return (token, self.id, self.after or "")

    def draw(self, canvas: Canvas) -> None:
        """Add this node's shapes to a diagram."""
        canvas.box(self, "task", self.title)

    def coverage(self) -> list[str]:
        """What scenarios must show of this node (`procflow.testing.coverage`)."""
        if self.skip is None:
            return []
        return [f"{self.id}: runs (when holds)", f"{self.id}: skipped (when does not hold)"]

    def lanes(self) -> tuple[str, ...]:
        """The actors whose lanes this node's drawing uses, in order."""
        return ()

    @property
    def own_lane(self) -> str | None:
        """The actor whose lane this node sits in; None: the lane the flow comes from."""
        return None

    @property
    def links(self) -> tuple[str, ...]:
        """The processes this node starts (a call or a hand-off)."""
        return ()

    @property
    def display_kind(self) -> str:
        """The kind as a reader sees it (a task that decides is a ``decision``)."""
        return self.kind

    def duties(self) -> tuple[tuple[str, str], ...]:
        """(actor, what they do here: 辦理, 審批 or 知會), for the actors' matrix."""
        return ()

    def who(self, actor: Callable[[str], str], language: Language = "zh") -> str:
        """Who acts here, in words (``actor`` gives an actor's title)."""
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartNode(Node):
    """Where every instance starts; ``schedule`` when the system starts it by itself."""

    kind: ClassVar[str] = "start"
    schedule: Schedule | None = None

    def draw(self, canvas: Canvas) -> None:
        canvas.box(self, "start", WORDS[canvas.language]["start"], self.schedule_words(canvas))

    def schedule_words(self, canvas: Canvas) -> list[str]:
        """The start's note of a scheduled process: ``每月20日自動開始``, ``代大客戶部經理``."""
        s = self.schedule
        if s is None:
            return []
        from procflow.language import schedules  # noqa: PLC0415 - only scheduled processes

        words = WORDS[canvas.language]
        describe = schedules.describe_zh if canvas.language == "zh" else schedules.describe
        try:
            when = describe(schedules.read_schedule(s))
        except schedules.ScheduleError:
            when = s.every
        lines = [words["auto"].format(when=when)]
        lines += [words["postpone"]] if s.holidays == "postpone" else []
        return [*lines, words["for"].format(who=canvas.actor(s.by))]


@dataclass(frozen=True, slots=True, kw_only=True)
class EndNode(Node):
    """An end of the flow: an ``end:`` step, or ``@end`` after the last step."""

    kind: ClassVar[str] = "end"
    result: str = DEFAULT_RESULT

    def out_edges(self) -> Iterator[Edge]:
        return iter(())

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        run.finish(self.result)
        return None

    def draw(self, canvas: Canvas) -> None:
        words = WORDS[canvas.language]
        result = words["result"].format(result=canvas.outcome(self.result))
        canvas.box(self, "end", self.label or words["end"], [result])


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinNode(Node):
    """Where the branches of a parallel step meet (``<parallel id>@join``)."""

    kind: ClassVar[str] = "join"
    fork: str
    """The parallel step's id."""
    any: bool = False
    """``join: any``: go on at the first branch done, and withdraw the others."""
    first: bool = False
    """``join: first``: go on at the first branch done; the others run to their end."""

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        branch = run.node(came_from).in_branch[self.fork]
        live, done = run.join_state(self.fork)
        fired = self.first and len(done) > 0
        run.emit("joined", {"step": self.fork, "token": token, "branch": branch})
        if fired:  # join: first, a later branch: it ends here
            return None
        if not (self.any or self.first) and not set(live) <= {*done, branch}:
            return None
        merged = run.next_number()
        data: dict[str, Any] = {"step": self.fork, "token": merged}
        if self.first and len(live) > 1:
            data["first"] = True  # the join stays until the other branches end
        if self.any:
            losing = run.tokens_inside(self.fork)
            for number in run.tasks_of_tokens(losing):
                run.emit("task_withdrawn", {"task": number, "why": "join"})
            inner = run.joins_inside(self.fork)
            if losing:
                data["discard"] = losing
            if inner:
                data["drop"] = inner
        run.emit("merged", data)
        return (merged, self.id, self.after or "")

    def draw(self, canvas: Canvas) -> None:
        words = WORDS[canvas.language]
        how = words["any" if self.any else "first" if self.first else "all"]
        canvas.box(self, "join", words["join"].format(how=how))


@dataclass(frozen=True, slots=True, kw_only=True)
class HumanNode(Node):
    """What tasks and sign-offs share: the people, the documents, four-eyes, deadlines.

    Attributes:
        roles: The roles that act (a task's actors, a sign-off's signers).
        fills: Document -> the fields this step asks for (all of its fields when none
            are named).
        fills_written: The same as written: no fields for a whole form.
        reads: Documents shown for reference.
        not_by: Four-eyes: whoever did these earlier steps (or started the instance,
            `STARTER`) may not act here.
        rules: The ``requires`` rules, checked when a task is completed.
        deadline: The deadline, or None.
        tables: The ``apply:`` decision tables, run when a task is completed.
        outcomes: Outcome -> the node it leads to.
        remember: Record who did this step and when: a later four-eyes rule or
            deadline names it.
        starter: The one user who does it is whoever started the instance
            (``actor: starter`` or ``assignee: starter``).
        same_as: Retain familiar: the one user who does it is whoever last did this
            earlier step (``actor: {same_as: draft}``).
        cancels: Steps whose open tasks are withdrawn when this step is done.
        withdraw_by: Roles whose holders may withdraw its open tasks.
        copies: The per-person forms this step fills, each with whether every
            submission is a new copy (``copies: each``) rather than this task's own
            copy (one per member or item, replaced when it is done again).
    """

    human: ClassVar[bool] = True

    roles: tuple[str, ...] = ()
    fills: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fills_written: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reads: tuple[str, ...] = ()
    not_by: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    deadline: DeadlinePlan | None = None
    tables: tuple[TablePlan, ...] = ()
    outcomes: Mapping[str, str] = field(default_factory=dict)
    remember: bool = False
    starter: bool = False
    same_as: str | None = None
    cancels: tuple[str, ...] = ()
    withdraw_by: tuple[str, ...] = ()
    copies: Mapping[str, bool] = field(default_factory=dict)

    outcome_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """What a person may choose here (empty: just complete it)."""
    fills_view: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    """``fills``, read-only (what `procflow.Task.fills` shows)."""
    guarded: bool = field(init=False, repr=False, compare=False)
    """Some people may be kept off its tasks (four-eyes, one signature per person): who
    may take a task is worked out when it opens (`procflow.runtime.interpreter`)."""

    def __post_init__(self) -> None:
        Node.__post_init__(self)
        object.__setattr__(self, "outcome_names", tuple(self.outcomes))
        object.__setattr__(self, "fills_view", MappingProxyType(dict(self.fills)))
        guarded = bool(self.not_by) or self.kind == "sign" or self.starter or bool(self.same_as)
        object.__setattr__(self, "guarded", guarded)

    def completed(self, run: Run, token: int, outcome: str | None) -> Move | None:
        """A task of this step was completed (its event is folded in): where the token goes."""
        raise NotImplementedError

    def withdrawn(self, run: Run, token: int) -> Move | None:
        """A task of this step was withdrawn (`Engine.withdraw`, or a step that ``cancels``
        it): the step goes on along ``next`` once the token has no open task left."""
        if run.open_count(token):
            return None
        return (token, self.id, self.after or "")

    def fills_surely(self, documents: Mapping[str, DocumentDef]) -> frozenset[str]:
        """The documents this step surely fills when it is done: it asks for a required
        field of each and completes only with data (no skip rule, no expiry)."""
        if self.skip is not None:
            return frozenset()
        if self.deadline is not None and self.deadline.expire is not None:
            return frozenset()
        out: set[str] = set()
        for name, fields in self.fills.items():
            d = documents.get(name)
            if d is not None and any(f in d.fields and d.fields[f].required for f in fields):
                out.add(name)
        return frozenset(out)

    def coverage(self) -> list[str]:
        items = [f"{self.id}: reached"]
        items += [f"{self.id}: outcome {o}" for o in self.outcome_names]
        if self.deadline is not None:
            items.append(f"{self.id}: overdue")
            if self.deadline.reminders:
                items.append(f"{self.id}: reminded")
            if self.deadline.escalate is not None:
                items.append(f"{self.id}: escalated")
            if self.deadline.expire is not None:
                items.append(f"{self.id}: expired")
        return items + Node.coverage(self)

    def lanes(self) -> tuple[str, ...]:
        return self.roles  # any of a task's roles may act: each has its lane

    @property
    def own_lane(self) -> str | None:
        return self.roles[0] if self.roles else None


@dataclass(frozen=True)
class Carried:
    """One document a call or hand-off carries: theirs (its name in the other process),
    ours, and whether it may be missing."""

    theirs: str
    ours: str
    optional: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkNode(Node):
    """What calls and hand-offs share: the process they start and the documents they carry."""

    target: str = ""
    carry: tuple[Carried, ...] = ()

    @property
    def links(self) -> tuple[str, ...]:
        return (self.target,)


@dataclass(frozen=True)
class Flow:
    """A process compiled: its nodes in reading order and the edges between them.

    Attributes:
        process_id: The process.
        nodes: Node id -> node, as the process reads: ``@start``, the steps as
            written (depth first, each join right after its parallel step's
            branches), ``@end`` when some step falls off the last one.
        actors: Every actor the process can name (its own and its organisation's).
        documents: Every document it can name.
        tables: The decision tables it can see (its files and its own), by id.
        file: The file it was loaded from.
        definition: The process with its organisation and tables inlined, as
            JSON-ready data: what a store keeps, and what `definition_hash` hashes.
        definition_hash: The content hash that instances are pinned to.
    """

    process_id: str
    nodes: Mapping[str, Node]
    actors: Mapping[str, Actor]
    documents: Mapping[str, DocumentDef]
    tables: Mapping[str, DecisionTable] = field(default_factory=dict, repr=False)
    file: str = ""
    definition: Mapping[str, Any] = field(default_factory=dict, repr=False)
    definition_hash: str = ""
    used_actors: frozenset[str] = frozenset()
    """The actors some step, schedule or rule names (the others are unused)."""
    used_documents: frozenset[str] = frozenset()
    """The documents some step fills, reads, carries or names in a condition."""
    search: tuple[tuple[str, str], ...] = ()
    """(document, field) of every field instances can be found by (``search:``)."""
    collections: Mapping[str, Collection] = field(default_factory=dict)
    """The per-person forms, by document: the copies kept of each."""
    limits: Mapping[tuple[str, str], Limit] = field(default_factory=dict)
    """The limited ways (`Limit`), by (source, target)."""

    @property
    def start(self) -> StartNode:
        node = self.nodes[START]
        assert isinstance(node, StartNode)  # noqa: S101 - the builder puts it first
        return node

    @property
    def first(self) -> str:
        """Where a new instance's token goes from ``@start``."""
        return self.start.after or END

    def steps(self) -> Iterator[Node]:
        """The nodes of the analyst's steps (not ``@start``, ``@end`` or joins), in order."""
        return (n for n in self.nodes.values() if n.id not in (START, END) and n.kind != "join")

    def human_steps(self) -> Iterator[HumanNode]:
        """Tasks and sign-offs, in order."""
        return (n for n in self.nodes.values() if isinstance(n, HumanNode))

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        """Every edge, grouped by source node in reading order; a limited way is labelled
        with its limit, and followed by the edge past it (``exceeded``)."""
        out: list[Edge] = []
        for n in self.nodes.values():
            for e in n.out_edges():
                limit = self.limits.get((e.source, e.target)) if e.kind != "skip" else None
                if limit is None:
                    out.append(e)
                    continue
                out.append(replace(e, limit=limit))
                out.append(
                    Edge(e.source, limit.then, "exceeded", e.outcome, label=e.label, limit=limit)
                )
        return tuple(out)

    @cached_property
    def _outgoing(self) -> Mapping[str, tuple[Edge, ...]]:
        out: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        for e in self.edges:
            out[e.source].append(e)
        return {k: tuple(v) for k, v in out.items()}

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        """The edges leaving a node, in order (skip rule first, arms and branches in order)."""
        return self._outgoing[node_id]

    @cached_property
    def incoming(self) -> Mapping[str, tuple[Edge, ...]]:
        """Node id -> the edges arriving there."""
        out: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        for e in self.edges:
            out[e.target].append(e)
        return {k: tuple(v) for k, v in out.items()}

    def reach(self, sources: Iterable[str], *, backwards: bool = False) -> set[str]:
        """The nodes reachable from ``sources`` (themselves included), following the
        edges, or against them with ``backwards`` (the nodes that reach a source).

        One breadth-first walk over the edge lists the flow keeps, linear in its size:
        the checks run it on every load, where importing networkx for `graph` would
        cost more than all the rest of ``procflow validate FILE``.
        """
        by_node = self.incoming if backwards else self._outgoing
        seen = set(sources)
        todo = list(seen)
        while todo:
            for e in by_node[todo.pop()]:
                other = e.source if backwards else e.target
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen

    def graph(self) -> nx.DiGraph[str]:
        """The flow as a ``networkx.DiGraph``, a view made from the nodes and edges.

        Node attributes: ``kind``, ``title``, ``scope``. Edge attributes:
        ``kind``, ``label``, ``outcome``, ``condition`` (its text), ``order``; when
        two edges join the same pair of nodes (two outcomes to one step), the
        graph keeps the first, and ``edges`` lists them all in ``all``.
        """
        return self._graph.copy()

    @cached_property
    def _graph(self) -> nx.DiGraph[str]:
        import networkx as nx  # noqa: PLC0415 - only checks and embedders need it

        g: nx.DiGraph[str] = nx.DiGraph(process_id=self.process_id)
        for n in self.nodes.values():
            g.add_node(n.id, kind=n.kind, title=n.title, scope=n.scope)
        for e in self.edges:
            attrs = {
                "kind": e.kind,
                "label": e.label,
                "outcome": e.outcome,
                "condition": None if e.condition is None else e.condition.text,
                "order": e.order,
            }
            if g.has_edge(e.source, e.target):
                g.edges[e.source, e.target].setdefault("all", []).append(attrs)
            else:
                g.add_edge(e.source, e.target, **attrs, all=[attrs])
        return g

    @cached_property
    def reading_order(self) -> tuple[str, ...]:
        """The node ids in reading order, without ``@end`` when nothing reaches it."""
        reached = self.incoming
        return tuple(n for n in self.nodes if n != END or reached[END])
