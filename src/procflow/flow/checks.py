"""Semantic checks of one process: references, structure, expressions, deadlines.

Owns every PF3xx/PF4xx check that looks at a single process (cross-process
checks live in `catalog`). Each check is a small generator over a `Context`
yielding `Diagnostic` values; `check_process` runs them all, so an analyst
sees every problem at once. Expressions are compiled here, once, and stored
on the graph's edges and in ``Context.expressions`` for the runtime.

Imports `model`, `flow.build`, `expr`, `deadlines`, `decisions`, `language.schedules`, `flow.held`,
`source`, `diagnostics`;
never `runtime` or `cli`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import networkx as nx

from procflow.flow.build import END, START, Placed, join_node
from procflow.flow.context import Context, _pointer, environment, field_type
from procflow.flow.held import carry_path, check_carried
from procflow.flow.tables import check_apply
from procflow.language import deadlines, expr
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.model import (
    BranchStep,
    CallStep,
    EndStep,
    FieldDef,
    HandoffStep,
    HumanStep,
    NotifyStep,
    ParallelStep,
    SignStep,
    TaskStep,
)
from procflow.language.schedules import ScheduleError, read_schedule
from procflow.language.source import Path_

Check = Callable[[Context], Iterable[Diagnostic]]


def check_duplicates(ctx: Context) -> Iterator[Diagnostic]:
    for p in ctx.layout.duplicates:
        first = ctx.layout.by_id[p.id]
        line, _ = ctx.doc.positions.value(first.path)
        yield ctx.diag(
            (*p.path, "id"),
            "PF305",
            f"two steps have the id '{p.id}'",
            f"the first is on line {line}; rename one",
        )


def _actor(ctx: Context, name: str, path: Path_) -> Iterator[Diagnostic]:
    ctx.used_actors.add(name)
    if name not in ctx.actors:
        hint = (
            did_you_mean(name, ctx.actors) or "add it under 'actors:' or to the organisation file"
        )
        yield ctx.diag(path, "PF302", f"the actor '{name}' is not defined", hint)


def _document(ctx: Context, name: str, path: Path_) -> Iterator[Diagnostic]:
    ctx.used_documents.add(name)
    if name not in ctx.documents:
        hint = did_you_mean(name, ctx.documents) or "add it under 'documents:'"
        yield ctx.diag(path, "PF303", f"the document '{name}' is not defined", hint)


def _field(ctx: Context, doc: str, name: str, path: Path_) -> Iterator[Diagnostic]:
    d = ctx.documents.get(doc)
    if d is not None and name not in d.fields:
        hint = (
            did_you_mean(name, d.fields)
            or f"the fields of '{doc}' are: {', '.join(d.fields) or 'none'}"
        )
        yield ctx.diag(path, "PF304", f"the document '{doc}' has no field '{name}'", hint)


def _target(ctx: Context, target: str, at: Placed, path: Path_) -> Iterator[Diagnostic]:
    if target == "next" or ctx.layout.resolve(target, at) is not None:
        return
    found = ctx.layout.by_id.get(target)
    if found is not None:
        if any(s[0] == at.id for s in found.scope) or at.scope[: len(found.scope)] != found.scope:
            yield ctx.diag(
                path,
                "PF311",
                f"'{target}' is inside a parallel branch that this step is not in",
                "a step can only go to steps of its own branch (or 'next')",
            )
        else:
            yield ctx.diag(
                path,
                "PF311",
                f"going to '{target}' leaves the parallel branch, so it never joins",
                "finish the branch and put the step after the parallel step",
            )
        return
    hint = did_you_mean(target, [*ctx.layout.ids_in_scope(at.scope), "next"])
    yield ctx.diag(
        path,
        "PF301",
        f"the step '{target}' is not defined",
        hint or "use a step id of this process or 'next'",
    )


def check_references(ctx: Context) -> Iterator[Diagnostic]:
    """Actors, documents, fields and targets named by steps exist."""
    for role in ctx.process.starts_by:
        yield from _actor(ctx, role, ("starts_by",))
    for p in ctx.layout.placed:
        s, path = p.step, p.path
        if s.next is not None:
            yield from _target(ctx, s.next, p, (*path, "next"))
        if isinstance(s, HumanStep):
            for doc, fields in s.fills.items():
                yield from _document(
                    ctx, doc, (*path, "fills", doc) if fields else (*path, "fills")
                )
                for i, f in enumerate(fields):
                    yield from _field(ctx, doc, f, (*path, "fills", doc, i))
            for i, doc in enumerate(s.reads):
                yield from _document(ctx, doc, (*path, "reads", i))
        if isinstance(s, TaskStep):
            for i, role in enumerate(s.actor):
                yield from _actor(ctx, role, (*path, "actor", i))
            for outcome, target in (s.decide or {}).items():
                yield from _target(ctx, target, p, (*path, "decide", outcome))
            if s.for_each and s.for_each != "member":
                doc, fname = s.for_each.split(".", 1)
                fpath = (*path, "for_each")
                yield from _document(ctx, doc, fpath)
                yield from _field(ctx, doc, fname, fpath)
                fdef = ctx.documents.get(doc, None)
                fd = fdef.fields.get(fname) if fdef else None
                if fd is not None and fd.type != "list":
                    yield ctx.diag(
                        fpath,
                        "PF319",
                        f"'{s.for_each}' is a {fd.type} field, not a list",
                        "for_each takes 'member' or a list field",
                    )
        elif isinstance(s, SignStep):
            for i, role in enumerate(s.sign.signers):
                yield from _actor(ctx, role, (*path, "sign", s.sign.rule, i))
            if s.reject is not None:
                yield from _target(ctx, s.reject, p, (*path, "reject"))
        elif isinstance(s, BranchStep):
            for i, arm in enumerate(s.branch):
                if arm.goto is not None:
                    yield from _target(ctx, arm.goto, p, (*path, "branch", i, "goto"))
                if arm.otherwise is not None:
                    yield from _target(ctx, arm.otherwise, p, (*path, "branch", i, "otherwise"))
        elif isinstance(s, NotifyStep):
            for i, role in enumerate(s.notify):
                yield from _actor(ctx, role, (*path, "notify", i))
            for i, doc in enumerate(s.reads):
                yield from _document(ctx, doc, (*path, "reads", i))
        elif isinstance(s, CallStep | HandoffStep):
            for theirs, carried in s.carry.items():
                yield from _document(ctx, carried.from_, carry_path(ctx.doc, path, theirs))
            if isinstance(s, CallStep):
                for ours in s.returns:
                    yield from _document(ctx, ours, (*path, "returns"))


def check_structure(ctx: Context) -> Iterator[Diagnostic]:
    """Per-step rules: decisions, sign-offs, branches, for-each, four-eyes."""
    for p in ctx.layout.placed:
        s, path = p.step, p.path
        if isinstance(s, TaskStep):
            if s.decide is not None and len(s.decide) < 2:
                yield ctx.diag(
                    (*path, "decide"),
                    "PF309",
                    "a decision needs at least two outcomes",
                    "add the other outcome, or remove 'decide:' for a plain task",
                )
            if s.for_each and s.decide:
                yield ctx.diag(
                    (*path, "for_each"),
                    "PF321",
                    "a for-each step cannot also decide",
                    "put the decision in a step after it",
                )
        if (
            isinstance(s, SignStep)
            and s.sign.rule == "n_of"
            and (s.sign.n or 0) > len(s.sign.signers)
        ):
            yield ctx.diag(
                (*path, "sign", "n"),
                "PF310",
                f"the sign-off asks for {s.sign.n} signatures "
                f"but names {len(s.sign.signers)} signers",
                f"make n at most {len(s.sign.signers)}, or name more signers",
            )
        if isinstance(s, BranchStep):
            arms = s.branch
            others = [i for i, a in enumerate(arms) if a.otherwise is not None]
            if not others:
                yield ctx.diag(
                    (*path, "branch"),
                    "PF317",
                    "this branch has no 'otherwise'",
                    "add '- otherwise: next', or another step id, as the last arm",
                )
            elif others != [len(arms) - 1]:
                yield ctx.diag(
                    (*path, "branch", others[0]),
                    "PF317",
                    "'otherwise' must be the last arm, and only once",
                    "move it to the end",
                )
        if isinstance(s, EndStep) and p.scope:
            yield ctx.diag(
                (*path, "end"),
                "PF311",
                "an end inside a parallel branch: the branch never joins",
                "end the process after the parallel step instead",
            )
        if isinstance(s, EndStep) and s.when is not None:
            yield ctx.diag(
                (*path, "when"),
                "PF321",
                "an end step cannot have a skip rule",
                "put a branch before it",
            )
        if isinstance(s, HumanStep):
            yield from _four_eyes(ctx, p)


def _four_eyes(ctx: Context, p: Placed) -> Iterator[Diagnostic]:
    s = p.step
    if not isinstance(s, HumanStep):
        return
    for i, other in enumerate(s.not_by):
        where = (*p.path, "not_by", i)
        found = ctx.layout.by_id.get(other)
        if found is None:
            hint = did_you_mean(other, ctx.layout.by_id)
            yield ctx.diag(where, "PF318", f"the step '{other}' is not defined", hint)
        elif not isinstance(found.step, HumanStep) or found.id == p.id:
            yield ctx.diag(
                where,
                "PF318",
                f"'{other}' is not an earlier human step",
                "name a task or sign-off that runs before this one",
            )
        elif (
            found.id in ctx.graph
            and p.id in ctx.graph
            and not nx.has_path(ctx.graph, found.id, p.id)
        ):
            yield ctx.diag(
                where,
                "PF318",
                f"the step '{other}' never runs before this one",
                "name a step on the way to this one",
            )


def check_expressions(ctx: Context) -> Iterator[Diagnostic]:
    """Every condition parses and type-checks against the documents."""
    for p in ctx.layout.placed:
        s, path = p.step, p.path
        if s.when is not None:
            yield from ctx.compile_expr((*path, "when"), s.when)
        if isinstance(s, BranchStep):
            for i, arm in enumerate(s.branch):
                if arm.if_ is not None:
                    yield from ctx.compile_expr((*path, "branch", i, "if"), arm.if_)
        if isinstance(s, ParallelStep):
            for b, branch in enumerate(s.parallel):
                if branch.when is not None:
                    yield from ctx.compile_expr((*path, "parallel", b, "when"), branch.when)
        if isinstance(s, HumanStep):
            for i, req in enumerate(s.requires):
                yield from ctx.compile_expr((*path, "requires", i, "that"), req.that)
        if isinstance(s, TaskStep) and s.assignee is not None:
            yield from ctx.compile_expr((*path, "assignee"), s.assignee, expect=expr.TEXT)
        if isinstance(s, NotifyStep) and s.notify_users is not None:
            yield from _typed(ctx, (*path, "notify_users"), s.notify_users, _USERS)
        if isinstance(s, HumanStep) and s.deadline is not None and s.deadline.due_on is not None:
            yield from _typed(ctx, (*path, "deadline", "due_on"), s.deadline.due_on, _DATES)
    # attach compiled conditions to the graph for the runtime
    for u, _, data in ctx.graph.edges(data=True):
        if "expr" in data:
            node = ctx.graph.nodes[u]
            base = node["path"]
            if data["kind"] == "skip":
                data["compiled"] = ctx.expressions.get((*base, "when"))
            elif data["kind"] == "condition":
                data["compiled"] = ctx.expressions.get((*base, "branch", data["order"], "if"))
            elif data["kind"] == "fork":
                data["compiled"] = ctx.expressions.get((*base, "parallel", data["order"], "when"))


_USERS = (expr.TEXT, expr.ListType(expr.TEXT))
"""What ``notify_users`` may give: a user, or a list of users."""
_DATES = (expr.DATE, expr.DATETIME)
"""What ``due_on`` may give: a date (due at its end) or a date and time."""
_FIELD_PATH = re.compile(r"\s*([A-Za-z]\w*)\.([A-Za-z]\w*)\s*")


def _typed(
    ctx: Context, path: Path_, text: str, allowed: tuple[expr.Type, ...]
) -> Iterator[Diagnostic]:
    """Compile an expression whose value must be one of ``allowed`` (users, or dates)."""
    problems = list(ctx.compile_expr(path, text, expect=None))
    yield from problems
    compiled = ctx.expressions.get(path)
    if problems or compiled is None:
        return
    want = "a user or a list of users" if allowed is _USERS else "a date or a date and time"
    if compiled.type not in allowed:
        message = f"'{text}' gives {compiled.type}, not {want}"
        yield ctx.diag(path, "PF403", message, "name a field of that type")
        return
    m = _FIELD_PATH.fullmatch(text)
    d = ctx.documents.get(m[1]) if m and allowed is _USERS else None
    f = d.fields.get(m[2]) if d is not None and m else None
    if f is not None and f.type != "user" and not (f.type == "list" and f.of == "user"):
        yield ctx.diag(
            path,
            "PF403",
            f"'{text.strip()}' is a {f.type} field, not a user",
            "give the field type: user (or a list of: user)",
        )


def _offset(
    ctx: Context, text: str, path: Path_, parse: Callable[[str], Any]
) -> Iterator[Diagnostic]:
    try:
        parse(text)
    except deadlines.DeadlineSyntaxError as exc:
        line, col = ctx.doc.positions.in_scalar(path, exc.start or 0, text)
        yield Diagnostic(
            ctx.doc.file, line, col, "PF410", exc.message, exc.hint, pointer=_pointer(path)
        )


def check_deadlines(ctx: Context) -> Iterator[Diagnostic]:
    """Deadlines parse; escalations and expiries fit the step."""
    for p in ctx.layout.placed:
        s = p.step
        if not isinstance(s, HumanStep) or s.deadline is None:
            continue
        dl, base = s.deadline, (*p.path, "deadline")
        if dl.due is not None:
            yield from _offset(ctx, dl.due, (*base, "due"), deadlines.parse_deadline)
        for i, r in enumerate(dl.remind):
            yield from _offset(
                ctx,
                r,
                (*base, "remind", i),
                deadlines.parse_offset,
            )
        if dl.from_ not in ("open", "start"):
            found = ctx.layout.by_id.get(dl.from_)
            if found is None:
                yield ctx.diag(
                    (*base, "from"),
                    "PF301",
                    f"the step '{dl.from_}' is not defined",
                    did_you_mean(dl.from_, ctx.layout.by_id) or "use open, start or a step id",
                )
        if dl.escalate is not None:
            epath = (*base, "escalate")
            yield from _actor(ctx, dl.escalate.to, epath)
            yield from _offset(ctx, dl.escalate.after, epath, deadlines.parse_offset)
        if dl.expire is not None:
            xpath = (*base, "expire")
            yield from _offset(ctx, dl.expire.after, xpath, deadlines.parse_offset)
            allowed = outcomes_of(s)
            if dl.expire.outcome not in allowed:
                hint = did_you_mean(dl.expire.outcome, allowed) or (
                    f"this step's outcomes are: {', '.join(sorted(allowed))}"
                    if allowed
                    else "give the step 'decide:' outcomes to expire into"
                )
                yield ctx.diag(
                    xpath,
                    "PF411",
                    f"the deadline expires into '{dl.expire.outcome}', "
                    "which is not an outcome of this step",
                    hint,
                )


def outcomes_of(step: Any) -> list[str]:
    """The outcomes a person can choose at a human step."""
    out: list[str] = []
    if isinstance(step, TaskStep):
        out = list(step.decide or {})
        if step.optional:
            out.append("skip")
    elif isinstance(step, SignStep):
        out = ["sign", "reject"] if step.reject is not None else ["sign"]
    return out


def _fits(f: FieldDef, value: Any) -> str:
    """Why ``value`` cannot be the default of ``f`` ("" when it fits)."""
    if f.type in ("number", "money", "percent"):
        return (
            "" if isinstance(value, int | Decimal) and not isinstance(value, bool) else "a number"
        )
    if f.type == "yesno":
        return "" if isinstance(value, bool) else "true or false"
    if f.type == "choice":
        return "" if value in (f.of or []) else f"one of {', '.join(map(str, f.of or []))}"
    if f.type == "list":
        return "" if isinstance(value, list) else "a list"
    return "" if isinstance(value, str) else "text"


def check_documents(ctx: Context) -> Iterator[Diagnostic]:
    """Names can be used in conditions; field defaults fit their types."""
    for dname, d in ctx.process.documents.items():
        if dname in expr.RESERVED_WORDS:
            yield ctx.diag(
                ("documents", dname),
                "PF207",
                f"'{dname}' is a reserved word of the condition language",
                "rename the document",
                at_key=True,
            )
        for fname, f in d.fields.items():
            if fname in expr.RESERVED_WORDS:
                yield ctx.diag(
                    ("documents", dname, "fields", fname),
                    "PF207",
                    f"'{fname}' is a reserved word of the condition language",
                    "rename the field",
                    at_key=True,
                )
            if f.default is not None:
                want = _fits(f, f.default)
                if want:
                    yield ctx.diag(
                        ("documents", dname, "fields", fname, "default"),
                        "PF323",
                        f"the default of '{dname}.{fname}' does not fit a {f.type} field",
                        f"write {want}",
                    )


def check_graph(ctx: Context) -> Iterator[Diagnostic]:
    """Reachability, dead ends and loops with no way out."""
    if ctx.layout.duplicates:
        return  # the graph of a process with duplicate ids is not meaningful; PF305 says why
    g = ctx.graph
    reachable = nx.descendants(g, START) | {START}
    ends = [n for n in g.nodes if g.nodes[n]["kind"] == "end"]
    can_end: set[str] = set(ends)
    for e in ends:
        can_end |= nx.ancestors(g, e)
    trapped: set[str] = set()
    for comp in nx.strongly_connected_components(g):
        if len(comp) == 1:
            (n,) = comp
            if not g.has_edge(n, n):
                continue
        exits = any(v not in comp for u in comp for v in g.successors(u))
        if not exits and not (comp & set(ends)):
            trapped |= comp
            first = min(
                (ctx.layout.by_id[n] for n in comp if n in ctx.layout.by_id),
                key=lambda p: p.path,
                default=None,
            )
            if first is not None and first.id in reachable:
                names = ", ".join(sorted(n for n in comp if n in ctx.layout.by_id))
                yield ctx.diag(
                    (*first.path, "id") if first.step.id else first.path,
                    "PF308",
                    f"the steps {names} loop with no way out",
                    "give one of them an outcome that leaves the loop",
                )
    for p in ctx.layout.placed:
        if p.id not in g or p in ctx.layout.duplicates:
            continue
        where = (*p.path, "id") if p.step.id else p.path
        if p.id not in reachable:
            yield ctx.diag(
                where,
                "PF306",
                f"the step '{p.id}' can never be reached",
                "give an earlier step an outcome or 'next:' that leads here, or remove it",
                at_key=False,
            )
        elif p.id not in can_end and p.id not in trapped:
            yield ctx.diag(
                where,
                "PF307",
                f"no end can be reached from the step '{p.id}'",
                "make sure every path leads to an end or to the last step",
            )


def check_unused(ctx: Context) -> Iterator[Diagnostic]:
    """Warnings for local actors and documents that nothing uses."""
    for name in ctx.process.actors:
        if name not in ctx.used_actors:
            yield ctx.diag(
                ("actors", name),
                "PF313",
                f"the actor '{name}' is not used by any step",
                "remove it, or give it a step",
                at_key=True,
                warning=True,
            )
    for name in ctx.process.documents:
        if name not in ctx.used_documents:
            yield ctx.diag(
                ("documents", name),
                "PF314",
                f"the document '{name}' is not used by any step",
                "remove it, or have a step fill or read it",
                at_key=True,
                warning=True,
            )


def check_schedule(ctx: Context) -> Iterator[Diagnostic]:
    """``schedule:`` reads as a recurrence, and its ``by`` role exists."""
    s = ctx.process.schedule
    if s is None:
        return
    yield from _actor(ctx, s.by, ("schedule", "by"))
    try:
        read_schedule(s)
    except ScheduleError as exc:
        yield ctx.diag(("schedule", exc.key), "PF412", exc.message, exc.hint)


CHECKS: tuple[Check, ...] = (
    check_duplicates,
    check_references,
    check_structure,
    check_documents,
    check_expressions,
    check_deadlines,
    check_graph,
    check_apply,  # decision tables filling fields (procflow.flow.tables)
    check_schedule,  # scheduled starts (procflow.language.schedules)
    check_carried,  # required carries are surely filled (procflow.flow.held)
    check_unused,  # last: it reads what the others marked as used
)


def check_process(ctx: Context) -> list[Diagnostic]:
    """Run every check; return all diagnostics in file order."""
    out: list[Diagnostic] = []
    for check in CHECKS:
        out.extend(check(ctx))
    return sorted(set(out), key=lambda d: (d.line, d.column, d.code))


__all__ = [
    "CHECKS",
    "END",
    "Context",
    "check_process",
    "environment",
    "field_type",
    "join_node",
    "outcomes_of",
]
