"""Shared building blocks of every file format (processes, decision tables, scenarios).

Owns the pydantic base classes (unknown keys are errors; a model that may be
written as one string) and the helpers that turn short forms into lists.
Imports pydantic only, so every model module can use it without cycles.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler

StrOrList = str | list[str]
"""What the schema accepts where one word may stand for a list of one."""


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
