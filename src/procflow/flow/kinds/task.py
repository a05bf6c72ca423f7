"""The task: a person (or each member of a role, or each listed item) does a piece of work.

Owns `TaskNode` and the ``task`` `StepKind`: what a task is in the flow
(its actors, the outcomes it may decide and where each leads, for-each,
``optional``, ``assignee``), how it is checked (actors and targets exist, a
decision has two outcomes, for-each names a list and does not decide, PF302,
PF301, PF309, PF319, PF321), how it runs (which tasks open when a token
arrives, and where a completion goes) and how it is drawn.

Imports `ir`, `ports`, `context`, `layout`, `kinds.human`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, cast

from procflow.flow.context import USERS, Context
from procflow.flow.ir import STARTER, Edge, EdgeKind, Flow, HumanNode
from procflow.flow.kinds.human import check_human, human_fields
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.flow.ports import Canvas, Language, Move, Run
from procflow.language.diagnostics import Diagnostic
from procflow.language.expr import Expression
from procflow.language.model import DocumentDef, SignStep, TaskStep

WORDS: dict[Language, dict[str, str]] = {
    "zh": {
        "or": " 或 ",
        "does": "{who} 辦理",
        "each": "每位{who}各自辦理",
        "items": "逐項辦理：{what}",
        "optional": "（如需要）",
        "assignee": "指派：{who}",
        "not_by": "不得由「{step}」的辦理人審批",
        "not_starter": "不得由發起人審批",
        "no_wait": "不等待完成，流程繼續",
        "same_as": "由「{step}」的辦理人辦理",
        "starter": "由發起人辦理",
        "requires": "須：{rule}",
        "table": "決策表：{table}",
        "also": "或由{who}辦理",
    },
    "en": {
        "or": " or ",
        "does": "done by {who}",
        "each": "each {who} does their own",
        "items": "once for each of {what}",
        "optional": "(if needed)",
        "assignee": "assigned to {who}",
        "not_by": "not by whoever did “{step}”",
        "not_starter": "not by whoever started it",
        "no_wait": "the flow goes on without waiting",
        "same_as": "done by whoever did “{step}”",
        "starter": "done by whoever started it",
        "requires": "must: {rule}",
        "table": "decision table {table}",
        "also": "or done by {who}",
    },
}
"""The words of a task on its diagram, in each language."""


@dataclass(frozen=True)
class ForEach:
    """One task per holder of the actor's role (``member``), or per item of a list field."""

    members: bool
    document: str = ""
    field: str = ""
    users: bool = False
    """The list holds users: each task is for its listed person only."""

    @property
    def text(self) -> str:
        return "member" if self.members else f"{self.document}.{self.field}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskNode(HumanNode):
    """A task (``actor:``). ``roles`` are its actors: any one of them may do it.

    Attributes:
        decisions: The outcomes of its ``decide:``, in order (empty: no decision).
        back: The outcomes that send the flow back to this step or an earlier one.
        optional: "If needed": the actor may answer ``skip`` (not needed).
        for_each: One task per member or per list item, or None.
        assignee: An expression giving the one user who does it, or None.
        wait: For a for-each: False goes on at once, on a thread of its own for the
            tasks, which finish on their own (WCP-12).
    """

    kind: ClassVar[str] = "task"

    decisions: tuple[str, ...] = ()
    back: frozenset[str] = frozenset()
    optional: bool = False
    for_each: ForEach | None = None
    assignee: Expression | None = None
    wait: bool = True

    def out_edges(self) -> Iterator[Edge]:
        if self.skip is not None and self.skip_to is not None:
            yield Edge(self.id, self.skip_to, "skip", condition=self.skip, label=self.skip.text)
        if self.optional and self.after is not None:
            yield Edge(self.id, self.after, "optional", outcome="skip", label="not needed")
        if self.decisions:
            for outcome in self.decisions:
                if outcome in self.outcomes:
                    kind: EdgeKind = "loop" if outcome in self.back else "outcome"
                    yield Edge(
                        self.id, self.outcomes[outcome], kind, outcome=outcome, label=outcome
                    )
        elif self.after is not None:
            yield Edge(self.id, self.after, "next")

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        fe = self.for_each
        if fe is None:
            run.open_task(token, self, self.roles, assignee=self._assignee(run), enter=True)
            return None
        main = token
        if not self.wait:  # the tasks run on a thread of their own; the flow goes on
            token = run.next_number()
        if fe.members:
            opened = self._open_members(run, token)
            why = f"no one holds {', '.join(self.roles)}"
        else:
            items = run.stored(fe.document, fe.field) or []
            if fe.users:  # the listed person does it, whatever their roles
                items = list(dict.fromkeys(u for u in items if isinstance(u, str) and u))
            for i, item in enumerate(items):
                people = [item] if fe.users else []
                run.open_task(
                    token, self, self.roles, candidates=people, item=item, enter=i == 0, each=True
                )
            opened = bool(items)
            why = f"{fe.text} has no items"
        if opened:
            return self._on(main, token)
        run.emit("step_skipped", {"step": self.id, "why": why})
        return (main, self.id, self.after or "")

    def _assignee(self, run: Run) -> str | None:
        """Who a single task goes to by name (None: whoever holds the role, or nobody)."""
        if self.starter:
            return run.starter()  # None, started by the system: nobody (open_task)
        if self.same_as is not None:
            return run.familiar(self.same_as)  # None: nobody (open_task)
        if self.assignee is not None:
            value = run.evaluate(self.assignee)
            return str(value) if value else None
        return None

    def _open_members(self, run: Run, token: int) -> bool:
        """A task per member of the role, but not for those four-eyes excludes; whether
        there was anyone (when all are excluded, one task for them all says so)."""
        users = run.members(self.roles, why=f"the step '{self.id}'")
        kept = users
        if self.guarded and users:  # four-eyes: the people it excludes get no task
            excluded = run.excluded(self, token)
            kept = [u for u in users if u not in excluded]
            if not kept:  # nobody eligible: one task for them all, which says so
                run.open_task(token, self, self.roles, candidates=users, enter=True)
                return True
        for i, user in enumerate(kept):  # the member is the task's item: whose copy
            run.open_task(
                token, self, self.roles, candidates=[user], item=user, enter=i == 0, each=True,
                left_out=[u for u in users if u not in kept] if i == 0 else (),
            )  # fmt: skip
        return bool(users)

    def _on(self, main: int, token: int) -> Move | None:
        """Where the flow goes once the for-each's tasks are open: it waits for them, or
        (``wait: false``) goes on at once while they run on their own ``token``."""
        return None if main == token else (main, self.id, self.after or "")

    def completed(self, run: Run, token: int, outcome: str | None) -> Move | None:
        if self.for_each is not None and run.open_count(token):
            return None  # the other members' or items' tasks are still open
        if not self.wait:  # the last task of a for-each that did not wait: its thread ends
            run.emit("thread_ended", {"step": self.id, "token": token})
            return None
        target = self.outcomes[outcome] if outcome is not None else self.after
        return (token, self.id, target or "")

    def withdrawn(self, run: Run, token: int) -> Move | None:
        if not self.wait and not run.open_count(token):
            run.emit("thread_ended", {"step": self.id, "token": token})
            return None
        return HumanNode.withdrawn(self, run, token)

    @property
    def display_kind(self) -> str:
        return "decision" if self.decisions else "task"

    def duties(self) -> tuple[tuple[str, str], ...]:
        return tuple((a, "審批" if self.decisions else "辦理") for a in self.roles)

    def who(self, actor: Callable[[str], str], language: Language = "zh") -> str:
        return WORDS[language]["or"].join(actor(a) for a in self.roles)

    def fills_surely(self, documents: Mapping[str, DocumentDef]) -> frozenset[str]:
        if self.optional or self.for_each is not None:
            return frozenset()  # "not needed", or nobody to do it: it may complete without data
        return HumanNode.fills_surely(self, documents)

    def draw(self, canvas: Canvas) -> None:
        words = WORDS[canvas.language]
        lines: list[str] = []
        if len(self.roles) > 1:
            lines.append(words["does"].format(who=self.who(canvas.actor, canvas.language)))
        if self.for_each is not None and self.for_each.members:
            lines.append(words["each"].format(who=canvas.actor(self.roles[0])))
        elif self.for_each is not None:
            lines.append(words["items"].format(what=canvas.value(self.for_each.text)))
        if not self.wait:
            lines.append(words["no_wait"])
        if self.same_as is not None:
            lines.append(words["same_as"].format(step=canvas.step_title(self.same_as)))
        if self.optional:
            lines.append(words["optional"])
        if self.starter:
            lines.append(words["starter"])
        elif self.assignee is not None:
            lines.append(words["assignee"].format(who=canvas.value(self.assignee.text)))
        lines.extend(
            words["not_starter"]
            if s == STARTER
            else words["not_by"].format(step=canvas.step_title(s))
            for s in self.not_by
        )
        lines.extend(words["requires"].format(rule=r.message) for r in self.rules)
        lines.extend(words["table"].format(table=t.table) for t in self.tables)
        canvas.box(self, "decision" if self.decisions else "task", self.title, lines)
        for i, role in enumerate(self.roles[1:], 2):  # every role that may do it has a lane
            also = [words["also"].format(who=canvas.actor(role))]
            canvas.part(self, f"{self.id}@or.{i}", lane=role, shape="also", title=self.title,
                        lines=also, beside=True)  # fmt: skip


