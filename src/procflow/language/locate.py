"""Turn pydantic validation errors into located, plain-words diagnostics.

Owns the mapping from a pydantic error location (which includes union tags
such as ``'task'``) back to the path inside the YAML document, and the
wording: an unknown key points at the key (with did-you-mean over the keys
that model accepts), a missing key at its parent, a bad value at the value.

Imports `source`, `diagnostics` and pydantic only.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.model import KIND_KEYS, Step, step_kind
from procflow.language.source import Document, Path_

_IDENT_PATTERN = "^[A-Za-z][A-Za-z0-9_]*$"

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "date_type": "a date such as 2026-01-31",
    "date_parsing": "a date such as 2026-01-31",
    "date_from_datetime_parsing": "a date such as 2026-01-31",
}


def _data_path(data: Any, loc: tuple[str | int, ...]) -> Path_:
    """The document path of a pydantic ``loc``, dropping union tags and validator names."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict | list):
            # a union tag ('task'), a field that is missing, or a function validator name
            continue
        else:
            break
    return tuple(path)


def _kind_key_typo(data: Any, path: Path_) -> tuple[str, str] | None:
    """In a step with no key that marks its kind, a key that is a misspelt one ('actr'),
    and its did-you-mean hint; None when there is no such key."""
    step = data
    for part in path:
        step = step[part]
    if not isinstance(step, dict) or any(k in KIND_KEYS for k in step):
        return None
    known: set[str] = set()  # the keys of every kind of step ('not_by' is no typo)
    for member in typing.get_args(typing.get_args(Step)[0]):
        known.update(_allowed_keys(typing.get_args(member)[0]))
    for key in step:
        if key in known:
            continue
        hint = did_you_mean(str(key), list(KIND_KEYS))
        if hint:
            return str(key), hint
    return None


