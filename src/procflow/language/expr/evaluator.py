"""Run-time side: `Expression`, the decimal context, value checks and closures.

A checked expression is compiled once into nested closures (`Thunk`), each
taking a `Scope` (the values and the injected clock). Nothing here inspects
syntax or types at evaluation time; the checker chose every closure.

Values: numbers, money and percent are `Decimal` (an `int` is accepted and
converted; a `float` is refused, since money must be exact); text is `str`;
dates `datetime.date`; date-times `datetime.datetime`; yes/no `bool`; lists
`list` or `tuple` (returned as `tuple`); documents `Mapping[str, Any]`. A
missing document or field, or one whose value is None, raises
`EvaluationError` naming the path; nothing is ever silently false.

Imports `procflow.errors`, `typing_`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

from procflow.errors import EvaluationError
from procflow.language.expr.typing_ import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    TEXT,
    ChoiceType,
    CollectionType,
    ListType,
    RecordType,
    Type,
    is_numeric,
)

DECIMALS = Context(
    prec=34,
    Emax=10**6,
    Emin=-(10**6),
    rounding=ROUND_HALF_EVEN,
    traps=[Overflow, DivisionByZero, InvalidOperation],
)
"""Every arithmetic operation uses this context (34 digits, bounded exponent).

Passing it explicitly keeps results independent of the thread's context."""

_ZERO = Decimal(0)


class Scope:
    """What one evaluation sees: the values and the clock."""

    __slots__ = ("now", "values")

    def __init__(self, values: Mapping[str, Any], now: datetime | None) -> None:
        self.values = values
        self.now = now

    def bind(self, name: str, value: Any) -> Scope:
        """This scope with ``name`` standing for ``value`` (an item of a list macro)."""
        return Scope(_Bound(self.values, name, value), self.now)


class _Bound(Mapping[str, Any]):
    """The values, with one more name: the item a list macro is at."""

    __slots__ = ("name", "outer", "value")

    def __init__(self, outer: Mapping[str, Any], name: str, value: Any) -> None:
        self.outer, self.name, self.value = outer, name, value

    def get(self, key: str, default: Any = None) -> Any:
        return self.value if key == self.name else self.outer.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.value if key == self.name else self.outer[key]

    def __iter__(self) -> Iterator[str]:
        yield self.name
        yield from (k for k in self.outer if k != self.name)

    def __len__(self) -> int:
        return len(self.outer) + (self.name not in self.outer)


Thunk = Callable[[Scope], Any]
Check = Callable[[Any, str], Any]
"""Validates (and normalises) a value read from outside; the second argument names it."""


def _what(value: object) -> str:
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return f"a {type(value).__name__}"


def _wrong(label: str, t: Type, value: object) -> EvaluationError:
    return EvaluationError(f"{label} should be {t.label}, but is {_what(value)}")


def _check_number(value: Any, label: str) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EvaluationError(f"{label} is {value}, not a finite number")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    hint = "; pass a Decimal, floats are not exact" if isinstance(value, float) else ""
    raise EvaluationError(f"{label} should be a number, but is {_what(value)}{hint}")


def check_for(t: Type) -> Check:
    """The run-time check for a value declared as ``t``."""
    if t is ANY:
        return lambda value, label: value
    if is_numeric(t):
        return _check_number
    if isinstance(t, ChoiceType):
        return _check_choice(t)
    if isinstance(t, ListType):
        return _check_list(t)
    if isinstance(t, CollectionType):
        return _check_copies(t)
    if isinstance(t, RecordType):
        kind: type | tuple[type, ...] = Mapping
    else:
        kinds: dict[Type, type] = {TEXT: str, BOOL: bool, DATE: date, DATETIME: datetime}
        kind = kinds[t]

    def check_simple(value: Any, label: str) -> Any:
        if not isinstance(value, kind) or (t is DATE and isinstance(value, datetime)):
            raise _wrong(label, t, value)
        return value

    return check_simple


def _check_choice(t: ChoiceType) -> Check:
    allowed = frozenset(t.values)

    def check_choice(value: Any, label: str) -> Any:
        if not isinstance(value, str) or value not in allowed:
            raise _wrong(label, t, value)
        return value

    return check_choice


def _check_list(t: ListType) -> Check:
    item = check_for(t.item)

    def check_list(value: Any, label: str) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise _wrong(label, t, value)
        return tuple(item(v, f"{label}[{i}]") for i, v in enumerate(value))

    return check_list


def _check_copies(t: CollectionType) -> Check:
    def check_copies(value: Any, label: str) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
            raise _wrong(label, t, value)
        return tuple(value)

    return check_copies


# -- reading values -------------------------------------------------------------


def read_name(name: str, check: Check) -> Thunk:
    def read(scope: Scope) -> Any:
        value = scope.values.get(name)
        if value is None:
            raise EvaluationError(f"{name} has no value")
        return check(value, name)

    return read


def read_field(doc: str, field: str, check: Check) -> Thunk:
    """``doc.field`` where ``doc`` is a top-level document."""
    label = f"{doc}.{field}"

    def read(scope: Scope) -> Any:
        value = _field_of(scope.values.get(doc), doc, field, label)
        if value is None:
            raise EvaluationError(f"{label} has no value")
        return check(value, label)

    return read


def select(operand: Thunk, field: str, check: Check, label: str) -> Thunk:
    """``operand.field`` for any operand giving a document."""

    def read(scope: Scope) -> Any:
        value = operand(scope).get(field)
        if value is None:
            raise EvaluationError(f"{label} has no value")
        return check(value, label)

    return read


