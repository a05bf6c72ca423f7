"""Human work: opening tasks, completing them, and their deadlines.

Owns what happens at task and sign-off nodes: one task per actor, signer,
directory member or list item; due times and timers from the step's deadline
(through the engine's calendar); what a completion means for its step (a
sign-off counts signatures, withdraws the rest, or follows a rejection; a
for-each waits for its last task); deadline timers firing; decision tables
filling fields. Like the rest of the interpreter it only emits events into a
`Run`; the engine has checked the command before any of this runs.

Imports `program`, `values`, `clock`, `deadlines`, `workcalendar`, `errors`; the `Run` it works on
comes from `interpreter`, which imports this module.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from procflow import deadlines
from procflow.decisions.process import step_decisions
from procflow.errors import EvaluationError, ExecutionError
from procflow.expr import Expression
from procflow.runtime.clock import iso, parse_iso, stamp
from procflow.runtime.program import DeadlinePlan, Node
from procflow.runtime.values import Values
from procflow.workcalendar import next_working_day, postpone

if TYPE_CHECKING:
    from procflow.runtime.interpreter import Run

__all__ = ["complete_task", "fire_timer", "open_step", "open_task", "withdraw"]

_NO_ITEM: Any = object()


def open_step(run: Run, token: int, node: Node) -> str | None:
    """Open the tasks of a human step; the node to go on to when there is nothing to do."""
    if node.kind == "sign":
        signers = node.roles[:1] if node.rule == "in_turn" else node.roles
        for i, role in enumerate(signers):
            open_task(run, token, node, [role], enter=i == 0)
        return None
    if node.for_each is not None:
        if not isinstance(node.for_each, tuple):
            users = run.cmd.host.members(node.roles, why=f"the step '{node.id}'")
            for i, user in enumerate(users):
                open_task(run, token, node, list(node.roles), cand=[user], enter=i == 0)
            if users:
                return None
            why = f"no one holds {', '.join(node.roles)}"
        else:
            doc, field = node.for_each
            items = (run.state["docs"].get(doc) or {}).get(field) or []
            if node.for_each_users:  # the listed person does it, whatever their roles
                items = list(dict.fromkeys(u for u in items if isinstance(u, str) and u))
            for i, item in enumerate(items):
                cand = [item] if node.for_each_users else None
                open_task(run, token, node, list(node.roles), cand=cand, item=item, enter=i == 0)
            if items:
                return None
            why = f"{doc}.{field} has no items"
        run.emit("step_skipped", {"step": node.id, "why": why})
        return node.after
    assignee = None
    if node.assignee is not None:
        value = run.evaluate(node.assignee)
        assignee = str(value) if value else None
    open_task(run, token, node, list(node.roles), asg=assignee, enter=True)
    return None


def open_task(
    run: Run,
    token: int,
    node: Node,
    roles: list[str],
    *,
    cand: list[str] | None = None,
    asg: str | None = None,
    item: Any = _NO_ITEM,
    enter: bool,
) -> None:
    """Open one task; ``enter`` marks the first task of the token's arrival at the step."""
    number = run.next_number()
    data: dict[str, Any] = {"task": number, "step": node.id, "token": token, "roles": roles}
    if cand:
        data["cand"] = cand
    if asg:
        data["asg"] = asg
    if item is not _NO_ITEM:
        data["item"] = item
    if node.deadline is not None:
        data["due"], data["timers"] = deadline_times(run, node.deadline)
    if enter:
        data["enter"] = True
    run.emit("task_opened", data)
    if run.cmd.host.track_notices:
        run.cmd.notices.append(("opened", run, str(number)))


def _due_on(run: Run, plan: DeadlinePlan, due_on: Expression) -> datetime:
    """The due moment of a ``due_on`` deadline: the end of the date, or the date-time.

    Raises:
        EvaluationError: the expression meets a missing value (nothing changes).
    """
    now = run.cmd.now
    value = run.evaluate(due_on)
    calendar = run.cmd.host.calendar
    if isinstance(value, datetime):
        if value.tzinfo is None and now.tzinfo is not None:  # stored in another kind
            value = value.replace(tzinfo=now.tzinfo)
        elif value.tzinfo is not None and now.tzinfo is None:
            value = value.astimezone().replace(tzinfo=None)
        return postpone(calendar, value) if plan.postpone else value
    if not isinstance(value, date):
        raise EvaluationError(f"'{due_on.text}' is not a date: {value!r}")
    day = next_working_day(calendar, value) if plan.postpone else value
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=now.tzinfo)


