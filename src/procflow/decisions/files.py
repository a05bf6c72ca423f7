"""Decision files, and scopes of tables that are checked together and may call each other.

A *scope* is the tables of one decision file, or the inline ``tables:`` of a
process (which also see the tables of the files the process lists). Each
table of a scope becomes an expression `Function` named after its id
(``MBO-GRADE`` → ``mbo_grade``) whose parameters are its inputs in declared
order; formulas in the scope may call these functions, and a process's
conditions may call the functions of every table it can see. Tables that
call each other in a circle are refused (PF514).

A scope with any error yields no tables: like a process, a decision file is
used whole or not at all.

Imports `source`, `locate`, `diagnostics`, `errors`, `cycles`, `expr`, and this
package's `model`, `builder`, `table`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from procflow.cycles import cycles
from procflow.decisions.builder import TableBuilder, function_name
from procflow.decisions.table import DecisionTable
from procflow.errors import DefinitionError
from procflow.language import expr, source
from procflow.language.diagnostics import Diagnostic
from procflow.language.locate import diagnostics_from
from procflow.language.readings import check_readings
from procflow.language.source import Document, Path_
from procflow.language.tablefile import DecisionFile, Table

Tables = dict[str, DecisionTable]


def _callable(name: str) -> bool:
    """Whether ``name(...)`` can be written in an expression (not a built-in or reserved word)."""
    probe = expr.Function(name, (), expr.NUMBER, lambda: 0)
    try:
        compiled, issues = expr.compile_expression(
            f"{name}()", {}, expect=None, functions={name: probe}
        )
    except ValueError:  # the name would replace a built-in
        return False
    return compiled is not None and not issues


def compile_scope(
    doc: Document,
    base: Path_,
    models: Mapping[str, Table],
    *,
    outside: Mapping[str, DecisionTable] | None = None,
    where: Mapping[str, str] | None = None,
) -> tuple[Tables, list[Diagnostic]]:
    """Build and check the tables ``models`` (found at ``base`` in ``doc``).

    Args:
        doc: the document the tables are in.
        base: the path of the ``tables:`` mapping.
        models: table id → model.
        outside: tables the scope may call but does not own (a process's files).
        where: for ``outside`` tables, the file each comes from (for messages).

    Returns:
        The scope's own tables (none when there is any error) and every problem.
    """
    outside = dict(outside or {})
    problems: list[Diagnostic] = []
    registry: dict[str, DecisionTable] = dict(outside)
    functions: dict[str, expr.Function] = {
        t.function.name: t.function for t in outside.values() if t.function is not None
    }
    owners = {t.function.name: t.id for t in outside.values() if t.function is not None}
    builders: dict[str, TableBuilder] = {}
    names: dict[str, str] = {}
    for tid, model in models.items():
        path = (*base, tid)
        builder = TableBuilder(doc, path, tid, model)
        builders[tid] = builder
        fn = function_name(tid)
        if tid in outside:
            origin = (where or {}).get(tid, "a decision file")
            problems.append(
                doc.diag(
                    path,
                    "PF513",
                    f"the table '{tid}' is also defined in {origin}",
                    "give each table its own id",
                    at_key=True,
                )
            )
        elif fn in owners:
            problems.append(
                doc.diag(
                    path,
                    "PF513",
                    f"the table ids '{owners[fn]}' and '{tid}' both give the function {fn}()",
                    "ids that differ only in case or '-' and '_' are the same; rename one",
                    at_key=True,
                )
            )
        elif not _callable(fn):
            problems.append(
                doc.diag(
                    path,
                    "PF207",
                    f"the table id '{tid}' cannot be called as {fn}() in conditions",
                    f"{fn} is a built-in function or a reserved word; choose another id",
                    at_key=True,
                )
            )
        else:
            owners[fn] = tid
            names[tid] = fn
    for tid, builder in builders.items():
        if builder.columns() and tid in names:
            params, result = builder.signature()
            functions[names[tid]] = expr.Function(names[tid], params, result, _bind(registry, tid))
    for tid, builder in builders.items():
        table = builder.build(functions)
        problems += builder.problems
        if table is not None:
            table.function = functions.get(names.get(tid, ""))
            registry[tid] = table
    problems += _cycles(doc, base, builders, owners)
    if any(d.is_error for d in problems):
        return {}, problems
    return {tid: registry[tid] for tid in models}, problems


def _bind(registry: Mapping[str, DecisionTable], table_id: str) -> Callable[..., Any]:
    """The function's body: looked up when called, so tables may be built in any order."""

    def call(*args: Any) -> Any:
        return registry[table_id].call(*args)

    return call


def _cycles(
    doc: Document, base: Path_, builders: Mapping[str, TableBuilder], owners: Mapping[str, str]
) -> list[Diagnostic]:
    calls = {
        tid: [owners[fn] for fn in builder.calls if fn in owners and owners[fn] in builders]
        for tid, builder in builders.items()
    }
    out: list[Diagnostic] = []
    for cycle in cycles(calls):
        first = min(cycle)
        turn = cycle.index(first)
        ordered = [*cycle[turn:], *cycle[:turn]]
        chain = " → ".join([*ordered, first])
        out.append(
            doc.diag(
                (*base, first),
                "PF514",
                f"the tables call each other in a circle: {chain}",
                "a table may use tables that do not, in turn, use it",
                at_key=True,
            )
        )
    return out


class TableFiles:
    """Loads decision files once each, however many processes list them."""

    def __init__(self) -> None:
        self.cache: dict[Path, tuple[Tables | None, list[Diagnostic]]] = {}

    def load(self, path: Path) -> tuple[Tables | None, list[Diagnostic]]:
        """The tables of a decision file (None when it has errors) and its problems."""
        key = path.resolve()
        if key not in self.cache:
            doc, problems = source.load_file(path)
            self.cache[key] = (None, problems) if doc is None else check_file(doc, problems)
        return self.cache[key]

    def load_document(
        self, doc: Document, path: Path, problems: list[Diagnostic]
    ) -> tuple[Tables | None, list[Diagnostic]]:
        """Like `load`, for a file already parsed."""
        key = path.resolve()
        if key not in self.cache:
            self.cache[key] = check_file(doc, list(problems))
        return self.cache[key]


def check_file(doc: Document, problems: list[Diagnostic]) -> tuple[Tables | None, list[Diagnostic]]:
    """Validate a parsed decision file and build its tables."""
    if not isinstance(doc.data, dict):
        problems.append(
            doc.diag(
                (),
                "PF204",
                "the top level is not a mapping",
                "a decision file starts with 'procflow: 1', 'title:' and 'tables:'",
            )
        )
        return None, problems
    try:
        model = DecisionFile.model_validate(doc.data)
    except ValidationError as exc:
        return None, problems + list(diagnostics_from(exc, doc, DecisionFile))
    tables, more = compile_scope(doc, ("tables",), model.tables)
    problems += more + check_readings(doc)
    if any(d.is_error for d in problems):
        return None, problems
    return tables, problems


def load_tables(path: str | Path) -> Tables:
    """The tables of one decision file, by id.

    Raises:
        DefinitionError: with every problem found, when there is any error.
    """
    tables, problems = TableFiles().load(Path(path))
    if tables is None:
        raise DefinitionError(problems)
    return tables
