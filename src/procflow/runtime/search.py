"""Searchable fields: the values an instance is found by, and the values a query asks for.

Owns the one form both sides use, so that equal values meet in the index:
the stored form of the field's value (`values`: decimals as text, dates as
ISO text, yes/no as booleans), numbers written one way (``12000.00``,
``12000.0`` and ``12000`` are all ``12000``), as compact JSON text.

- `stored` gives an instance's values, from its documents, for `Commit.search`.
- `asked` checks ``where=`` of `Engine.instances`: each field must be
  declared searchable (``search:``) by the process asked for, or by some
  process of the catalog; its value is encoded with the field's codec.

Imports `program`, `values`, `errors` and `store.base` (the JSON encoder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from procflow.errors import InvalidArgument
from procflow.runtime.program import Program
from procflow.runtime.values import BAD
from procflow.store.base import dumps

__all__ = ["asked", "stored"]


def _canonical(value: Any) -> Any:
    """A stored number (decimal text) written one way: no exponent, no trailing zeros."""
    try:
        text = format(Decimal(value).normalize(), "f")
    except (InvalidOperation, TypeError, ValueError):
        return value
    return "0" if text == "-0" else text


def stored(
    program: Program, documents: Mapping[str, Mapping[str, Any]]
) -> tuple[tuple[str, str], ...]:
    """The searchable values of an instance with these documents (stored form)."""
    found = []
    for name, doc, field, numeric in program.search:
        value = documents.get(doc, {}).get(field)
        if value is not None:
            found.append((name, dumps(_canonical(value) if numeric else value, what=name)))
    return tuple(found)


def asked(
    programs: Iterable[Program], where: Mapping[Any, Any], *, process_id: str | None
) -> tuple[tuple[str, str], ...]:
    """``where=`` as (field, value) pairs for the store.

    Args:
        programs: The current definitions the fields may be declared by (one, when
            a process was asked for).

    Raises:
        InvalidArgument: A field is not searchable, or a value does not fit its field.
    """
    known: dict[str, tuple[Program, str, str, bool]] = {}
    for program in programs:
        for name, doc, field, numeric in program.search:
            known.setdefault(name, (program, doc, field, numeric))
    pairs = []
    for name, value in where.items():
        found = known.get(name) if isinstance(name, str) else None
        if found is None:
            which = (
                f"process {process_id!r}"
                if process_id is not None
                else "any process of the catalog"
            )
            fields = ", ".join(sorted(known)) or "none"
            raise InvalidArgument(
                f"where=: {name!r} is not a searchable field of {which} (searchable: {fields});"
                " list it under 'search:' in the process file"
            )
        program, doc, field, numeric = found
        problems: dict[str, str] = {}
        encoded = program.codecs[doc][field].encode(value, name, problems)
        if encoded is BAD:
            raise InvalidArgument(
                f"where=: {name}: {problems.get(name, 'not a value of this field')}"
            )
        pairs.append((name, dumps(_canonical(encoded) if numeric else encoded, what=name)))
    return tuple(pairs)