def _field_of(record: Any, doc: str, field: str, label: str) -> Any:
    if record is None:
        raise EvaluationError(f"{label} has no value ({doc} is missing)")
    if not isinstance(record, Mapping):
        raise EvaluationError(f"{doc} should be a document, but is {_what(record)}")
    return record.get(field)


def has_field(doc: str, field: str) -> Thunk:
    """``has(doc.field)``: false when the document or the field is missing or None."""

    def test(scope: Scope) -> bool:
        record = scope.values.get(doc)
        if record is None:
            return False
        return _field_of(record, doc, field, f"{doc}.{field}") is not None

    return test


def has_select(operand: Thunk, field: str) -> Thunk:
    return lambda scope: operand(scope).get(field) is not None


def index(seq: Thunk, position: Thunk, label: str) -> Thunk:
    def get(scope: Scope) -> Any:
        items = seq(scope)
        i = position(scope)
        if i != i.to_integral_value(context=DECIMALS) or not _ZERO <= i < len(items):
            raise EvaluationError(f"{label}: there is no item {i} in a list of {len(items)}")
        return items[int(i)]

    return get


def constant(value: Any) -> Thunk:
    return lambda scope: value


def checked(thunk: Thunk, check: Check, label: str) -> Thunk:
    """Check at run time what could not be checked statically (values of unknown type)."""
    return lambda scope: check(thunk(scope), label)


# -- operators --------------------------------------------------------------------


def both(left: Thunk, right: Thunk) -> Thunk:
    return lambda scope: left(scope) and right(scope)


def either(left: Thunk, right: Thunk) -> Thunk:
    return lambda scope: left(scope) or right(scope)


def negate(operand: Thunk) -> Thunk:
    return lambda scope: not operand(scope)


def minus(operand: Thunk) -> Thunk:
    return lambda scope: DECIMALS.minus(operand(scope))


def choose(condition: Thunk, then: Thunk, otherwise: Thunk) -> Thunk:
    return lambda scope: then(scope) if condition(scope) else otherwise(scope)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "in": lambda a, b: a in b,
}


def compare(op: str, left: Thunk, right: Thunk) -> Thunk:
    fn = _COMPARE[op]
    return lambda scope: fn(left(scope), right(scope))


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if not b:
        raise EvaluationError("division by zero")
    return DECIMALS.divide(a, b)


def _remainder(a: Decimal, b: Decimal) -> Decimal:
    if not b:
        raise EvaluationError("remainder of a division by zero")
    return DECIMALS.remainder(a, b)


_NUMERIC_OPS: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": DECIMALS.add,
    "-": DECIMALS.subtract,
    "*": DECIMALS.multiply,
    "/": _divide,
    "%": _remainder,
}


def _add_any(a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return DECIMALS.add(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a + b
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    raise EvaluationError(f"cannot add {_what(a)} and {_what(b)}")


def arithmetic(op: str, kind: Type, left: Thunk, right: Thunk) -> Thunk:
    """``left op right``; ``kind`` is the type of the result (ANY when unknown)."""
    fn: Callable[[Any, Any], Any]
    if op == "+" and not is_numeric(kind):
        fn = _add_any if kind is ANY else (lambda a, b: a + b)
    else:
        fn = _NUMERIC_OPS[op]
    return lambda scope: fn(left(scope), right(scope))


def over_items(kind: str, seq: Thunk, name: str, body: Thunk) -> Thunk:
    """A list macro: ``all``, ``exists``, ``count`` or ``sum`` of ``body`` over the items of
    ``seq``, each item bound to ``name``. ``all`` and ``exists`` stop at the first answer."""

    def each(scope: Scope) -> Iterator[Any]:
        for item in seq(scope):
            yield body(scope.bind(name, item))

    if kind == "all":
        return lambda scope: all(each(scope))
    if kind == "exists":
        return lambda scope: any(each(scope))
    if kind == "count":
        return lambda scope: Decimal(sum(1 for ok in each(scope) if ok))

    def total(scope: Scope) -> Decimal:
        out = _ZERO
        for value in each(scope):
            out = DECIMALS.add(out, value)
        return out

    return total


def truncate(value: Decimal) -> Decimal:
    """The whole part, rounding toward zero (as CEL's ``int()``)."""
    return value.to_integral_value(rounding=ROUND_DOWN, context=DECIMALS)


# -- the compiled expression -----------------------------------------------------


class Expression:
    """A checked, compiled expression. Build it with `compile_expression`.

    Attributes:
        text: the source text.
        type: the type of its value.
        names: the dotted paths it reads, e.g. ``{"proposal.plan_type"}``.
    """

    __slots__ = ("_run", "names", "text", "type")

    def __init__(self, text: str, type_: Type, names: frozenset[str], run: Thunk) -> None:
        self.text = text
        self.type = type_
        self.names = names
        self._run = run

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, type={self.type.label!r})"

    def evaluate(self, values: Mapping[str, Any], *, now: datetime | None = None) -> Any:
        """The value of the expression.

        Args:
            values: documents (mappings of field name to value) and variables by name.
            now: the injected clock; ``today()`` and ``now()`` read only this.

        Raises:
            EvaluationError: a value is missing or ill-typed, a division by zero,
                a number out of range, or the clock is needed but not given.
        """
        if now is not None and not isinstance(now, datetime):
            raise TypeError(f"now must be a datetime, not {type(now).__name__}")
        try:
            return self._run(Scope(values, now))
        except EvaluationError as exc:
            raise EvaluationError(f"{exc} (in: {self.text})") from exc
        except DecimalException as exc:
            raise EvaluationError(f"a number is out of range (in: {self.text})") from exc
        except (TypeError, ValueError, LookupError, AttributeError) as exc:
            raise EvaluationError(f"cannot evaluate: {exc} (in: {self.text})") from exc