def deadline_times(run: Run, plan: DeadlinePlan) -> tuple[str, dict[str, str]]:
    """The due moment (`iso`) and the timers (`stamp`) of a task opened now."""
    calendar = run.cmd.host.calendar
    start = run.cmd.now
    if plan.count_from == "start":
        start = parse_iso(run.state["started"])
    elif plan.count_from != "open":
        done = run.state["done"].get(plan.count_from)
        if done is not None:
            start = parse_iso(done["at"])
    if plan.due_on is not None:
        due = _due_on(run, plan, plan.due_on)
    elif plan.due is not None:
        due = deadlines.due_at(
            plan.due, start=start, calendar=calendar, postpone_past_holidays=plan.postpone
        )
    else:  # pragma: no cover - the model asks for one of them
        raise ExecutionError("a deadline without 'due' or 'due_on'")
    timers = {"due": stamp(due)}
    for i, offset in enumerate(plan.reminders):
        timers[f"r{i}"] = stamp(deadlines.apply_offset(due, offset, calendar))
    if plan.escalate is not None:
        timers["esc"] = stamp(deadlines.apply_offset(due, plan.escalate[0], calendar))
    if plan.expire is not None:
        timers["exp"] = stamp(deadlines.apply_offset(due, plan.expire[0], calendar))
    return iso(due), timers


def complete_task(
    run: Run,
    number: str,
    record: dict[str, Any],
    outcome: str | None,
    data: dict[str, dict[str, Any]] | None,
    *,
    timer: str | None = None,
) -> None:
    """Record a completed task and move on; the engine has checked everything."""
    node = run.program.nodes[record["step"]]
    payload: dict[str, Any] = {"task": int(number)}
    if outcome is not None:
        payload["outcome"] = outcome
    if data:
        payload["data"] = data
    if timer is not None:
        payload["timer"] = timer
    if node.keep:
        payload["keep"] = True
    run.emit("task_completed", payload, system=timer is not None)
    if outcome != "skip" and node.applies:
        apply_tables(run, node)
    token = record["token"]
    if node.kind == "sign":
        if outcome == "reject":
            withdraw(run, token, "rejected")
            run.enter(token, node.outcomes["reject"], node.id)
            return
        signed = run.state["tokens"][str(token)]["n"]
        if node.rule == "in_turn" and signed < len(node.roles):
            open_task(run, token, node, [node.roles[signed]], enter=False)
            return
        if signed < node.needed:
            return
        withdraw(run, token, "signed")
        run.enter(token, node.after or "", node.id)
        return
    if node.for_each is not None and any(t["token"] == token for t in run.state["tasks"].values()):
        return
    target = node.outcomes[outcome] if outcome is not None else node.after
    run.enter(token, target or "", node.id)


def withdraw(run: Run, token: int, why: str) -> None:
    """Withdraw the open tasks of ``token`` (the step is decided without them)."""
    for number, record in list(run.state["tasks"].items()):
        if record["token"] == token:
            run.emit("task_withdrawn", {"task": int(number), "why": why})


def fire_timer(run: Run, number: str, record: dict[str, Any], timer: str) -> None:
    """A deadline timer of an open task is due (the engine checked it still is)."""
    node = run.program.nodes[record["step"]]
    plan = node.deadline
    notice = ("deadline", run, number, record)
    task = int(number)
    if timer == "due":
        run.emit("overdue", {"task": task, "timer": timer}, system=True)
        kind = "due"
    elif timer == "esc" and plan is not None and plan.escalate is not None:
        _, to, mode = plan.escalate
        data: dict[str, Any] = {"task": task, "timer": timer, "to": to, "mode": mode}
        if mode == "offer" and (record.get("cand") or record.get("asg")):
            # a task limited to some users is offered to the role's members by name
            # without a directory only the role is added, as for any other task
            with suppress(ExecutionError):
                data["cand"] = run.cmd.host.members([to], why=f"escalating '{node.id}'")
        run.emit("escalated", data, system=True)
        kind = "escalate"
    elif timer == "exp" and plan is not None and plan.expire is not None:
        complete_task(run, number, record, plan.expire[1], None, timer=timer)
        kind = "expire"
    else:
        run.emit("reminded", {"task": task, "timer": timer}, system=True)
        kind = "remind"
    if run.cmd.host.track_notices:
        run.cmd.notices.append((*notice, kind))


def apply_tables(run: Run, node: Node) -> None:
    """Fill fields from the step's decision tables (`procflow.decisions.process`), in order."""
    program = run.program
    values = Values(run.state["docs"], program.codecs)
    for applied in step_decisions(program.process, node.id, values, now=run.cmd.now):
        docs: dict[str, dict[str, Any]] = {}
        problems: dict[str, str] = {}
        for doc, fields in applied.updates.items():
            for field, value in fields.items():
                codec = program.codecs[doc][field]
                docs.setdefault(doc, {})[field] = codec.encode(value, f"{doc}.{field}", problems)
        if problems:
            raise EvaluationError(f"{applied.table}: {'; '.join(problems.values())}")
        run.emit("decided", {"step": node.id, "table": applied.table, "docs": docs})
