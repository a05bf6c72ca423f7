"""The work of ``procflow decide FILE TABLE key=value ...``.

`decide_file` loads a decision file (or a process file, whose tables are the
ones it can see), finds the table, reads the ``key=value`` arguments with
each input's type (``85``, ``85%``, ``true``, ``2026-01-05``, ``A``) and
evaluates it. Every problem is a located `Diagnostic`: a problem in the file
as ``procflow check`` reports it, an unknown table (PF509), and a missing,
unknown or ill-typed value (PF516) at the declaration of the input concerned.

Imports `source`, `flow.load`, `diagnostics`, `errors`, and this package's
`files`, `table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from procflow.decisions.files import TableFiles
from procflow.decisions.result import Decision
from procflow.decisions.table import DecisionTable
from procflow.errors import EvaluationError
from procflow.flow.load import Loader
from procflow.language import source
from procflow.language.diagnostics import Diagnostic, choices_hint, did_you_mean


def _tables(file: Path) -> tuple[dict[str, DecisionTable], list[Diagnostic]]:
    doc, problems = source.load_file(file)
    if doc is None:
        return {}, problems
    data = doc.data
    if isinstance(data, dict) and "tables" in data and "steps" not in data:
        tables, problems = TableFiles().load_document(doc, file, problems)
        return tables or {}, problems
    process, problems = Loader().process_document(doc, file, problems)
    if process is None:
        return {}, problems
    return dict(process.flow.tables), problems


def _at(table: DecisionTable, name: str | None, message: str, hint: str = "") -> Diagnostic:
    line, col = table.places.get(name or "", (table.line, table.column))
    return Diagnostic(table.file, line, col, "PF516", message, hint)


def decide_file(
    file: Path, table_id: str, assignments: Sequence[str]
) -> tuple[Decision | None, list[Diagnostic]]:
    """Evaluate table ``table_id`` of ``file`` with ``key=value`` inputs.

    Returns:
        The decision, or None and the errors that prevented it.
    """
    tables, problems = _tables(file)
    errors = [d for d in problems if d.is_error]
    if errors:
        return None, errors
    table = tables.get(table_id)
    if table is None:
        hint = did_you_mean(table_id, tables) or choices_hint(tables)
        return None, [
            Diagnostic(
                str(file), 1, 1, "PF509", f"there is no decision table '{table_id}' here", hint
            )
        ]
    values: dict[str, Any] = {}
    out: list[Diagnostic] = []
    bad: set[str] = set()
    given: dict[str, str] = {}
    for text in assignments:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if sep and key in given and table.input(key) is not None:  # the later would win
            out.append(
                _at(
                    table,
                    key,
                    f"{table.id}: the input '{key}' is given twice ({given[key]}, {text})",
                    "give each input once",
                )
            )
            continue
        given[key] = text
        column = table.input(key)
        if not sep or column is None:
            names = [c.name for c in table.inputs]
            hint = (
                did_you_mean(key, names) or choices_hint(names)
                if sep
                else "write input=value, e.g. score=85"
            )
            what = f"the table has no input '{key}'" if sep else f"'{text}' is not input=value"
            out.append(_at(table, None, f"{table.id}: {what}", hint))
            continue
        try:
            values[key] = column.parse_text(raw)
        except ValueError as exc:
            bad.add(key)
            out.append(_at(table, key, f"{table.id}: the input '{key}' {exc}"))
    for column in table.inputs:
        if column.name not in values and column.name not in bad and not column.has_default:
            out.append(
                _at(
                    table,
                    column.name,
                    f"{table.id}: the input '{column.label}' is missing",
                    f"give it as {column.name}=...",
                )
            )
    if out:
        return None, out
    try:
        return table.decide(values), []
    except EvaluationError as exc:
        return None, [_at(table, None, str(exc))]
