"""The form of a task as JSON Schema: what it asks for, and what it shows.

Owns `form_schema`, what `Engine.form` returns: a JSON Schema (draft
2020-12) of the body of a completion, made from the step and the documents
of its process (its own or its organisation file's, which the flow has
merged), with the instance's current values:

- ``properties.outcome``: the outcomes as named in the YAML (required when
  the step asks to choose one);
- ``properties.data``: one object per document the step fills, with its
  fields' types, titles, choices, bounds and the fields it requires; each
  field's ``default`` is the value it has now (else the field's default);
- ``properties.context``: the documents the step ``reads``, ``readOnly``,
  with their values as ``default``: shown, never submitted. A per-person
  form read is an ``array`` of such objects: its ``default`` holds every
  copy's values, first filled first, and ``x-procflow-copies`` says whose
  each one is (``of``: the member or item, ``by``, ``at``, ``step``).

A per-person form the step fills shows the task's own copy (a redraft's),
else the defaults.

JSON has no exact decimals, so money, numbers and percents are strings in the
plain form the engine reads (``"12000.50"``), or integers; their kind, places
and bounds are in ``x-procflow-*`` keywords, which validators ignore and
form builders (``procflow serve``'s task page) read. Choices are ``enum``s,
dates ``format: date``, yes/no booleans, lists arrays (of records for line
items).

Imports `values` and the flow's nodes and the language's documents only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from procflow.flow.ir import HumanNode
from procflow.language.model import NUMERIC, DocumentDef, FieldDef
from procflow.runtime.state import Copy, own_copy
from procflow.runtime.values import BAD, USER_ID_LENGTH, codec_for

__all__ = ["SCHEMA_DIALECT", "field_schema", "form_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


def _number_schema(f: FieldDef) -> dict[str, Any]:
    places = f.places
    fraction = r"(\.[0-9]+)?" if f.rounding is not None else rf"(\.[0-9]{{1,{places}}})?"
    if places == 0 and f.rounding is None:
        fraction = ""
    out: dict[str, Any] = {
        "type": ["string", "integer"],
        "pattern": rf"^-?[0-9]+{fraction}$",
        "x-procflow-type": f.item_type,
        "x-procflow-decimals": places,
    }
    if f.min is not None:
        out["x-procflow-minimum"] = _decimal_text(f.min)
    if f.max is not None:
        out["x-procflow-maximum"] = _decimal_text(f.max)
    return out


def _plain_schema(f: FieldDef) -> dict[str, Any]:
    """The schema of one value of ``f``'s item type (no title, no default)."""
    kind = f.item_type
    if kind in NUMERIC:
        return _number_schema(f)
    if kind == "date":
        return {"type": "string", "format": "date", "x-procflow-type": "date"}
    if kind == "datetime":
        return {"type": "string", "format": "date-time", "x-procflow-type": "datetime"}
    if kind == "choice":
        out: dict[str, Any] = {
            "type": "string",
            "enum": list(f.of or []),
            "x-procflow-type": "choice",
        }
        if f.titles:
            out["x-procflow-titles"] = dict(f.titles)
        return out
    if kind == "yesno":
        return {"type": "boolean", "x-procflow-type": "yesno"}
    if kind == "user":
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": USER_ID_LENGTH,
            "x-procflow-type": "user",
        }
    return {"type": "string", "maxLength": f.longest, "x-procflow-type": "text"}


def _stored_default(f: FieldDef) -> Any:
    """The field's default in its stored form (decimals as text, dates ISO), or None."""
    if f.default is None:
        return None
    value = codec_for(f).encode(f.default, "", {})
    return None if value is BAD else value


def field_schema(f: FieldDef, value: Any = None) -> dict[str, Any]:
    """The JSON Schema of one field, with ``value`` (stored form) as its ``default``."""
    if f.type == "list":
        if f.fields is not None:
            items: dict[str, Any] = _object_schema(f.fields, None, list(f.fields))
        else:
            items = _plain_schema(f)
        out: dict[str, Any] = {
            "type": "array",
            "items": items,
            "maxItems": f.most,
            "x-procflow-type": "list",
        }
    else:
        out = _plain_schema(f)
    if f.title:
        out["title"] = f.title
    if f.notes:
        out["description"] = " ".join(f.notes)
    if value is None:
        value = _stored_default(f)
    if value is not None:
        out["default"] = value
    return out


