"""Read models handed to applications: `Task` and `Instance`.

Owns how a stored task record and an instance snapshot look from outside.
Both are read-only views of one moment: an `Instance` keeps the immutable
snapshot it was built from and decodes documents and tasks only when asked,
so returning one from every command costs next to nothing.

Imports `program`, `state`, `values`, `clock`, and the flow's node types.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from procflow.flow.ir import HumanNode
from procflow.runtime.clock import parse_iso
from procflow.runtime.program import Program
from procflow.runtime.state import OpenTask, Snapshot
from procflow.runtime.values import decode_docs

__all__ = ["FormCopy", "Instance", "Task", "build_task"]


class FormCopy(NamedTuple):
    """One copy of a per-person form, as `Instance.documents` shows it.

    Attributes:
        of: The member (user id) or list item it is for; None when its step has no
            for-each (a market manager's own findings, one of a form's daily copies).
        by: Who filled it (None when the system did).
        at: When.
        step: The step whose task filled it.
        values: Field -> value, decoded (``Decimal``, ``date``...).
    """

    of: Any
    by: str | None
    at: datetime
    step: str
    values: dict[str, Any]


class Task(NamedTuple):
    """An open task: one person's (or one role's) piece of work in an instance.

    Immutable (a named tuple: cheap to make, and `_asdict` gives plain data).

    Attributes:
        id: The task id (``<instance id>.<number>``); pass it to `Engine.complete`.
        instance_id: The instance it belongs to.
        process_id: The process of that instance.
        step_id: The step it comes from.
        kind: ``task`` or ``sign``.
        title: The step's title.
        actor: The roles that may act on it (for a sign-off task, the one signer role;
            after an escalation, the escalation role too).
        outcomes: What the actor may choose (empty: just complete it).
        fills: Document -> the fields this task asks for.
        reads: Documents shown for reference.
        due: When it is due, or None.
        assignee: The one user it is assigned to (claimed, delegated, or chosen
            by the step's ``assignee``), or None.
        candidates: When not empty, only these users may act (for-each members).
        item: The for-each item this task is about (a list item, or the member a
            ``for_each: member`` task is for), or None.
        opened_at: When it was opened.
        overdue: True once its due moment has come: by the engine's clock in
            `Engine.tasks` and `Engine.task`, else once `Engine.tick` marked it.
        copies: The per-person forms this task fills its own copy of: the copy for
            ``item`` (or, at a step without for-each, the step's own, or a new one for
            a form kept per submission).
    """

    id: str
    instance_id: str
    process_id: str
    step_id: str
    kind: str
    title: str
    actor: tuple[str, ...]
    outcomes: tuple[str, ...]
    fills: Mapping[str, tuple[str, ...]]
    reads: tuple[str, ...]
    due: datetime | None
    assignee: str | None
    candidates: tuple[str, ...]
    item: Any
    opened_at: datetime
    overdue: bool = False
    copies: tuple[str, ...] = ()

    @property
    def documents(self) -> tuple[str, ...]:
        """The documents this task asks to fill."""
        return tuple(self.fills)

    @property
    def optional(self) -> bool:
        """Whether its step is optional: its one outcome is ``skip``, and completing it
        without an outcome does it."""
        return self.outcomes == ("skip",)


def build_task(
    instance_id: str, program: Program, number: int, task: OpenTask, now: datetime | None = None
) -> Task:
    """The `Task` of an open task of an instance; ``now`` (the engine's clock) makes it
    overdue once its due moment has come, before a tick marks it."""
    # one unpacking instead of a named field read each (generic attribute lookups)
    step, _, roles, candidates, assignee, due_text, _, item, opened, late = task
    node: HumanNode = program.nodes[step]  # type: ignore[assignment]  # human steps
    if item is not None:
        for_each = getattr(node, "for_each", None)
        if for_each is not None and not for_each.members:
            codec = program.codecs[for_each.document][for_each.field]
            if codec.decode is not None:
                item = codec.decode([item])[0]
    due = parse_iso(due_text) if due_text else None
    return tuple.__new__(Task, (  # Task(...), without the frame of its __new__
        f"{instance_id}.{number}",
        instance_id,
        program.process_id,
        node.id,
        node.kind,
        node.title,
        roles,
        node.outcome_names,
        node.fills_view,
        node.reads,
        due,
        assignee,
        candidates,
        item,
        parse_iso(opened),
        late or (now is not None and due is not None and due <= now),
        tuple(node.copies),
    ))  # fmt: skip


class Instance:
    """One run of a process, as of one moment.

    Attributes:
        id: The instance id.
        version: How many events it has (the store's version, for optimistic checks).
        process_id: Its process.
        definition_hash: The content hash of the definition it runs on (pinned at start).
        process_version: The ``version:`` text of that definition.
        status: ``running``, ``completed`` or ``cancelled``.
        result: The end's result (``completed`` when it fell off the last step), or None.
        started_at: When it started.
        started_by: Who started it (None for the system).
        parent_id: The instance that called it or handed off to it, or None.
        handed_off_to: Instances it handed off to, oldest first.
        waiting_on: Instances it called and waits for.
        documents: Document -> field -> value (``Decimal``, ``date``... decoded); a
            per-person form -> the tuple of its copies (`FormCopy`), first filled first.
        loops: How many times each limited way was taken (``review>draft`` -> 2).
        tasks: Its open tasks.
    """

    __slots__ = ("_docs", "_program", "_state", "_tasks", "id", "version")

    def __init__(self, instance_id: str, version: int, state: Snapshot, program: Program):
        self.id = instance_id
        self.version = version
        self._state = state
        self._program = program
        self._docs: dict[str, dict[str, Any]] | None = None
        self._tasks: tuple[Task, ...] | None = None

    @property
    def snapshot(self) -> Snapshot:
        """The typed snapshot this view shows (immutable)."""
        return self._state

    @property
    def process_id(self) -> str:
        return self._state.process

    @property
    def definition_hash(self) -> str:
        return self._state.definition_hash

    @property
    def process_version(self) -> str:
        return self._program.process.version

    @property
    def title(self) -> str:
        return self._program.process.title

    @property
    def status(self) -> str:
        return self._state.status

    @property
    def result(self) -> str | None:
        return self._state.result

    @property
    def started_at(self) -> datetime:
        return parse_iso(self._state.started_at)

    @property
    def started_by(self) -> str | None:
        return self._state.started_by

    @property
    def parent_id(self) -> str | None:
        parent = self._state.parent
        return None if parent is None else parent.id

    @property
    def handed_off_to(self) -> tuple[str, ...]:
        return self._state.handoffs

    @property
    def waiting_on(self) -> tuple[str, ...]:
        return tuple(t.child for t in self._state.tokens.values() if t.child is not None)

    @property
    def documents(self) -> dict[str, Any]:
        """A fresh decoded copy of the documents (changing it changes nothing stored): a
        form's fields, or the copies of a per-person form."""
        if self._docs is None:
            self._docs = decode_docs(self._state.documents, self._program.codecs)
        out: dict[str, Any] = {doc: dict(values) for doc, values in self._docs.items()}
        for doc in self._program.collections:
            out[doc] = self.copies(doc)
        return out

    def copies(self, document: str) -> tuple[FormCopy, ...]:
        """The copies of a per-person form, first filled first (none: an empty tuple)."""
        codecs = self._program.codecs
        return tuple(
            FormCopy(
                c.of,
                c.by,
                parse_iso(c.at),
                c.step,
                decode_docs({document: c.values}, codecs)[document],
            )
            for c in self._state.copies.get(document, ())
        )

    @property
    def loops(self) -> dict[str, int]:
        """How many times each limited way was taken, by ``step>target`` (``review>draft``)."""
        return dict(self._state.loops)

    @property
    def tasks(self) -> tuple[Task, ...]:
        if self._tasks is None:
            tasks = self._state.tasks
            iid, program = self.id, self._program
            # in the order they opened: by number (the map's own order is not)
            self._tasks = tuple(
                [
                    build_task(iid, program, number, task)
                    for number, task in (sorted(tasks.items()) if len(tasks) > 1 else tasks.items())
                ]
            )
        return self._tasks

    @property
    def running(self) -> bool:
        return self._state.status == "running"

    def __repr__(self) -> str:
        return (
            f"Instance({self.id!r}, process={self.process_id!r}, status={self.status!r}, "
            f"result={self.result!r}, tasks={len(self._state.tasks)})"
        )
