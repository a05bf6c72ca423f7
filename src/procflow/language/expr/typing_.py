"""Static types of the expression language and the rules that combine them.

Owns `Type` and its kinds (scalars, `ChoiceType`, `ListType`, `RecordType`,
`CollectionType`),
the singletons `TEXT NUMBER MONEY PERCENT DATE DATETIME BOOL ANY`, and the pure
rules the checker applies: `join`, `assignable`, `equality_problem`,
`ordering_problem`, `arithmetic`. The rules themselves are documented in the
package docstring. Imports nothing from procflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass


class Type:
    """Base of every expression type. ``label`` is the name shown to analysts."""

    __slots__ = ()

    @property
    def label(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class ScalarType(Type):
    """A type without parts; only the module's singletons should exist."""

    name: str

    @property
    def label(self) -> str:
        return self.name


TEXT = ScalarType("text")
NUMBER = ScalarType("number")
MONEY = ScalarType("money")
PERCENT = ScalarType("percent")
DATE = ScalarType("date")
DATETIME = ScalarType("date and time")
BOOL = ScalarType("yes/no")
ANY = ScalarType("any value")
"""Internal: unknown type (empty lists, extension functions, and after an error)."""

NUMERIC: frozenset[Type] = frozenset({NUMBER, MONEY, PERCENT})


@dataclass(frozen=True, slots=True)
class ChoiceType(Type):
    """Text restricted to ``values`` (a ``choice`` field)."""

    values: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))

    @property
    def label(self) -> str:
        return "choice of " + ", ".join(self.values)


@dataclass(frozen=True, slots=True)
class ListType(Type):
    """A list whose items all have type ``item``."""

    item: Type

    @property
    def label(self) -> str:
        return "list" if self.item is ANY else f"list of {self.item.label}"


class Fields(Mapping[str, Type]):
    """An immutable, hashable, ordered mapping of field name to type."""

    __slots__ = ("_map",)

    def __init__(self, items: Mapping[str, Type] | Iterable[tuple[str, Type]]) -> None:
        pairs: tuple[tuple[str, Type], ...] = tuple(
            items.items() if isinstance(items, Mapping) else items
        )
        self._map: dict[str, Type] = dict(pairs)

    def __getitem__(self, key: str) -> Type:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __hash__(self) -> int:
        return hash(frozenset(self._map.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._map) == dict(other)

    def __repr__(self) -> str:
        return f"Fields({self._map!r})"


@dataclass(frozen=True, slots=True, init=False)
class RecordType(Type):
    """A document (or a list item) with named fields, one level deep."""

    name: str
    fields: Fields

    def __init__(self, name: str, fields: Mapping[str, Type] | Iterable[tuple[str, Type]]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "fields", fields if isinstance(fields, Fields) else Fields(fields))

    @property
    def label(self) -> str:
        return f"document {self.name}"


@dataclass(frozen=True, slots=True)
class CollectionType(Type):
    """The copies of a per-person form: one per member or item of a ``for_each`` step
    (or one per submission), each a `RecordType` with the form's fields and
    ``filled_by`` (a user) and ``filled_at`` (a date and time).

    Read as a whole (``size(plans)``, ``all(plans, p, p.total > 0)``, ``plans[0]``,
    ``last(plans)``); ``plans.total`` is an error, since it does not say which copy.
    """

    item: RecordType

    @property
    def label(self) -> str:
        return f"the copies of {self.item.name} (a per-person form)"


SEQUENCES = (ListType, CollectionType)
"""What ``size``, ``x[i]``, ``first``, ``last`` and the list macros take."""


def item_type(t: Type) -> Type | None:
    """The type of one item of a list or one copy of a per-person form; ANY for ANY."""
    if t is ANY:
        return ANY
    if isinstance(t, ListType | CollectionType):
        return t.item
    return None


def is_numeric(t: Type) -> bool:
    return t in NUMERIC


def is_text(t: Type) -> bool:
    return t is TEXT or isinstance(t, ChoiceType)


def join(a: Type, b: Type) -> Type | None:
    """The one type both ``a`` and ``b`` fit in, or None when they do not mix.

    ``number`` joins any numeric type (a plain count next to money is money);
    money and percent never join; choices join text; lists join item-wise.
    """
    if a is ANY:
        return b
    if b is ANY or a == b:
        return a
    if is_numeric(a) and is_numeric(b):
        if a is NUMBER:
            return b
        return a if b is NUMBER else None
    if is_text(a) and is_text(b):
        return TEXT
    if isinstance(a, ListType) and isinstance(b, ListType):
        item = join(a.item, b.item)
        return None if item is None else ListType(item)
    return None


def assignable(source: Type, target: Type) -> bool:
    """Whether a value of type ``source`` may stand where ``target`` is declared."""
    if target is ANY or source is ANY:
        return True
    return join(source, target) == target


def _mismatch(a: Type, b: Type) -> str:
    return f"{a.label} compared with {b.label}"


def equality_problem(a: Type, b: Type) -> str | None:
    """Why ``a == b`` is not allowed, or None."""
    common = join(a, b)
    if common is None:
        return _mismatch(a, b)
    if isinstance(common, RecordType):
        return "whole documents cannot be compared; compare their fields"
    if isinstance(common, CollectionType):
        return "the copies of a per-person form cannot be compared; compare their fields"
    return None


def ordering_problem(a: Type, b: Type) -> str | None:
    """Why ``a < b`` is not allowed, or None."""
    common = join(a, b)
    if common is None:
        return _mismatch(a, b)
    if common is ANY or is_numeric(common) or is_text(common) or common in (DATE, DATETIME):
        return None
    return f"{common.label} values have no order"


def _numeric_result(op: str, a: Type, b: Type) -> Type | None:
    if op in "+-":
        return join(a, b)
    if op == "*":
        if a is NUMBER:
            return b
        return a if b is NUMBER else None
    # '/' and '%': a quantity divided by a plain number keeps its kind;
    # money / money is a plain ratio; '%' keeps the dividend's kind.
    if b is NUMBER:
        return a
    if a == b:
        return NUMBER if op == "/" else a
    return None


def arithmetic(op: str, a: Type, b: Type) -> Type | str:
    """The result type of ``a op b`` for ``op`` in ``+ - * / %``, or why it is wrong."""
    if a is ANY or b is ANY:
        other = b if a is ANY else a
        if other is ANY or is_numeric(other):
            return ANY
        if op == "+" and (is_text(other) or isinstance(other, ListType)):
            return ANY
        return f"'{op}' cannot be used with {other.label}"
    if is_numeric(a) and is_numeric(b):
        result = _numeric_result(op, a, b)
        if result is None:
            return f"'{op}' cannot combine {a.label} and {b.label}"
        return result
    if op == "+":
        if is_text(a) and is_text(b):
            return TEXT
        if isinstance(a, ListType) and isinstance(b, ListType):
            joined = join(a, b)
            if joined is not None:
                return joined
            return f"'+' cannot join a {a.label} and a {b.label}"
        return f"'+' cannot combine {a.label} and {b.label}"
    if is_text(a) or is_text(b):
        return f"'{op}' cannot be used with text"
    return f"'{op}' cannot combine {a.label} and {b.label}"