def _model_at(
    root: type[BaseModel], data: Any, loc: tuple[str | int, ...]
) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (for did-you-mean on keys)."""
    current: Any = root
    node = data
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            f = _field(current, part)
            if f is None:
                continue  # a union tag
            current = f
            node = node.get(part) if isinstance(node, dict) else None
        else:
            current = _unwrap(current, part, node)
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
        if current is None:
            return None
    current = _unwrap(current, None, node)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field(model: type[BaseModel], name: str | int) -> Any:
    for fname, info in model.model_fields.items():
        if name in (fname, info.alias):
            return info.annotation
    return None


def _unwrap(tp: Any, part: str | int | None, node: Any) -> Any:
    """Step into list/dict/Optional/Annotated/Union types toward a model class."""
    for _ in range(8):
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            tp = args[0]
            continue
        if origin in (Union, types.UnionType):
            models = [
                a
                for a in (_unwrap(x, None, node) for x in args)
                if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if part is not None:
                models = [m for m in (_unwrap(x, part, node) for x in args) if m is not None]
            kind = step_kind(node)
            for m in models:
                if (
                    isinstance(m, type)
                    and issubclass(m, BaseModel)
                    and kind
                    and getattr(m, "__name__", "").lower().startswith(kind)
                ):
                    return m
            return models[0] if models else None
        if origin in (list, tuple) and part is not None and isinstance(part, int):
            return args[0] if args else None
        if origin is dict and part is not None:
            return args[1] if len(args) > 1 else None
        return tp
    return tp


def _allowed_keys(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def diagnostics_from(
    error: ValidationError, doc: Document, root: type[BaseModel]
) -> Iterator[Diagnostic]:
    """Located diagnostics for every error pydantic found, one per place."""
    seen: set[tuple[Path_, str]] = set()
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        etype = err["type"]
        path = _data_path(doc.data, loc)
        if etype == "extra_forbidden":
            key = loc[-1]
            parent_loc = loc[:-1]
            allowed = _allowed_keys(_model_at(root, doc.data, parent_loc))
            hint = did_you_mean(str(key), allowed)
            if not hint and allowed:
                hint = "allowed here: " + ", ".join(sorted(allowed))
            item = ((*path, str(key)) if path[-1:] != (key,) else path), "PF201"
            if item in seen:
                continue
            seen.add(item)
            yield doc.diag(item[0], "PF201", f"unknown key '{key}'", hint, at_key=True)
            continue
        if etype == "missing":
            key = loc[-1]
            if (path, f"missing:{key}") in seen:
                continue
            seen.add((path, f"missing:{key}"))
            yield doc.diag(
                path, "PF202", f"'{key}' is missing here", f"add '{key}:'", at_key=bool(path)
            )
            continue
        if etype in ("step_kind", "union_tag_not_found", "union_tag_invalid"):
            if (path, "kind") in seen:
                continue
            seen.add((path, "kind"))
            typo = _kind_key_typo(doc.data, path)
            if typo is not None:  # 'actr: pmm': the kind is there, misspelt
                key, hint = typo
                yield doc.diag((*path, key), "PF201", f"unknown key '{key}'", hint, at_key=True)
                continue
            yield doc.diag(
                path,
                "PF205",
                "a step needs exactly one kind: "
                "actor, sign, branch, parallel, notify, call, handoff or end",
                "a task has 'actor:'; a sign-off has 'sign:'; see docs/language.md",
            )
            continue
        if (path, "value") in seen:
            continue
        seen.add((path, "value"))
        yield _value_problem(doc, path, err)


def _yaml(value: bool | int | float | Decimal | date) -> str:
    """A scalar as it was written in YAML (``true``, not Python's ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def _value_problem(doc: Document, path: Path_, err: Any) -> Diagnostic:
    etype: str = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if etype == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [
            o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()
        ]
        if path == ("procflow",):
            return doc.diag(
                path,
                "PF206",
                f"procflow: {shown} is not a language version this procflow knows",
                "write 'procflow: 1'",
            )
        hint = did_you_mean(str(value), options) or f"expected {expected}"
        return doc.diag(path, "PF203", f"{shown} is not allowed here", hint)
    if etype == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if pattern == _IDENT_PATTERN or "A-Za-z" in pattern:
            return doc.diag(
                path,
                "PF207",
                f"{shown} is not a valid name",
                "use letters, digits and '_', starting with a letter; keys are ASCII, "
                "so put Chinese in 'title:'",
            )
        return doc.diag(
            path, "PF203", f"{shown} is not in the expected form", "see docs/language.md"
        )
    if etype == "string_too_long":
        return doc.diag(
            path, "PF203", "the text is too long", f"at most {ctx.get('max_length')} characters"
        )
    if etype in ("too_short", "too_long"):
        return doc.diag(path, "PF203", str(err["msg"]).replace("List", "the list"), "")
    if etype == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        return doc.diag(path, "PF203", msg)
    if etype == "string_type" and isinstance(value, dict):
        return doc.diag(
            path,
            "PF203",
            "this should be text, but YAML read a mapping",
            "put the text in quotes: a ': ' inside it starts a mapping",
        )
    if etype in _TYPE_WORDS:
        return _wrong_type(doc, path, _TYPE_WORDS[etype], value, shown)
    return doc.diag(path, "PF203", str(err["msg"]), "")


def _wrong_type(doc: Document, path: Path_, wanted: str, value: Any, shown: str) -> Diagnostic:
    if value is None:  # `key:` with nothing after it
        return doc.diag(
            path,
            "PF203",
            f"the value is empty; it should be {wanted}",
            "write the value after the ':', or remove the key",
        )
    if wanted == "text" and isinstance(value, bool | int | float | Decimal | date):
        written = _yaml(value)
        return doc.diag(
            path,
            "PF203",
            f"{written} should be text",
            f"put it in quotes to keep it as text: '{written}'",
        )
    return doc.diag(path, "PF203", f"{shown} should be {wanted}")
