"""What a flow's nodes may ask of the layers above them, as Protocols.

A node kind says in one module how it runs and how it is drawn, yet the
flow layer must not import the runtime or the renderers. So a node runs
against `Run` (one instance in the middle of one engine command, which
`procflow.runtime.interpreter.Run` implements) and draws on `Canvas` (a
diagram being built, which `procflow.render.diagram` implements). These
Protocols are the whole of what nodes may use; anything else stays inside the
runtime or the renderer.

Imports the language layer (`Expression`) only: `ir` imports this module, so
nodes appear here as `NodeLike` (what every node has), or as ``Any`` where the
runtime or the renderer needs a node of a kind (a human step's deadline plan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from procflow.language.expr import Expression

Move = tuple[int, str, str]
"""Where a token goes on: (token, the node it leaves, the node it enters)."""

NO_ITEM: Any = object()
"""For `Run.open_task`: the task is not about an item of a list."""

Shape = Literal[
    "start", "end", "task", "decision", "branch", "fork", "join", "signer", "notify",
    "call", "handoff", "docs", "clock", "gate", "also",
]  # fmt: skip
"""How a node is drawn (see `procflow.render.dot` for what each looks like)."""

Language = Literal["zh", "en"]
"""The language of a diagram's words: Chinese (traditional characters, as the customer's
processes) or English. Each kind keeps its words for both (``WORDS`` in its module)."""

EdgeStyle = Literal["flow", "back", "bypass", "note", "order"]
"""flow: the way forward; back: sent back to an earlier step; bypass: a skip rule or a
step marked not needed; note: ties a note to its step; order: invisible, keeps the
written order top to bottom."""


class NodeLike(Protocol):
    """What every node of a flow has (`procflow.flow.ir.Node`)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def after(self) -> str | None: ...
    @property
    def in_branch(self) -> Mapping[str, int]: ...


class ConditionLike(Protocol):
    """A compiled condition (`procflow.flow.ir.Condition`)."""

    @property
    def text(self) -> str: ...
    @property
    def expression(self) -> Expression: ...