def _object_schema(
    fields: Mapping[str, FieldDef],
    values: Mapping[str, Any] | None,
    names: list[str],
) -> dict[str, Any]:
    values = values or {}
    return {
        "type": "object",
        "properties": {n: field_schema(fields[n], values.get(n)) for n in names if n in fields},
        "required": [n for n in names if n in fields and fields[n].required],
        "additionalProperties": False,
    }


def _document(
    name: str, doc: DocumentDef, values: Mapping[str, Any] | None, names: list[str]
) -> dict[str, Any]:
    out = _object_schema(doc.fields, values, names)
    out["title"] = doc.title
    if doc.notes:
        out["description"] = " ".join(doc.notes)
    return out


def _copies(name: str, doc: DocumentDef, kept: Sequence[Copy]) -> dict[str, Any]:
    """A per-person form read: every copy, with whose it is."""
    out: dict[str, Any] = {
        "type": "array",
        "title": doc.title,
        "items": _document(name, doc, None, list(doc.fields)),
        "default": [dict(c.values) for c in kept],
        "x-procflow-copies": [{"of": c.of, "by": c.by, "at": c.at, "step": c.step} for c in kept],
    }
    return out


def _filled(
    node: HumanNode,
    name: str,
    values: Mapping[str, Mapping[str, Any]],
    copies: Mapping[str, Sequence[Copy]],
    item: Any,
) -> Mapping[str, Any] | None:
    """The values a document the step fills has now: for a per-person form, the task's
    own copy (a redraft's: what the submission is merged onto), or None (the defaults)
    for a first one and for a form that keeps every submission (``copies: each``)."""
    if name not in node.copies:
        return values.get(name)
    if node.copies[name]:
        return None
    return own_copy(copies, name, node.id, item)


def _shown(
    name: str,
    doc: DocumentDef,
    values: Mapping[str, Mapping[str, Any]],
    copies: Mapping[str, Sequence[Copy]],
) -> dict[str, Any]:
    """A document a step reads: its values, or all its copies (a per-person form)."""
    if name in copies:
        return _copies(name, doc, copies[name])
    return _document(name, doc, values.get(name), list(doc.fields))


def form_schema(
    node: HumanNode,
    documents: Mapping[str, DocumentDef],
    values: Mapping[str, Mapping[str, Any]],
    *,
    task_id: str,
    process_id: str,
    copies: Mapping[str, Sequence[Copy]] | None = None,
    item: Any = None,
) -> dict[str, Any]:
    """The JSON Schema of completing a task of ``node`` (see the module docstring).

    Args:
        node: The step.
        documents: The process's documents (its flow's: organisation ones included).
        values: The instance's documents now, stored form.
        task_id: The task, for ``$id`` and ``x-procflow-task``.
        process_id: Its process.
        copies: The per-person forms of the process (all of them, filled or not),
            with the copies kept so far.
        item: The task's for-each member or item (stored form), whose copy it fills.
    """
    copies = copies or {}
    fills = {
        name: _document(name, documents[name], _filled(node, name, values, copies, item),
                        list(fields))
        for name, fields in node.fills.items()
        if name in documents
    }  # fmt: skip
    props: dict[str, Any] = {}
    required: list[str] = []
    outcomes = list(node.outcome_names)
    if outcomes:
        props["outcome"] = {"type": "string", "enum": outcomes, "title": "outcome"}
        if node.kind != "sign" and outcomes != ["skip"]:
            required.append("outcome")
    props["data"] = {
        "type": "object",
        "title": "documents filled",
        "properties": fills,
        "required": [n for n, s in fills.items() if s["required"]],
        "additionalProperties": False,
    }
    if fills and any(s["required"] for s in fills.values()) and "skip" not in outcomes:
        required.append("data")
    context = {
        name: {**_shown(name, documents[name], values, copies), "readOnly": True}
        for name in node.reads
        if name in documents
    }
    if context:
        props["context"] = {
            "type": "object",
            "title": "documents shown",
            "readOnly": True,
            "properties": context,
        }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"procflow:task:{task_id}",
        "title": node.title,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
        "x-procflow-task": task_id,
        "x-procflow-process": process_id,
        "x-procflow-step": node.id,
        "x-procflow-kind": node.kind,
    }
