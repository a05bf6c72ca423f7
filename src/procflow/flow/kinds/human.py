"""What tasks and sign-offs share: documents, four-eyes, deadlines, rules and tables.

Not a kind of its own: `task` and `sign` build the common part of their
`HumanNode` here (`human_fields`) and run its checks (`check_human`):
the documents and fields a step fills or reads exist (PF303, PF304),
four-eyes names an earlier human step on the way (PF318), the deadline
parses (PF410), counts from a step that exists (PF301), escalates to an
actor (PF302) and expires into an outcome of the step (PF411). The
``apply:`` tables are planned by `procflow.flow.tables`.

Imports `context`, `layout`, `ir`, `tables` and the language layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from procflow.flow.context import DATES, Context
from procflow.flow.ir import STARTER, DeadlinePlan, Escalation, Expiry, Flow, HumanNode, Rule
from procflow.flow.layout import Placed
from procflow.flow.tables import plan_tables
from procflow.language import deadlines
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.model import HumanStep
from procflow.language.source import Path_, pointer


def human_fields(ctx: Context, placed: Placed, step: HumanStep) -> dict[str, Any]:
    """The keyword arguments of `HumanNode` that every human step has."""
    path = placed.path
    fills = {
        doc: tuple(fields) or tuple(ctx.documents[doc].fields if doc in ctx.documents else ())
        for doc, fields in step.fills.items()
    }
    copies = {
        doc: ctx.collections[doc].per == "submission"
        for doc in step.fills
        if doc in ctx.collections
    }
    with ctx.this_copy(copies):  # the rules and tables read the copy being filled
        rules = tuple(
            Rule(ctx.condition((*path, "requires", i, "that"), r.that), r.message)
            for i, r in enumerate(step.requires)
        )
        tables = plan_tables(ctx, placed, step)
    return {
        "fills": fills,
        "fills_written": {doc: tuple(fields) for doc, fields in step.fills.items()},
        "reads": tuple(step.reads),
        "not_by": tuple(step.not_by),
        "rules": rules,
        "deadline": _deadline(ctx, placed, step),
        "tables": tables,
        "remember": placed.id in ctx.remembered,
        "cancels": tuple(step.cancels),
        "withdraw_by": tuple(step.withdraw_by),
        "copies": copies,
    }


def _offset(ctx: Context, text: str, path: Path_, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(text)
    except deadlines.DeadlineSyntaxError as exc:
        line, col = ctx.doc.positions.in_scalar(path, exc.start or 0, text)
        ctx.problems.append(
            Diagnostic(
                ctx.doc.file,
                line,
                col,
                "PF410",
                exc.message,
                exc.hint,
                pointer=pointer(path),
            )
        )
        return None


def _deadline(ctx: Context, placed: Placed, step: HumanStep) -> DeadlinePlan | None:
    dl = step.deadline
    if dl is None:
        return None
    base = (*placed.path, "deadline")
    due = None if dl.due is None else _offset(ctx, dl.due, (*base, "due"), deadlines.parse_deadline)
    due_on = None
    if dl.due_on is not None:
        due_on = ctx.typed((*base, "due_on"), dl.due_on, DATES)
    reminders = tuple(
        _offset(ctx, r, (*base, "remind", i), deadlines.parse_offset)
        for i, r in enumerate(dl.remind)
    )
    escalate = expire = None
    if dl.escalate is not None:
        after = _offset(ctx, dl.escalate.after, (*base, "escalate"), deadlines.parse_offset)
        escalate = Escalation(after, dl.escalate.after, dl.escalate.to, dl.escalate.mode)
    if dl.expire is not None:
        after = _offset(ctx, dl.expire.after, (*base, "expire"), deadlines.parse_offset)
        expire = Expiry(after, dl.expire.after, dl.expire.outcome)
    return DeadlinePlan(
        due=due,
        due_text=dl.due if dl.due is not None else (dl.due_on or ""),
        count_from=dl.from_,
        postpone=dl.holidays == "postpone",
        reminders=reminders,
        reminder_texts=tuple(dl.remind),
        escalate=escalate,
        expire=expire,
        due_on=due_on,
    )


def check_human(
    ctx: Context, flow: Flow, placed: Placed, node: HumanNode, step: HumanStep
) -> Iterator[Diagnostic]:
    """The checks every human step gets (see the module docstring)."""
    path = placed.path
    for doc, fields in step.fills.items():
        yield from ctx.document(doc, (*path, "fills", doc) if fields else (*path, "fills"))
        for i, f in enumerate(fields):
            yield from ctx.field(doc, f, (*path, "fills", doc, i))
    for i, doc in enumerate(step.reads):
        yield from ctx.document(doc, (*path, "reads", i))
    yield from _four_eyes(ctx, flow, placed, node)
    yield from _nobody_left(ctx, flow, placed, node)
    yield from _cancels(ctx, flow, placed, node)
    for i, role in enumerate(node.withdraw_by):
        yield from ctx.actor(role, (*placed.path, "withdraw_by", i))
    yield from _deadline_names(ctx, placed, node, step)


def held_by(ctx: Context, roles: Iterable[str]) -> set[str] | None:
    """The people holding any of ``roles`` by the organisation's ``members:``; None when
    a role does not say (then nothing is known)."""
    out: set[str] = set()
    for role in roles:
        actor = ctx.actors.get(role)
        if actor is None or not actor.members:
            return None
        out.update(actor.members)
    return out


def _doers(ctx: Context, flow: Flow, node: Any) -> set[str] | None:
    """Who may do a human step, by the members of its roles (None when not known: data
    names the person, or a role does not list its members)."""
    if not isinstance(node, HumanNode) or node.starter or getattr(node, "assignee", None):
        return None
    each = getattr(node, "for_each", None)
    if each is not None and not each.members:
        return None
    return held_by(ctx, node.roles)


def _nobody_left(ctx: Context, flow: Flow, placed: Placed, node: HumanNode) -> Iterator[Diagnostic]:
    """PF327: by the members the organisation gives, the only people who may do this
    step may have done a step its four-eyes rule names."""
    mine = _doers(ctx, flow, node)
    if not mine:
        return
    for i, other in enumerate(node.not_by):
        found = flow.nodes.get(other)
        if other == STARTER:
            theirs = held_by(ctx, ctx.process.starts_by) if ctx.process.starts_by else None
        else:
            theirs = _doers(ctx, flow, found) if found is not None else None
        for person in sorted(theirs or ()):
            if mine <= {person}:
                did = "starts the instance" if other == STARTER else f"does '{other}'"
                yield ctx.diag(
                    (*placed.path, "not_by", i),
                    "PF327",
                    f"if {person} {did}, nobody may do '{node.id}': "
                    f"{' or '.join(node.roles)} is held by {person} only",
                    "add a holder of the role in the organisation file, or give the step "
                    "an escalation (deadline: escalate:)",
                    warning=True,
                )
                break


def _cancels(ctx: Context, flow: Flow, placed: Placed, node: HumanNode) -> Iterator[Diagnostic]:
    """``cancels`` names other tasks or sign-offs (PF301, PF321)."""
    for i, other in enumerate(node.cancels):
        where = (*placed.path, "cancels", i)
        found = flow.nodes.get(other)
        if other not in ctx.layout.by_id:
            hint = did_you_mean(other, ctx.layout.by_id) or "name a task or sign-off"
            yield ctx.diag(where, "PF301", f"the step '{other}' is not defined", hint)
        elif found is None or not found.human or other == node.id:
            yield ctx.diag(
                where,
                "PF321",
                f"'{other}' is not another task or sign-off: only their tasks can be withdrawn",
                "name a task or sign-off of this process",
            )


def _four_eyes(ctx: Context, flow: Flow, placed: Placed, node: HumanNode) -> Iterator[Diagnostic]:
    rules = [("not_by", i, other) for i, other in enumerate(node.not_by)]
    if node.same_as is not None:
        rules.append(("actor", -1, node.same_as))
    for key, i, other in rules:
        if other == STARTER:
            continue  # the person who started the instance
        where = (*placed.path, key, i) if i >= 0 else (*placed.path, key)
        found = flow.nodes.get(other) if other in ctx.layout.by_id else None
        if other not in ctx.layout.by_id:
            hint = did_you_mean(other, ctx.layout.by_id)
            yield ctx.diag(where, "PF318", f"the step '{other}' is not defined", hint)
        elif found is None or not found.human or other == node.id:
            yield ctx.diag(
                where,
                "PF318",
                f"'{other}' is not an earlier human step",
                "name a task or sign-off that runs before this one",
            )
        elif node.id not in flow.reach((other,)):
            yield ctx.diag(
                where,
                "PF318",
                f"the step '{other}' never runs before this one",
                "name a step on the way to this one",
            )


def _deadline_names(
    ctx: Context, placed: Placed, node: HumanNode, step: HumanStep
) -> Iterator[Diagnostic]:
    dl = step.deadline
    if dl is None:
        return
    base = (*placed.path, "deadline")
    if dl.from_ not in ("open", "start") and dl.from_ not in ctx.layout.by_id:
        yield ctx.diag(
            (*base, "from"),
            "PF301",
            f"the step '{dl.from_}' is not defined",
            did_you_mean(dl.from_, ctx.layout.by_id) or "use open, start or a step id",
        )
    if dl.escalate is not None:
        yield from ctx.actor(dl.escalate.to, (*base, "escalate"))
    if dl.expire is not None:
        allowed = list(node.outcome_names)
        if dl.expire.outcome not in allowed:
            hint = did_you_mean(dl.expire.outcome, allowed) or (
                f"this step's outcomes are: {', '.join(sorted(allowed))}"
                if allowed
                else "give the step 'decide:' outcomes to expire into"
            )
            yield ctx.diag(
                (*base, "expire"),
                "PF411",
                f"the deadline expires into '{dl.expire.outcome}', "
                "which is not an outcome of this step",
                hint,
            )
