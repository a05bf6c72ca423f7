"""What a process does with decision tables.

- `resolve_tables`: the tables a process can see (the files under its
  ``decisions:``, resolved relative to the process file, plus its inline
  ``tables:``) and their expression functions, so that conditions may call
  ``mbo_grade(appraisal.score, false, false, false) == "A"``.
- `plan_tables`: the ``apply:`` entries of a task or sign-off made into
  `TablePlan`s of its node, with their checks (PF303, PF304, PF504, PF509,
  PF511, PF515);
- `run_tables` (what the runtime calls when a step completes, to fill the
  output fields), and `step_decisions` and `apply_tables`, the same for a
  step of a loaded process, with the explanations.

Imports `context`, the language layer and the table library (`procflow.decisions`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procflow.errors import EvaluationError
from procflow.flow.catalog import Process
from procflow.flow.context import Context
from procflow.flow.ir import HumanNode, TablePlan
from procflow.flow.layout import Placed
from procflow.language import expr
from procflow.language.diagnostics import Diagnostic, choices_hint, did_you_mean
from procflow.language.expr.typing_ import assignable
from procflow.language.model import Apply, HumanStep
from procflow.language.source import Document, Path_

if TYPE_CHECKING:
    from procflow.decisions.files import TableFiles
    from procflow.decisions.result import Decision
    from procflow.decisions.table import DecisionTable


def resolve_tables(
    process: Process, doc: Document, path: Path, files: TableFiles
) -> tuple[dict[str, DecisionTable], dict[str, expr.Function], list[Diagnostic]]:
    """The tables a process can see, their functions, and the problems found."""
    problems: list[Diagnostic] = []
    visible: dict[str, DecisionTable] = {}
    where: dict[str, str] = {}
    listed = isinstance(doc.data, dict) and isinstance(doc.data.get("decisions"), list)
    for i, rel in enumerate(process.decisions):
        at: Path_ = ("decisions", i) if listed else ("decisions",)
        file = (path.parent / rel) if path.name else Path(rel)
        if not file.is_file():
            problems.append(
                doc.diag(
                    at,
                    "PF509",
                    f"the decision file '{rel}' does not exist",
                    "give its path relative to this file",
                )
            )
            continue
        tables, more = files.load(file)
        problems += more
        if tables is None:
            problems.append(
                doc.diag(
                    at,
                    "PF509",
                    f"the decision file '{rel}' has problems",
                    "see the problems reported for that file",
                )
            )
            continue
        for tid, table in tables.items():
            if tid in visible:
                problems.append(
                    doc.diag(
                        at,
                        "PF513",
                        f"the table '{tid}' is in both {where[tid]} and {rel}",
                        "list only one of them, or rename a table",
                    )
                )
                continue
            visible[tid] = table
            where[tid] = rel
    if process.tables:
        from procflow.decisions.files import compile_scope  # noqa: PLC0415 - see `Loader.tables`

        own, more = compile_scope(doc, ("tables",), process.tables, outside=visible, where=where)
        problems += more
        visible.update(own)
    functions = {t.function.name: t.function for t in visible.values() if t.function is not None}
    return visible, functions, problems


def _output_fits(table: DecisionTable, name: str, target: expr.Type) -> str:
    """Why output ``name`` cannot be stored in a field of type ``target`` ("" when it can)."""
    function = table.function
    result = function.result if function is not None else expr.ANY
    if isinstance(result, expr.RecordType):
        result = result.fields[name]
    if isinstance(result, expr.ChoiceType) and isinstance(target, expr.ChoiceType):
        extra = [v for v in result.values if v not in target.values]
        return f"the field does not allow {', '.join(extra)}" if extra else ""
    if assignable(result, target):
        return ""
    return f"the output is {result.label}, the field is {target.label}"


def plan_tables(ctx: Context, placed: Placed, step: HumanStep) -> tuple[TablePlan, ...]:
    """The ``apply:`` entries of a step, planned: tables found, inputs compiled, outputs checked.

    Problems go to the context: the table exists (PF509, did-you-mean), every
    input it needs is given (PF515) and named correctly (PF511), each input
    expression type-checks against the documents and the input's type, and each
    output goes to an existing ``document.field`` of a compatible type (PF303,
    PF304, PF504).
    """
    plans: list[TablePlan] = []
    for i, ap in enumerate(step.apply):
        base: Path_ = (*placed.path, "apply", i)
        table = ctx.tables.get(ap.table)
        if table is None:
            hint = did_you_mean(ap.table, ctx.tables) or (
                "list its decision file under decisions:, or add it under tables:"
            )
            ctx.problems.append(
                ctx.diag(
                    (*base, "table"),
                    "PF509",
                    f"the decision table '{ap.table}' is not defined",
                    hint,
                )
            )
            continue
        inputs: list[tuple[str, expr.Expression]] = []
        for name, text in ap.inputs.items():
            column = table.input(name)
            if column is None:
                names = [c.name for c in table.inputs]
                hint = did_you_mean(name, names) or choices_hint(names)
                ctx.problems.append(
                    ctx.diag(
                        (*base, "inputs", name),
                        "PF511",
                        f"the table '{table.id}' has no input '{name}'",
                        hint,
                        at_key=True,
                    )
                )
                continue
            compiled = ctx.expression((*base, "inputs", name), text, expect=column.etype)
            if compiled is not None:
                inputs.append((name, compiled))
        for column in table.inputs:
            if column.name not in ap.inputs and not column.has_default:
                ctx.problems.append(
                    ctx.diag(
                        base,
                        "PF515",
                        f"the table '{table.id}' needs the input '{column.label}'",
                        f"add it under inputs:, e.g. {column.name}: document.field",
                    )
                )
        ctx.problems.extend(_outputs(ctx, table, ap, base))
        outputs = tuple((out, *target.split(".", 1)) for out, target in ap.outputs.items())
        plans.append(TablePlan(table.id, tuple(inputs), outputs))  # type: ignore[arg-type]
    return tuple(plans)


def _outputs(ctx: Context, table: DecisionTable, ap: Apply, base: Path_) -> Iterator[Diagnostic]:
    for name, target in ap.outputs.items():
        where = (*base, "outputs", name)
        if table.output(name) is None:
            names = [o.name for o in table.outputs]
            hint = did_you_mean(name, names) or choices_hint(names)
            yield ctx.diag(
                where, "PF511", f"the table '{table.id}' has no output '{name}'", hint, at_key=True
            )
            continue
        doc_name, field_name = target.split(".", 1)
        ctx.used_documents.add(doc_name)
        if doc_name in ctx.collections:
            yield ctx.one_form(doc_name, where, "a decision table fills one form")
            continue
        record = ctx.env.get(doc_name)
        if doc_name not in ctx.documents or not isinstance(record, expr.RecordType):
            hint = did_you_mean(doc_name, ctx.documents) or "add it under 'documents:'"
            yield ctx.diag(where, "PF303", f"the document '{doc_name}' is not defined", hint)
            continue
        field_type = record.fields.get(field_name)
        if field_type is None:
            hint = did_you_mean(field_name, record.fields) or choices_hint(record.fields)
            yield ctx.diag(
                where, "PF304", f"the document '{doc_name}' has no field '{field_name}'", hint
            )
            continue
        why = _output_fits(table, name, field_type)
        if why:
            yield ctx.diag(
                where, "PF504", f"the output '{name}' of '{table.id}' does not fit {target}: {why}"
            )


@dataclass(frozen=True)
class Applied:
    """One ``apply:`` carried out: the table's decision and the fields it fills."""

    table: str
    decision: Decision
    updates: dict[str, dict[str, Any]]
    """Document name → field name → value."""


