"""Syntax tree of the expression language (untyped, as parsed).

Every node carries ``start``/``end`` offsets into the expression text so that
issues can point at the offending part. Imports nothing from procflow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A number (`Decimal`), text (`str`) or `true`/`false` (`bool`)."""

    value: object


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A top-level name: a document or a plain variable."""

    name: str


@dataclass(frozen=True, slots=True)
class Select(Node):
    """``operand.field``; ``field_start``/``field_end`` locate the field name."""

    operand: Node
    field: str
    field_start: int
    field_end: int


@dataclass(frozen=True, slots=True)
class Index(Node):
    """``operand[index]``."""

    operand: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``name(args)`` (a global function) or ``receiver.name(args)`` (a method).

    ``name_start``/``name_end`` locate the function name.
    """

    name: str
    args: tuple[Node, ...]
    receiver: Node | None
    name_start: int
    name_end: int


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``!operand`` or ``-operand``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """``left op right`` for arithmetic, comparison, ``in``, ``&&`` and ``||``."""

    op: str
    left: Node
    right: Node
    op_start: int
    op_end: int


@dataclass(frozen=True, slots=True)
class Ternary(Node):
    """``condition ? then : otherwise``."""

    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    """``[a, b, ...]``."""

    items: tuple[Node, ...]
