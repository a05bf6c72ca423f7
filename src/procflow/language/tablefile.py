"""The decision-table file format as pydantic models. This module is its reference.

A decision file (``processes/decisions/mbo.yaml``) holds ``procflow: 1``, a
title and ``tables:``, a mapping of table id (``MBO-GRADE``) to `Table`. A
process may also hold tables inline under its own ``tables:`` key.

A table has typed ``inputs`` and ``outputs``, a hit policy and either
``rules`` (rows of cells) or a ``scorecard`` (weighted items). Cells and
output values are kept as written (`Any`): their meaning depends on the
column's type, so `procflow.decisions.builder` reads them and reports
problems with their own codes (PF501, PF504, PF507, PF510, ...).

Part of the language (a process's inline ``tables:`` are these models too);
the library that compiles and runs tables is `procflow.decisions`. Imports
pydantic and `shapes` only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from procflow.language.shapes import Model, ShortForm, Source, Text, as_notes

HIT_POLICIES = ("unique", "first", "priority", "any", "collect")
"""How matching rules give the outputs (see docs/decisions.md)."""
AGGREGATES = ("sum", "min", "max", "count")
"""What ``collect`` does with the outputs of every matching rule."""
COLUMN_TYPES = ("number", "money", "percent", "choice", "yesno", "date", "text")

TableId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", max_length=64)]
"""A table id from the inventory, such as ``MBO-GRADE``."""
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
ColumnType = Literal["number", "money", "percent", "choice", "yesno", "date", "text"]

_CELL_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
    ]
}
Cell = Annotated[Any, WithJsonSchema(_CELL_SCHEMA)]
"""A rule cell or output value as written; read by `procflow.decisions.builder`."""
Bound = Annotated[
    Decimal | str, WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}]})
]
"""A number, a percentage (``60%``) or a date (``2026-01-31``)."""
Weight = Annotated[
    Decimal | str,
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*-?\d"}]}),
]
"""A weight: ``40%`` or ``40``."""


Base = Model
_ShortForm = ShortForm
_as_notes = as_notes


class TableSource(Source):
    """Where a table comes from in the customer's documents (the document may be left out)."""

    document: Text = ""


