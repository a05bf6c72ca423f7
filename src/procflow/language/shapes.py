"""Shared building blocks of every file format (processes, decision tables, scenarios).

Owns the pydantic base classes (unknown keys are errors; a model that may be
written as one string) and the helpers that turn short forms into lists.
Imports pydantic only, so every model module can use it without cycles.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
    model_validator,
)

StrOrList = str | list[str]
"""What the schema accepts where one word may stand for a list of one."""
Text = Annotated[str, StringConstraints(max_length=2000)]
"""Free text: titles, notes, messages."""
Lines = Annotated[
    str, StringConstraints(pattern=r"^\d+(\s*[-–]\s*\d+)?(\s*,\s*\d+(\s*[-–]\s*\d+)?)*$")
]
"""Line numbers in the source text: ``64-80``, ``250, 256``."""


class Model(BaseModel):
    """Base of every language model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ShortForm(Model):
    """A model that may also be written as one string (its main field)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {"anyOf": [{"type": "string"}, handler(core_schema)]}


def as_list(value: Any) -> Any:
    """One word as a list of one; anything else unchanged (pydantic checks it)."""
    return [value] if isinstance(value, str) else value


def as_notes(value: Any) -> Any:
    """Notes as a list: none, one text, or a list of texts."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class Source(ShortForm):
    """Where a process or table comes from in the customer's documents."""

    document: Text
    lines: Lines = ""
    section: Text = ""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"document": value} if isinstance(value, str) else value

    @field_validator("lines", mode="before", json_schema_input_type=str | int)
    @classmethod
    def _lines_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v
