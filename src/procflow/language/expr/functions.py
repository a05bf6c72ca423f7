"""Functions: the public `Function` (extension point) and the built-in ones.

Built-ins: ``size int string today now day_of_month month year days_between
min max abs first last``, the methods ``startsWith endsWith contains`` on text, and the
macro ``has`` (handled by the checker, since its argument is not evaluated).
Each built-in has a signature function that picks the result type and the
implementation from the argument types, at compile time.

``today()`` and ``now()`` read only the clock passed to
`Expression.evaluate`; nothing here reads the system time.

Imports `procflow.errors`, `typing_`, `evaluator`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from procflow.errors import EvaluationError
from procflow.language.expr.evaluator import DECIMALS, Scope, Thunk, constant, truncate
from procflow.language.expr.typing_ import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    NUMBER,
    SEQUENCES,
    TEXT,
    Type,
    is_numeric,
    is_text,
    item_type,
    join,
)


@dataclass(frozen=True)
class Function:
    """A function callers add to the language (e.g. for decision tables).

    Attributes:
        name: the name used in expressions (ASCII, not starting with '_', not a built-in).
        params: the parameter types; `ANY` accepts every argument.
        result: the declared result type; the value is checked against it at run time.
        impl: called with the evaluated arguments; must not have side effects.
    """

    name: str
    params: tuple[Type, ...]
    result: Type
    impl: Callable[..., Any]


class ArgProblem(NamedTuple):
    """An argument (by position) that does not fit, and why."""

    position: int
    message: str


Typed = tuple[Type, Thunk]
"""What checking a node gives: its type and the closure that computes it."""
ERROR: Typed = (ANY, constant(None))
"""The result of a node with a problem; ANY fits everywhere, so nothing else complains."""
Maker = Callable[[list[Thunk]], Thunk]
Signature = Callable[[list[Type]], "tuple[Type, Maker] | ArgProblem"]

METHODS = ("startsWith", "endsWith", "contains")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,30}")


def _now(scope: Scope) -> datetime:
    if scope.now is None:
        raise EvaluationError("today() and now() need the clock: pass now= to evaluate()")
    return scope.now


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _int_of(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return truncate(value)
    if isinstance(value, str):
        if _INTEGER_TEXT.fullmatch(value) is None:
            raise EvaluationError(f"int(): {value[:40]!r} is not a whole number")
        return Decimal(value)
    raise EvaluationError(f"int() cannot convert a {type(value).__name__}")


def _number_text(value: Decimal) -> str:
    if not value:
        value = abs(value)  # no "-0"
    return format(value, "f") if -40 < value.adjusted() < 40 else str(value)


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, date):  # also datetime
        return value.isoformat()
    raise EvaluationError(f"string() cannot convert a {type(value).__name__}")


def _unary(fn: Callable[[Any], Any]) -> Maker:
    def make(args: list[Thunk]) -> Thunk:
        arg = args[0]
        return lambda scope: fn(arg(scope))

    return make


def _binary(fn: Callable[[Any, Any], Any]) -> Maker:
    def make(args: list[Thunk]) -> Thunk:
        a, b = args
        return lambda scope: fn(a(scope), b(scope))

    return make


def _size(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
    t = types[0]
    if t is ANY or is_text(t) or isinstance(t, SEQUENCES):
        return NUMBER, _unary(lambda v: Decimal(len(v)))
    return ArgProblem(0, f"size() needs text, a list or a per-person form, not {t.label}")


def _end(name: str, at: int) -> Signature:
    """``first(items)`` or ``last(items)``: an item of a list, a copy of a per-person form."""

    def pick(items: Any) -> Any:
        if not items:
            raise EvaluationError(f"{name}() of an empty list: no item (guard it with size())")
        return items[at]

    def signature(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
        item = item_type(types[0])
        if item is None:
            what = types[0].label
            return ArgProblem(0, f"{name}() needs a list or a per-person form, not {what}")
        return item, _unary(pick)

    return signature


def _int(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
    t = types[0]
    if t is ANY or is_numeric(t) or is_text(t):
        return NUMBER, _unary(_int_of)
    return ArgProblem(0, f"int() needs a number or text, not {t.label}")


def _string(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
    t = types[0]
    if t in (ANY, BOOL, DATE, DATETIME) or is_numeric(t) or is_text(t):
        return TEXT, _unary(_text_of)
    return ArgProblem(0, f"string() cannot convert {t.label}")


def _clock(result: Type) -> Signature:
    def signature(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
        if result is DATE:
            return DATE, lambda args: lambda scope: _now(scope).date()
        return DATETIME, lambda args: _now

    return signature


def _date_part(name: str, part: Callable[[date], int]) -> Signature:
    def signature(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
        t = types[0]
        if t in (ANY, DATE, DATETIME):
            return NUMBER, _unary(lambda v: Decimal(part(v)))
        return ArgProblem(0, f"{name}() needs a date, not {t.label}")

    return signature


def _days_between(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
    for i, t in enumerate(types):
        if t not in (ANY, DATE, DATETIME):
            return ArgProblem(i, f"days_between() needs dates, not {t.label}")
    if join(types[0], types[1]) is None:
        return ArgProblem(
            1,
            f"days_between() needs two dates or two date-times, not {types[0].label} "
            f"and {types[1].label}",
        )
    return NUMBER, _binary(lambda a, b: Decimal((_as_date(b) - _as_date(a)).days))


def _extreme(name: str, fn: Callable[[Any, Any], Any]) -> Signature:
    def signature(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
        common = join(types[0], types[1])
        if common is None:
            return ArgProblem(1, f"{name}() cannot mix {types[0].label} and {types[1].label}")
        if common is ANY or is_numeric(common) or is_text(common) or common in (DATE, DATETIME):
            return common, _binary(fn)
        return ArgProblem(0, f"{name}() needs numbers, text or dates, not {common.label}")

    return signature


def _abs(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
    t = types[0]
    if t is ANY or is_numeric(t):
        return t, _unary(DECIMALS.abs)
    return ArgProblem(0, f"abs() needs a number, not {t.label}")


def _method(name: str, fn: Callable[[str, str], bool]) -> Signature:
    def signature(types: list[Type]) -> tuple[Type, Maker] | ArgProblem:
        for i, t in enumerate(types):
            if not (t is ANY or is_text(t)):
                return ArgProblem(i, f".{name}() works on text, not {t.label}")
        return BOOL, _binary(fn)

    return signature


BUILTINS: dict[str, tuple[int, Signature]] = {
    "size": (1, _size),
    "int": (1, _int),
    "string": (1, _string),
    "today": (0, _clock(DATE)),
    "now": (0, _clock(DATETIME)),
    "day_of_month": (1, _date_part("day_of_month", lambda d: d.day)),
    "month": (1, _date_part("month", lambda d: d.month)),
    "year": (1, _date_part("year", lambda d: d.year)),
    "days_between": (2, _days_between),
    "min": (2, _extreme("min", min)),
    "max": (2, _extreme("max", max)),
    "abs": (1, _abs),
    "first": (1, _end("first", 0)),
    "last": (1, _end("last", -1)),
}
"""Global built-ins: name → (number of arguments, signature). ``has`` is a macro, not here."""

METHOD_SIGNATURES: dict[str, Signature] = {
    # Receiver first, then the argument.
    "startsWith": _method("startsWith", str.startswith),
    "endsWith": _method("endsWith", str.endswith),
    "contains": _method("contains", lambda text, part: part in text),
}