class ColumnDef(_ShortForm):
    """What inputs and outputs share: a type, a title, allowed values."""

    type: ColumnType
    title: Text = ""
    of: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = None
    """The allowed values of a ``choice``; for a ``priority`` table, highest priority first."""
    notes: list[Text] = []

    _notes = field_validator("notes", mode="before", json_schema_input_type=str | list[str])(
        lambda cls, v: _as_notes(v)
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    def _check_of(self) -> None:
        if self.type == "choice":
            if not self.of:
                raise ValueError("a choice needs 'of:' with its allowed values")
            if len(set(self.of)) != len(self.of):
                raise ValueError("the allowed values in 'of:' must be different from each other")
        elif self.of is not None:
            raise ValueError(f"'of:' only applies to choices, not to {self.type}")


class InputDef(ColumnDef):
    """One typed input of a table."""

    min: Bound | None = None
    max: Bound | None = None
    integer: bool = False
    """Whole numbers only (counts, months): ``[0..5]`` and ``[6..10]`` then leave no gap."""
    default: Cell = None
    """The value used when the input is not given (for example 0 for a count of mistakes)."""

    @model_validator(mode="after")
    def _shape(self) -> InputDef:
        self._check_of()
        ordered = self.type in ("number", "money", "percent", "date")
        if not ordered and (self.min is not None or self.max is not None):
            raise ValueError(f"'min' and 'max' apply to numbers and dates, not to {self.type}")
        if self.integer and self.type not in ("number", "money", "percent"):
            raise ValueError(f"'integer' applies to numbers, not to {self.type}")
        return self


class OutputDef(ColumnDef):
    """One typed output of a table."""

    round: int | None = Field(None, ge=0, le=10)
    """Round a number to this many decimals, half up (四捨五入)."""

    @model_validator(mode="after")
    def _shape(self) -> OutputDef:
        self._check_of()
        if self.round is not None and self.type not in ("number", "money", "percent"):
            raise ValueError(f"'round' applies to numbers, not to {self.type}")
        return self


class RuleMap(Base):
    """A rule written as a mapping: input tests under ``when``, outputs under ``then``."""

    when: dict[Ident, Cell] = {}
    """Input name → cell; inputs not named match any value."""
    then: Cell
    """Output name → value or ``= formula``; just the value when the table has one output."""
    note: Text = ""


def _rule_form(value: Any) -> str | None:
    if isinstance(value, RuleMap | dict):
        return "map"
    if isinstance(value, list):
        return "row"
    return None


Rule = Annotated[
    Annotated[RuleMap, Tag("map")] | Annotated[list[Cell], Tag("row")],
    Discriminator(
        _rule_form,
        custom_error_type="rule_form",
        custom_error_message="a rule is a list of cells, or a mapping with 'when:' and 'then:'",
    ),
]
"""A row ``[cell, ..., output, ...]`` (inputs then outputs, in declared order) or a `RuleMap`."""


class Item(Base):
    """One line of a scorecard: a sub-score and its weight."""

    title: Text
    score: Annotated[str, StringConstraints(min_length=1)]
    """A formula over the inputs (no leading '='), e.g. ``work`` or ``actual / plan * 100``."""
    weight: Weight | None = None
    """Share of the total, ``40%``: the item adds ``score × weight ÷ scale``."""
    scale: Decimal | None = Field(None, gt=0)
    """What a full score is (default 100): behaviour scored 6–30 has ``scale: 30``."""
    points: Decimal | None = None
    """Instead of a weight: the score is in points already; this many of the 100 are its share."""
    source: TableSource | None = None
    notes: list[Text] = []

    _notes = field_validator("notes", mode="before", json_schema_input_type=str | list[str])(
        lambda cls, v: _as_notes(v)
    )

    @field_validator("score", mode="before", json_schema_input_type=str | int | float)
    @classmethod
    def _score_text(cls, v: Any) -> Any:
        if isinstance(v, int | Decimal) and not isinstance(v, bool):
            return str(v)
        return v

    @model_validator(mode="after")
    def _one_weight(self) -> Item:
        if (self.weight is None) == (self.points is None):
            raise ValueError("write 'weight:' (a share such as 40%) or 'points:', not both")
        if self.scale is not None and self.points is not None:
            raise ValueError("'scale' goes with 'weight', not with 'points'")
        return self


class Table(Base):
    """One decision table or scorecard."""

    title: Text
    source: TableSource | None = None
    notes: list[Text] = []
    hit: Annotated[str, WithJsonSchema({"enum": list(HIT_POLICIES)})] = "unique"
    """unique (default), first, priority, any or collect."""
    aggregate: Annotated[str, WithJsonSchema({"enum": list(AGGREGATES)})] | None = None
    """With ``hit: collect``: sum, min, max or count; without it collect gives a list."""
    inputs: dict[Ident, InputDef] = Field(min_length=1)
    outputs: dict[Ident, OutputDef] = Field(min_length=1)
    rules: list[Rule] | None = None
    scorecard: list[Item] | None = None
    default: dict[Ident, Cell] | None = None
    """Outputs given when no rule matches; a table with a default has no gaps."""

    _notes = field_validator("notes", mode="before", json_schema_input_type=str | list[str])(
        lambda cls, v: _as_notes(v)
    )

    @model_validator(mode="after")
    def _body(self) -> Table:
        if self.rules is not None and self.scorecard is not None:
            raise ValueError("a table has 'rules:' or 'scorecard:', not both")
        return self


class DecisionFile(Base):
    """A file of decision tables that processes list under ``decisions:``."""

    procflow: Literal[1]
    title: Text
    source: TableSource | None = None
    notes: list[Text] = []
    tables: dict[TableId, Table] = Field(min_length=1)

    _notes = field_validator("notes", mode="before", json_schema_input_type=str | list[str])(
        lambda cls, v: _as_notes(v)
    )


__all__ = [
    "AGGREGATES",
    "COLUMN_TYPES",
    "HIT_POLICIES",
    "DecisionFile",
    "InputDef",
    "Item",
    "OutputDef",
    "RuleMap",
    "Table",
    "TableId",
    "TableSource",
]