class Run(Protocol):
    """One instance in the middle of an engine command, as the flow's nodes see it.

    Every change goes through `emit`: the event is folded into the instance's
    state at once, so what a node reads afterwards already includes it.
    """

    def emit(self, kind: str, data: dict[str, Any], *, system: bool = False) -> None:
        """Record an event (by the command's user, or by the system) and fold it in."""

    def holds(self, condition: ConditionLike) -> bool:
        """Whether a condition holds on the instance's documents now.

        Raises:
            EvaluationError: it meets a missing value (the command then changes nothing).
        """

    def evaluate(self, expression: Expression) -> Any:
        """The value of an expression on the instance's documents now."""

    def next_number(self) -> int:
        """A new number for a task or a token of this instance."""

    def node(self, node_id: str) -> NodeLike:
        """A node of the instance's flow."""

    def enter(self, token: int, node_id: str, came_from: str) -> None:
        """Move ``token`` into ``node_id`` and on until it has to wait (a parallel branch)."""

    def stored(self, document: str, field: str) -> Any:
        """A document field's stored value (JSON form), or None."""

    def members(self, roles: Sequence[str], *, why: str) -> list[str]:
        """The users holding any of ``roles`` (from the engine's directory).

        Raises:
            ExecutionError: The engine has no directory; ``why`` says who asked.
        """

    def open_task(
        self,
        token: int,
        node: Any,
        roles: Sequence[str],
        *,
        candidates: Sequence[str] = (),
        assignee: str | None = None,
        item: Any = NO_ITEM,
        enter: bool,
        each: bool = False,
        left_out: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        """Open a task of ``node``, a human step (its deadline's timers set from its plan).

        ``enter`` marks the first task of the token's arrival: its count of
        completions there starts again. ``each`` (with ``enter``): the token's tasks
        are a for-each step's, whose completers need not be remembered. ``left_out``:
        the members a four-eyes rule kept from getting a task (for the record).
        ``people`` (with ``enter``): the members of a role who sign, as resolved now,
        kept with the token (`signers`).

        When nobody eligible can take the task (everyone it is for is excluded by
        four-eyes, or it is for the starter of an instance the system started), it
        follows the step's escalation, or raises `ExecutionError`.
        """

    def starter(self) -> str | None:
        """Who started the instance (None: the system, on schedule)."""

    def signers(self, token: int) -> Sequence[str]:
        """The members recorded as signing at the token's sign-off (``people``)."""

    def signed_by(self, token: int) -> Sequence[str]:
        """Who has signed at the token's sign-off."""

    def familiar(self, step: str) -> str | None:
        """Who last did ``step`` (a remembered step), or None when nobody has."""

    def excluded(self, node: Any, token: int) -> set[str]:
        """The people ``node``'s rules keep off the tasks of ``token``: whoever did a
        ``not_by`` step (or started the instance), and in a sign-off whoever signed."""

    def recheck(self, token: int, node: Any, needed: int) -> None:
        """After a signature: when the open signer tasks that someone can still take are
        too few for ``needed`` signatures, those nobody can take follow the step's
        escalation, or `ExecutionError` is raised."""

    def open_tasks(self, token: int) -> list[int]:
        """The numbers of the open tasks of ``token`` (a walk over the instance's tasks)."""

    def open_count(self, token: int) -> int:
        """How many open tasks ``token`` has (without walking them)."""

    def completions(self, token: int) -> int:
        """How many tasks ``token`` has completed at the step where it is."""

    def withdraw(self, token: int, why: str) -> None:
        """Withdraw the open tasks of ``token`` (the step was decided without them)."""

    def has_join(self, parallel: str) -> bool:
        """Whether the parallel step's join still waits (a join-any may be done already)."""

    def join_state(self, parallel: str) -> tuple[Sequence[int], Sequence[int]]:
        """The branches of a parallel step that run, and those that reached its join."""

    def tokens_inside(self, parallel: str) -> list[int]:
        """The tokens at a parallel step or inside its branches."""

    def tasks_of_tokens(self, tokens: Sequence[int]) -> list[int]:
        """The numbers of the open tasks of these tokens."""

    def joins_inside(self, parallel: str) -> list[str]:
        """The parallel steps inside a parallel step's branches that are waiting at their join."""

    def notice(self, kind: str, *details: Any) -> None:
        """Something to tell the embedder's hooks once the command is stored."""

    def call(self, token: int, node: Any) -> None:
        """Start the process the call step ``node`` names and wait for it (it may finish
        at once)."""

    def hand_off(self, node: Any) -> None:
        """Start the process the hand-off step ``node`` names, and go on."""

    def finish(self, result: str) -> None:
        """Finish the instance with ``result``."""


class Canvas(Protocol):
    """A diagram being built, as the flow's nodes draw on it."""

    @property
    def language(self) -> Language:
        """The language of the diagram's words."""

    def outcome(self, name: str) -> str:
        """An outcome's or a result's name as the reader is told it (``approve`` → 同意)."""

    def document(self, name: str) -> str:
        """A document's title, as the reader knows the form."""

    def value(self, text: str) -> str:
        """An expression as words: ``《考核表》被考核者`` for a field, else the text itself."""

    def box(
        self,
        node: NodeLike,
        shape: Shape,
        title: str,
        lines: Sequence[str] = (),
        *,
        link: str | None = None,
    ) -> str:
        """Draw a node's own shape in its lane; returns the shape's id (the node's id)."""

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
        """Draw another shape of ``node`` (a signer, a bar) in the lane of actor ``lane``
        (the node's own lane when empty); returns ``shape_id``. ``beside``: on the row of
        the node's own shape, tied to it by a dotted line (another role that may act)."""

    def line(self, source: str, target: str, style: EdgeStyle = "flow", label: str = "") -> None:
        """Draw a line between two shapes."""

    def leave_from(self, node: NodeLike, shape_id: str) -> None:
        """The node's ways on start from this shape (a sign-off's closing bar)."""

    def actor(self, role: str) -> str:
        """The title of an actor."""

    def step_title(self, step_id: str) -> str:
        """The title of a step of this process."""

    def process_title(self, process_id: str) -> str:
        """``SC-002 市場調研流程``: a process another one calls or hands off to."""