def _outcomes(ctx: Context, placed: Placed, step: TaskStep) -> tuple[dict[str, str], set[str]]:
    outcomes: dict[str, str] = {}
    back: set[str] = set()
    for outcome, target in (step.decide or {}).items():
        dest = ctx.way(target, placed, (*placed.path, "decide", outcome))
        if dest is None:
            continue  # PF301 or PF311, reported by the check
        outcomes[outcome] = dest
        found = ctx.layout.by_id.get(dest)
        if found is not None and found.scope == placed.scope and found.index <= placed.index:
            back.add(outcome)
    if step.optional:
        outcomes["skip"] = ctx.layout.after(placed)
    return outcomes, back


def _for_each(ctx: Context, step: TaskStep) -> ForEach | None:
    if step.for_each is None:
        return None
    if step.for_each == "member":
        return ForEach(members=True)
    doc, name = step.for_each.split(".", 1)
    listed = ctx.documents[doc].fields.get(name) if doc in ctx.documents else None
    users = listed is not None and listed.type == "list" and listed.of == "user"
    return ForEach(members=False, document=doc, field=name, users=users)


def _roles_of(ctx: Context, step_id: str, depth: int = 0) -> tuple[str, ...]:
    """The roles of the step ``same_as`` names (for diagrams and escalation)."""
    found = ctx.layout.by_id.get(step_id)
    kind = found.step.kind if found is not None else None
    if found is not None and kind == "task":
        task = cast(TaskStep, found.step)
        if task.same_as is not None and depth < len(ctx.layout.by_id):
            return _roles_of(ctx, task.same_as, depth + 1)
        return tuple(task.actor)
    if found is not None and kind == "sign":
        return tuple(cast(SignStep, found.step).sign.signers)
    return ()