def _node(process: Process, step: str) -> HumanNode | None:
    if not isinstance(step, str):
        raise EvaluationError("name the step by its id")
    node = process.flow.nodes.get(step)
    if node is None:
        raise EvaluationError(f"process '{process.id}' has no step '{step}'")
    return node if isinstance(node, HumanNode) else None


def run_tables(
    plans: Sequence[TablePlan],
    tables: Mapping[str, DecisionTable],
    documents: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> list[Applied]:
    """Carry out planned ``apply:`` entries in order; each sees the fields the ones before filled.

    Raises:
        EvaluationError: an input expression or a table fails (a missing field is named).
    """
    working: dict[str, Any] = {
        k: dict(v) if isinstance(v, Mapping) else v for k, v in documents.items()
    }
    done: list[Applied] = []
    for plan in plans:
        table = tables[plan.table]
        given = {name: e.evaluate(working, now=now) for name, e in plan.inputs}
        decision = table.decide(given, now=now)
        updates: dict[str, dict[str, Any]] = {}
        for out, doc_name, field_name in plan.outputs:
            value = decision.outputs[out]
            updates.setdefault(doc_name, {})[field_name] = value
            record = working.get(doc_name)
            if not isinstance(record, dict):
                record = working[doc_name] = {}
            record[field_name] = value
        done.append(Applied(table.id, decision, updates))
    return done


def step_decisions(
    process: Process,
    step: str,
    documents: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> list[Applied]:
    """Carry out the ``apply:`` list of a step, in order, with the explanations.

    Each apply sees the fields filled by the ones before it.

    Args:
        process: a process loaded with `procflow.load` (or from a catalog).
        step: the step id (steps without ``apply:`` give nothing).
        documents: document name → field name → value, as the step completes.
        now: the clock, for ``today()`` in input expressions.

    Raises:
        EvaluationError: an input expression or a table fails (a missing field
            is named), or the process has no such step.
    """
    node = _node(process, step)
    if node is None or not node.tables:
        return []
    return run_tables(node.tables, process.flow.tables, documents, now=now)


def apply_tables(
    process: Process,
    step: str,
    documents: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """The fields a step's ``apply:`` tables fill when it completes.

    Returns:
        Document name → field name → value, for the runtime to merge into the
        instance's documents (empty when the step has no ``apply:``).

    Raises:
        EvaluationError: see `step_decisions`.
    """
    merged: dict[str, dict[str, Any]] = {}
    for applied in step_decisions(process, step, documents, now=now):
        for doc_name, values in applied.updates.items():
            merged.setdefault(doc_name, {}).update(values)
    return merged
