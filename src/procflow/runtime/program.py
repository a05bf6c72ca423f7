"""A process definition made ready to run: its flow, plus what running it needs once.

Owns `Program`: the typed `Flow` of a loaded process (its nodes are what the
interpreter runs: each node's kind says how, see `procflow.flow.kinds`), the
codecs of its documents' fields, the documents as an instance starts, who
may start it, and its schedule read. Built once per definition hash; per
command work then never looks at step lists or YAML again.

Imports the flow and language layers, and `values`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from procflow.flow.catalog import Process
from procflow.flow.context import environment
from procflow.flow.ir import START, STARTER, Flow, HumanNode, Node
from procflow.language.expr import Expression, compile_expression
from procflow.language.model import NUMERIC
from procflow.language.schedules import Recurrence, read_schedule
from procflow.runtime.values import DocCodecs, codecs_for, default_docs

__all__ = ["Program"]


class Program:
    """A process definition ready to run; built once per definition hash.

    Attributes:
        process: The loaded process.
        flow: Its flow; `nodes` are the flow's nodes.
        definition_hash: The content hash instances are pinned to.
        first: Where a new token goes from ``@start``.
        starters: Roles that may start an instance; None when anyone may.
        codecs: Field codecs of every document.
        defaults: The documents as an instance starts (field defaults, stored form).
        collections: The per-person forms: kept as copies, never as one form.
        copy_defaults: The field defaults each new copy of a per-person form starts with.
        limits: The limited ways by (source, target), or None when there is none.
        recurrence: The process's ``schedule:``, read (`Engine.tick` starts it).
        four_eyes: Step id -> node, for the human steps that can bar someone (a
            four-eyes rule, or a sign-off: one signature per person).
        bar_sources: The steps whose completion can change who is barred from
            another open task (named by a ``not_by``, or a sign-off).
        search: ``(document.field, document, field, numeric)`` of its searchable fields.
    """

    __slots__ = (
        "assigned", "bar_sources", "codecs", "collections", "copy_defaults", "defaults",
        "definition", "definition_hash", "first", "flow", "four_eyes", "limits", "nodes",
        "process", "process_id", "recurrence", "search", "starters",
    )  # fmt: skip

    def __init__(self, process: Process) -> None:
        flow: Flow = process.flow
        self.process = process
        self.flow = flow
        self.process_id = process.id
        self.definition_hash = flow.definition_hash
        self.definition = flow.definition
        self.nodes: Mapping[str, Node] = flow.nodes
        self.codecs: DocCodecs = codecs_for(flow.documents)
        self.collections = frozenset(flow.collections)
        defaults = default_docs(self.codecs)
        self.copy_defaults = {d: v for d, v in defaults.items() if d in self.collections}
        self.defaults = {d: v for d, v in defaults.items() if d not in self.collections}
        self.first = flow.first
        self.limits = flow.limits or None
        self.recurrence: Recurrence | None = (
            None if process.schedule is None else read_schedule(process.schedule)
        )
        self.starters = self._starters()
        self.four_eyes: dict[str, HumanNode] = {
            n.id: n for n in flow.human_steps() if n.not_by or n.kind == "sign"
        }
        self.bar_sources = frozenset(
            [s for n in self.four_eyes.values() for s in n.not_by]
            + [n.id for n in self.four_eyes.values() if n.kind == "sign"]
        )
        self.search = tuple(
            (f"{doc}.{field}", doc, field, self.codecs[doc][field].field.type in NUMERIC)
            for doc, field in flow.search
        )
        self.assigned = self._assigned()

    @property
    def definition_text(self) -> str:
        """The definition as the store keeps it (its hash is `definition_hash`)."""
        return json.dumps(self.definition, sort_keys=True, ensure_ascii=False, default=str)

    def _starters(self) -> frozenset[str] | None:
        """``starts_by``, else the roles of the first human steps the flow can reach."""
        scheduled = self.process.schedule
        also = {scheduled.by} if scheduled is not None else set()
        if self.process.starts_by:
            return frozenset(self.process.starts_by) | also
        roles: set[str] = set(also)
        seen = {START}
        queue = deque([START])
        while queue:
            node = self.nodes[queue.popleft()]
            if node.human:  # the starter is whoever starts it: no role needed
                roles.update(r for r in getattr(node, "roles", ()) if r != STARTER)
                continue
            for edge in self.flow.outgoing(node.id):
                if edge.target not in seen:
                    seen.add(edge.target)
                    queue.append(edge.target)
        return frozenset(roles) or None

    def _assigned(self) -> tuple[tuple[HumanNode, Expression], ...]:
        """The steps that data names the people of (``assignee:``, a for-each over a list
        of users) and that a four-eyes rule guards, with the expression naming them: a
        submission that names someone the rule excludes is refused (`guards`)."""
        out: list[tuple[HumanNode, Expression]] = []
        for node in self.flow.human_steps():
            if not node.not_by:
                continue
            named = getattr(node, "assignee", None)
            each = getattr(node, "for_each", None)
            if named is None and each is not None and each.users:
                named = compile_expression(
                    f"{each.document}.{each.field}", environment(self.flow.documents), expect=None
                )[0]
            if named is not None:
                out.append((node, named))
        return tuple(out)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def describe(self) -> dict[str, Any]:
        return {"process": self.process_id, "hash": self.definition_hash}

    def __repr__(self) -> str:
        return f"Program({self.process_id!r}, {self.definition_hash[:12]})"
