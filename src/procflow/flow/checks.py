"""The checks over one process's built flow, after `build`.

Owns `check_flow`: each step kind's own checks (`StepKind.check`: names,
targets, structure), then the checks of the whole flow: duplicate ids
(PF305), who may start it (PF302), document and field names that the
condition language reserves and defaults that do not fit (PF207, PF323),
reachability, dead ends and loops with no way out (PF306, PF307, PF308: with
`Flow.reach`, and networkx's strongly connected components over `Flow.graph`
only when some step cannot reach an end), the schedule (PF412), documents carried that may
be missing (PF320, `held`), and last the names nothing uses (PF313, PF314,
warnings). Checks between processes are in `links`.

Each check is a small generator of `Diagnostic`; `check_flow` runs them all,
so that an analyst sees every problem at once.

Imports `context`, `ir`, `kinds`, `held` and the language layer.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from decimal import Decimal
from typing import Any

from procflow.flow.context import Context
from procflow.flow.held import check_carried
from procflow.flow.ir import START, Flow
from procflow.flow.kinds import KINDS
from procflow.language import expr
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import FieldDef
from procflow.language.readings import check_readings

Check = Callable[[Context, Flow], Iterable[Diagnostic]]


def check_duplicates(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    for p in ctx.layout.duplicates:
        first = ctx.layout.by_id[p.id]
        line, _ = ctx.doc.positions.value(first.path)
        yield ctx.diag(
            (*p.path, "id"),
            "PF305",
            f"two steps have the id '{p.id}'",
            f"the first is on line {line}; rename one",
        )


def check_steps(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    """Every step's own checks, by its kind."""
    for role in ctx.process.starts_by:
        yield from ctx.actor(role, ("starts_by",))
    for p in ctx.layout.placed:
        step = p.step
        if step.next is not None:
            yield from ctx.check_way(step.next, p, (*p.path, "next"))
        yield from KINDS[step.kind].check(ctx, flow, p, ctx.built[id(p)])


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


def check_documents(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
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


def _loops(
    ctx: Context, flow: Flow, reachable: set[str], ends: set[str]
) -> Generator[Diagnostic, None, set[str]]:
    """PF308 for each loop with no way out that can be reached; returns the steps of
    every such loop. Only for a flow where some step cannot reach an end."""
    import networkx as nx  # noqa: PLC0415 - a flow with no problem never needs it

    g = flow.graph()
    trapped: set[str] = set()
    by_id = ctx.layout.by_id
    for comp in nx.strongly_connected_components(g):
        if len(comp) == 1:
            (n,) = comp
            if not g.has_edge(n, n):
                continue
        exits = any(v not in comp for u in comp for v in g.successors(u))
        if not exits and not (comp & ends):
            trapped |= comp
            first = min((by_id[n] for n in comp if n in by_id), key=lambda p: p.path, default=None)
            if first is not None and first.id in reachable:
                names = ", ".join(sorted(n for n in comp if n in by_id))
                yield ctx.diag(
                    first.where_id,
                    "PF308",
                    f"the steps {names} loop with no way out",
                    "give one of them an outcome that leaves the loop",
                )
    return trapped


def check_graph(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    """Reachability, dead ends and loops with no way out."""
    if ctx.layout.duplicates:
        return  # the flow of a process with duplicate ids is not meaningful; PF305 says why
    reachable = flow.reach((START,))
    ends = [n.id for n in flow.nodes.values() if n.kind == "end"]
    can_end = flow.reach(ends, backwards=True)
    trapped: set[str] = set()
    if len(can_end) < len(flow.nodes):
        trapped = yield from _loops(ctx, flow, reachable, set(ends))
    for p in ctx.layout.unique():
        if p.id not in reachable:
            yield ctx.diag(
                p.where_id,
                "PF306",
                f"the step '{p.id}' can never be reached",
                "give an earlier step an outcome or 'next:' that leads here, or remove it",
            )
        elif p.id not in can_end and p.id not in trapped:
            yield ctx.diag(
                p.where_id,
                "PF307",
                f"no end can be reached from the step '{p.id}'",
                "make sure every path leads to an end or to the last step",
            )


def check_schedule(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    """``schedule:`` reads as a recurrence, and its ``by`` role exists."""
    s = ctx.process.schedule
    if s is None:
        return
    yield from ctx.actor(s.by, ("schedule", "by"))
    from procflow.language.schedules import (  # noqa: PLC0415 - only scheduled processes
        ScheduleError,
        read_schedule,
    )

    try:
        read_schedule(s)
    except ScheduleError as exc:
        yield ctx.diag(("schedule", exc.key), "PF412", exc.message, exc.hint)


def check_unused(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
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


def check_limits(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    """PF326: a limited way that does not lead back (a limit counts a loop), or a way
    written twice, once with a limit."""
    if not ctx.limits or ctx.layout.duplicates:
        return
    for (source, target), found in ctx.limits.items():
        limit = found[0]
        ways = [
            e
            for e in flow.edges
            if (e.source, e.target) == (source, target) and e.kind not in ("skip", "exceeded")
        ]
        if len(found) > 1 or len(ways) > 1:
            yield ctx.diag(
                found[-1].where,
                "PF326",
                f"the way from '{source}' to '{target}' is written more than once, "
                "so the limit cannot tell which one it counts",
                "send the other outcome elsewhere, or give one way the limit",
            )
        elif source not in flow.reach((target,)):
            yield ctx.diag(
                limit.where,
                "PF326",
                f"'{target}' never leads back to '{source}', so this way is taken once at most "
                "and a limit on it never applies",
                "put the limit on the way back (a decision's 'send back', a next: to an "
                "earlier step)",
            )


def check_thresholds(ctx: Context, flow: Flow) -> Iterator[Diagnostic]:
    """PF518: a threshold that reads its notes' 以上/以下/之前 the other way (warning)."""
    yield from check_readings(ctx.doc)


CHECKS: tuple[Check, ...] = (
    check_duplicates,
    check_steps,
    check_documents,
    check_graph,
    check_schedule,
    check_carried,  # required carries are surely filled (`held`)
    check_limits,
    check_thresholds,
    check_unused,  # last: it reads what the others marked as used
)


def check_flow(ctx: Context, flow: Flow) -> list[Diagnostic]:
    """Run every check; return all diagnostics of building and checking, in file order."""
    out: list[Diagnostic] = list(ctx.problems)
    for check in CHECKS:
        out.extend(check(ctx, flow))
    return sorted(set(out), key=lambda d: (d.line, d.column, d.code))


__all__ = ["CHECKS", "check_flow"]