def build(ctx: Context, placed: Placed, base: Base) -> TaskNode:
    step = cast(TaskStep, placed.step)  # the registry gives each kind its own steps
    outcomes, back = _outcomes(ctx, placed, step)
    assignee = None
    starter = STARTER in step.actor
    if step.assignee is not None and step.assignee.strip() == STARTER:
        starter = True
    elif step.assignee is not None:
        assignee = ctx.expression((*placed.path, "assignee"), step.assignee, expect=USERS[0])
    if starter:
        ctx.use_starter()
    roles = tuple(step.actor) if step.same_as is None else _roles_of(ctx, step.same_as)
    return TaskNode(
        **base,
        **human_fields(ctx, placed, step),
        roles=roles,
        same_as=step.same_as,
        outcomes=outcomes,
        back=frozenset(back),
        decisions=tuple(step.decide or ()),
        optional=step.optional,
        for_each=_for_each(ctx, step),
        assignee=assignee,
        starter=starter,
        wait=step.wait,
    )


def check(ctx: Context, flow: Flow, placed: Placed, node: TaskNode) -> Iterator[Diagnostic]:
    step = cast(TaskStep, placed.step)  # the registry gives each kind its own steps
    path = placed.path
    for i, role in enumerate(step.actor):
        yield from ctx.actor(role, (*path, "actor", i))
    for outcome, target in (step.decide or {}).items():
        yield from ctx.check_way(target, placed, (*path, "decide", outcome))
    if step.for_each and step.for_each != "member":
        doc, fname = step.for_each.split(".", 1)
        fpath = (*path, "for_each")
        yield from ctx.document(doc, fpath)
        yield from ctx.field(doc, fname, fpath)
        if doc in ctx.collections:
            yield ctx.one_form(doc, fpath, "for_each needs one list to go through")
        d = ctx.documents.get(doc)
        fd = d.fields.get(fname) if d is not None else None
        if fd is not None and fd.type != "list":
            yield ctx.diag(
                fpath,
                "PF319",
                f"'{step.for_each}' is a {fd.type} field, not a list",
                "for_each takes 'member' or a list field",
            )
    if step.decide is not None and len(step.decide) < 2:
        yield ctx.diag(
            (*path, "decide"),
            "PF309",
            "a decision needs at least two outcomes",
            "add the other outcome, or remove 'decide:' for a plain task",
        )
    if step.for_each and step.decide:
        yield ctx.diag(
            (*path, "for_each"),
            "PF321",
            "a for-each step cannot also decide",
            "put the decision in a step after it",
        )
    yield from check_human(ctx, flow, placed, node, step)


KIND = StepKind("task", build, check)
