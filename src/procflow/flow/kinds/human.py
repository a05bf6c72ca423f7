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

from collections.abc import Callable, Iterator
from typing import Any

from procflow.flow.context import DATES, Context
from procflow.flow.ir import DeadlinePlan, Escalation, Expiry, Flow, HumanNode, Rule
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
    yield from _deadline_names(ctx, placed, node, step)


def _four_eyes(ctx: Context, flow: Flow, placed: Placed, node: HumanNode) -> Iterator[Diagnostic]:
    for i, other in enumerate(node.not_by):
        where = (*placed.path, "not_by", i)
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
