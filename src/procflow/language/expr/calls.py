"""Checking calls: built-in functions, text methods, ``has()`` and extensions.

Calls are their own concern: the built-in functions, the text methods, the
list macros (``all exists count sum``, whose middle argument names each item)
and the extension functions (decision tables) with their signatures. Each function
takes the checker through `CheckerPort`, the part of `checker.Checker` that
checking a call needs, and returns the call's type and closure. Imports
`diagnostics` (hints), `errors`, `nodes`, `typing_`, `evaluator`,
`functions`; never `checker`, which imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Protocol

from procflow.errors import EvaluationError
from procflow.language.diagnostics import did_you_mean
from procflow.language.expr import evaluator as ev
from procflow.language.expr.functions import (
    BUILTINS,
    ERROR,
    METHOD_SIGNATURES,
    METHODS,
    ArgProblem,
    Function,
    Signature,
    Typed,
)
from procflow.language.expr.nodes import Call, Name, Node, Select
from procflow.language.expr.typing_ import (
    ANY,
    BOOL,
    NUMBER,
    RecordType,
    Type,
    assignable,
    is_numeric,
    item_type,
)


class CheckerPort(Protocol):
    """What checking a call needs from the expression checker (`checker.Checker`)."""

    env: Mapping[str, Type]
    functions: Mapping[str, Function]
    names: set[str]
    bound: dict[str, Type]

    def check(self, node: Node, depth: int = 0) -> Typed: ...
    def report(self, code: str, message: str, start: int, end: int, hint: str = "") -> Typed: ...
    def choice_literal(self, choice: Type, node: Node, other: Node) -> bool: ...
    def field(self, record: RecordType, node: Select) -> Type | None: ...
    def with_item(self, name: str, t: Type, node: Node, depth: int) -> Typed: ...
    def source(self, node: Node) -> str: ...
    def record_operand(
        self, node: Select, depth: int
    ) -> tuple[RecordType, ev.Thunk | str] | None: ...


def check_call(c: CheckerPort, node: Call, depth: int) -> Typed:
    if node.name in MACROS:
        given = node.args if node.receiver is None else (node.receiver, *node.args)
        return _macro(c, node, given, depth)
    if node.receiver is not None:
        return _method(c, node, node.receiver, depth)
    if node.name == "has":
        return _has(c, node, depth)
    args = [c.check(arg, depth) for arg in node.args]
    if node.name in c.functions:
        return _extension(c, node, c.functions[node.name], args)
    if node.name not in BUILTINS:
        known = [*BUILTINS, *c.functions, "has"]
        hint = (
            f"'{node.name}' is a document or variable, not a function"
            if node.name in c.env
            else did_you_mean(node.name, known)
        )
        return c.report(
            "PF407",
            f"'{node.name}' is not a function the language knows",
            node.name_start,
            node.name_end,
            hint,
        )
    arity, signature = BUILTINS[node.name]
    if not _arity(c, node, arity):
        return ERROR
    return _apply(c, node, signature, list(node.args), args)


def _arity(c: CheckerPort, node: Call, arity: int) -> bool:
    if len(node.args) == arity:
        return True
    plural = "" if arity == 1 else "s"
    c.report(
        "PF403",
        f"{node.name}() takes {arity} argument{plural}, not {len(node.args)}",
        node.start,
        node.end,
    )
    return False


def _apply(
    c: CheckerPort, node: Call, signature: Signature, arg_nodes: list[Node], args: list[Typed]
) -> Typed:
    outcome = signature([t for t, _ in args])
    if isinstance(outcome, ArgProblem):
        bad = arg_nodes[outcome.position]
        return c.report("PF403", outcome.message, bad.start, bad.end)
    result, make = outcome
    return result, make([thunk for _, thunk in args])


def _method(c: CheckerPort, node: Call, receiver_node: Node, depth: int) -> Typed:
    receiver = c.check(receiver_node, depth)
    args = [c.check(arg, depth) for arg in node.args]
    signature = METHOD_SIGNATURES.get(node.name)
    if signature is None:
        hint = (
            did_you_mean(node.name, METHODS)
            or "only " + ", ".join(METHODS) + " can be called on text"
        )
        return c.report(
            "PF407",
            f"'{node.name}' is not a method the language knows",
            node.name_start,
            node.name_end,
            hint,
        )
    if not _arity(c, node, 1):
        return ERROR
    return _apply(c, node, signature, [receiver_node, *node.args], [receiver, *args])


MACROS: dict[str, str] = {
    "all": "whether every item fits the condition (true for none)",
    "exists": "whether at least one item fits the condition",
    "count": "how many items fit the condition",
    "sum": "the sum of the value over the items (0 for none)",
}
"""The list macros: ``all(plans, p, p.total > 0)``, also written ``plans.all(p, ...)``, or
short, ``all(plans, p.total > 0)``, when the condition uses one name that is no document."""


def _macro(c: CheckerPort, node: Call, args: tuple[Node, ...], depth: int) -> Typed:
    """``name(items, x, body)``: ``body`` is checked and run once per item, as ``x``."""
    what = "a condition" if node.name != "sum" else "a number"
    usage = f"{node.name}(items, x, {what} about x), e.g. {node.name}(plans, p, p.total > 0)"
    if node.name == "sum":
        usage = "sum(items, x, a number from x), e.g. sum(plans, p, p.total)"
    var = args[1] if len(args) == 3 else _free_name(c, args[1]) if len(args) == 2 else None
    if not isinstance(var, Name):
        return c.report(
            "PF403",
            f"{node.name}() takes the items, a name for each item and {what}",
            node.start,
            node.end,
            f"write {usage}; the short form {node.name}(items, {what} about x) needs a "
            "condition that uses one name that is no document",
        )
    items, body = args[0], args[-1]
    seq_t, seq = c.check(items, depth)
    item = item_type(seq_t)
    if item is None:
        return c.report(
            "PF403",
            f"{node.name}() needs a list or a per-person form, not {seq_t.label}",
            items.start,
            items.end,
        )
    if var.name in c.env or var.name in c.functions:
        return c.report(
            "PF407",
            f"'{var.name}' already names a document or function; name each item otherwise",
            var.start,
            var.end,
            f"write {node.name}({c.source(items)}, x, ...)",
        )
    body_t, run = c.with_item(var.name, item, body, depth)
    if node.name == "sum":
        if not (body_t is ANY or is_numeric(body_t)):
            return c.report(
                "PF403", f"sum() adds numbers, not {body_t.label}", body.start, body.end
            )
        return (NUMBER if body_t is ANY else body_t), ev.over_items("sum", seq, var.name, run)
    if body_t is ANY:
        run = ev.checked(run, ev.check_for(BOOL), f"the condition of {node.name}()")
    elif body_t is not BOOL:
        return c.report(
            "PF403",
            f"the condition of {node.name}() must be yes/no, but this is {body_t.label}",
            body.start,
            body.end,
            "compare it, e.g. with == or >",
        )
    return (NUMBER if node.name == "count" else BOOL), ev.over_items(node.name, seq, var.name, run)


def _free_name(c: CheckerPort, body: Node) -> Name | None:
    """In the short form ``all(plans, p.total > 0)``, the item is the one name the
    condition uses that is no document, function or item of an outer macro."""
    free: dict[str, Name] = {}
    stack = [body]
    while stack:
        n = stack.pop()
        if isinstance(n, Name):
            if n.name not in c.env and n.name not in c.functions and n.name not in c.bound:
                free.setdefault(n.name, n)
        elif isinstance(n, Call) and n.name in MACROS:
            return None  # nested macros name their items: write the long form
        for f in fields(n):
            value = getattr(n, f.name)
            if isinstance(value, Node):
                stack.append(value)
            elif isinstance(value, tuple):
                stack.extend(v for v in value if isinstance(v, Node))
    return next(iter(free.values())) if len(free) == 1 else None


def _has(c: CheckerPort, node: Call, depth: int) -> Typed:
    arg = node.args[0] if len(node.args) == 1 else None
    if not isinstance(arg, Select):
        return c.report(
            "PF403", "has() takes one field, like has(proposal.budget)", node.start, node.end
        )
    found = c.record_operand(arg, depth)
    if found is None or c.field(found[0], arg) is None:
        return ERROR
    source = found[1]
    if isinstance(source, str):
        c.names.add(f"{source}.{arg.field}")
        return BOOL, ev.has_field(source, arg.field)
    return BOOL, ev.has_select(source, arg.field)


def _extension(c: CheckerPort, node: Call, fn: Function, args: list[Typed]) -> Typed:
    if not _arity(c, node, len(fn.params)):
        return ERROR
    ok = True
    for i, (param, (t, _), arg) in enumerate(zip(fn.params, args, node.args, strict=True)):
        if c.choice_literal(param, arg, node):
            ok = False
        elif not assignable(t, param):
            ok = False
            c.report(
                "PF403",
                f"{fn.name}() expects {param.label} as argument {i + 1}, not {t.label}",
                arg.start,
                arg.end,
            )
    if not ok:
        return ERROR
    thunks = [thunk for _, thunk in args]
    check = ev.check_for(fn.result)
    impl, label = fn.impl, f"{fn.name}()"

    def call(scope: ev.Scope) -> Any:
        values = [t(scope) for t in thunks]
        try:
            result = impl(*values)
        except EvaluationError:
            raise
        except Exception as exc:  # a caller's function; report it as an evaluation failure
            raise EvaluationError(f"{label} failed: {exc}") from exc
        return check(result, label)

    return fn.result, call
