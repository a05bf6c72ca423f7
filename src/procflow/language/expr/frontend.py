"""The entry points: `compile_expression` and `parse_literal`.

Runs the stages in order (limits and tokens, syntax, names and types, the
expected result type) and turns every problem into an `ExprIssue`; nothing a
user writes makes these functions raise. Imports the other modules of the
package.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from procflow.language.expr import evaluator as ev
from procflow.language.expr.checker import Checker
from procflow.language.expr.functions import BUILTINS, Function
from procflow.language.expr.issues import ExprFailure, ExprIssue, suggest
from procflow.language.expr.nodes import ListLit, Literal, Name, Node, Select
from procflow.language.expr.parser import parse
from procflow.language.expr.typing_ import ANY, BOOL, ChoiceType, Type, assignable


def _check_functions(functions: Mapping[str, Function]) -> None:
    for key, fn in functions.items():
        if (
            key != fn.name
            or not fn.name.isidentifier()
            or not fn.name.isascii()
            or fn.name.startswith("_")
        ):
            raise ValueError(
                f"function {key!r}: the name must be an ASCII identifier not starting "
                f"with '_', and equal to Function.name"
            )
        if key in BUILTINS or key == "has":
            raise ValueError(f"function {key!r} would replace a built-in")


def compile_expression(
    text: str,
    env: Mapping[str, Type],
    *,
    expect: Type | None = BOOL,
    functions: Mapping[str, Function] | None = None,
) -> tuple[ev.Expression | None, list[ExprIssue]]:
    """Parse, type-check and compile an expression.

    Args:
        text: the expression, e.g. ``proposal.plan_type != "routine"``.
        env: the names it may use: documents (`RecordType`) and variables.
        expect: the type the value must have; BOOL (the default) for conditions,
            None for any type.
        functions: extra functions callers add (e.g. decision tables).

    Returns:
        ``(expression, [])`` when it is valid, else ``(None, issues)`` with every
        problem found, located by offsets into ``text``.

    Raises:
        ValueError: only for a programming error in ``functions`` (a name that
            is not an identifier, starts with '_', or replaces a built-in).
    """
    extra = dict(functions or {})
    _check_functions(extra)
    if not isinstance(text, str):
        return None, [
            ExprIssue("PF401", f"the expression must be text, not {type(text).__name__}", "", 0, 0)
        ]
    try:
        node = parse(text)
        checker = Checker(text, env, extra)
        t, run = checker.check(node)
    except ExprFailure as failure:
        return None, [failure.issue]
    except RecursionError:  # not reachable within the limits; a last line of defence
        return None, [ExprIssue("PF405", "the expression nests too deeply", "", 0, len(text))]
    issues = checker.issues
    if not issues and expect is not None:
        t, run = _expect(checker, node, t, run, expect)
    if issues:
        return None, issues
    return ev.Expression(text, t, frozenset(checker.names), run), []


def _expect(
    checker: Checker, node: Node, t: Type, run: ev.Thunk, expect: Type
) -> tuple[Type, ev.Thunk]:
    if isinstance(expect, ChoiceType) and isinstance(node, Literal) and isinstance(node.value, str):
        if node.value not in expect.values:
            checker.report(
                "PF404",
                f"'{node.value}' is not one of the allowed values",
                node.start,
                node.end,
                suggest(node.value, expect.values),
            )
        return expect, run
    if not assignable(t, expect):
        if expect is BOOL:
            checker.report(
                "PF406",
                f"a condition must be yes/no, but this gives {t.label}",
                node.start,
                node.end,
                "compare the value, e.g. with == or >",
            )
        else:
            what = checker.source(node) if isinstance(node, Name | Select) else "the expression"
            checker.report(
                "PF403",
                f"{what} gives {t.label}, but {expect.label} is expected",
                node.start,
                node.end,
            )
        return t, run
    if t is ANY and expect is not ANY:
        run = ev.checked(run, ev.check_for(expect), "the result")
    return expect, run


def parse_literal(text: str) -> tuple[tuple[Any, Type] | None, list[ExprIssue]]:
    """Read a constant: a number (maybe negative), text in quotes, true/false, or a list of them.

    Meant for decision-table cells and default values.

    Returns:
        ``((value, type), [])``, or ``(None, issues)``. Numbers are `Decimal`, lists `tuple`.
    """
    try:
        node = parse(text) if isinstance(text, str) else None
    except ExprFailure as failure:
        return None, [failure.issue]
    if node is None or not _is_constant(node):
        where = (node.start, node.end) if node is not None else (0, 0)
        return None, [
            ExprIssue(
                "PF401",
                "expected a constant: a number, text in quotes, true, false or a list of them",
                "",
                *where,
            )
        ]
    expression, issues = compile_expression(text, {}, expect=None)
    if expression is None:
        return None, issues
    return (expression.evaluate({}), expression.type), []


def _is_constant(node: Node) -> bool:
    if isinstance(node, Literal):
        return isinstance(node.value, (str, bool, Decimal))
    return isinstance(node, ListLit) and all(_is_constant(item) for item in node.items)
