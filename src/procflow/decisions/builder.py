"""Build a `DecisionTable` from its model and report every problem, located in the YAML.

`TableBuilder` works in two phases, so that tables of one file may call each
other: `TableBuilder.columns` reads the inputs and outputs (which give the
table's function signature), then `TableBuilder.build` reads the rules or
scorecard, compiling formulas with every table's function available, and runs
the whole-table checks of `checks` (policy, scorecard weights, the sweep of
`analysis`). Formulas are recorded in ``calls`` so that `files` can refuse
tables that call each other in a circle.

Codes: PF501 cell syntax, PF502 gap, PF503 overlap (or different outputs
under ``any``), PF504 a value or formula that does not fit its type, PF505
unreachable under ``first``, PF506 no rules, PF507 unknown hit policy or
aggregation, PF508 scorecard weights (a warning), PF510 cell counts, PF511
unknown input or output names, PF512 a policy that does not fit the table,
PF517 a table too irregular to check fully (a warning); formulas report the
expression codes PF4xx.

Imports `source`, `diagnostics`, `expr`, and this package's `model`, `columns`,
`syntax`, `cells`, `table`, `checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from procflow.decisions.cells import build_test
from procflow.decisions.columns import (
    InputColumn,
    OutputColumn,
    fits,
    literal_hint,
    literal_value,
    parse_date,
    show_number,
)
from procflow.decisions.syntax import CellProblem, literal_test, parse_cell, parse_list_cell
from procflow.decisions.table import DecisionTable, Item, OutputCell, Rule
from procflow.decisions.verify import (
    build_default,
    build_scorecard,
    called_functions,
    check_policy,
    check_rules,
)
from procflow.language import expr
from procflow.language.diagnostics import Diagnostic, choices_hint, did_you_mean
from procflow.language.source import Document, Path_, pointer
from procflow.language.tablefile import Table


def function_name(table_id: str) -> str:
    """The name that calls a table from conditions: ``MBO-GRADE`` → ``mbo_grade``."""
    return table_id.lower().replace("-", "_")


class TableBuilder:
    """Builds one table; read ``problems`` afterwards."""

    def __init__(self, doc: Document, base: Path_, table_id: str, model: Table) -> None:
        self.doc = doc
        self.base = base
        self.id = table_id
        self.model = model
        self.problems: list[Diagnostic] = []
        self.inputs: tuple[InputColumn, ...] = ()
        self.outputs: tuple[OutputColumn, ...] = ()
        self.calls: set[str] = set()
        self.env: dict[str, expr.Type] = {}

    # -- diagnostics ----------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.problems)

    def diag(
        self,
        path: Path_,
        code: str,
        message: str,
        hint: str = "",
        *,
        at_key: bool = False,
        warning: bool = False,
    ) -> None:
        full = (*self.base, *path)
        self.problems.append(
            self.doc.diag(full, code, message, hint, at_key=at_key, warning=warning)
        )

    def at(self, path: Path_, text: Any, start: int, problem: tuple[str, str, str]) -> None:
        """A diagnostic (code, message, hint) at character ``start`` of the scalar ``text``."""
        code, message, hint = problem
        full = (*self.base, *path)
        if isinstance(text, str):
            line, col = self.doc.positions.in_scalar(full, start, text)
            self.problems.append(
                Diagnostic(self.doc.file, line, col, code, message, hint, pointer=pointer(full))
            )
        else:
            self.diag(path, code, message, hint)

    def line(self, path: Path_) -> int:
        return self.doc.positions.value((*self.base, *path))[0]

    # -- phase 1: columns ----------------------------------------------------------------
    def columns(self) -> bool:
        """Read the inputs and outputs; False when they have problems."""
        before = len(self.problems)
        inputs = []
        for name, d in self.model.inputs.items():
            column = InputColumn(
                name,
                d.type,
                d.title,
                tuple(d.of or ()),
                self._bound(name, "min", d.min, d.type),
                self._bound(name, "max", d.max, d.type),
                d.integer,
            )
            lo, hi = column.minimum, column.maximum
            if lo is not None and hi is not None and lo > hi:
                self.diag(("inputs", name, "min"), "PF504", f"the min of '{name}' is above its max")
            if d.default is not None:
                try:
                    raw = d.default
                    value = (
                        column.parse_text(raw)
                        if isinstance(raw, str) and d.type not in ("choice", "text")
                        else column.check(raw)
                    )
                    column = replace(column, default=value)
                except ValueError as exc:
                    self.diag(
                        ("inputs", name, "default"), "PF504", f"the default of '{name}' {exc}"
                    )
            inputs.append(column)
        self.inputs = tuple(inputs)
        self.outputs = tuple(
            OutputColumn(name, d.type, d.title, tuple(d.of or ()), d.round)
            for name, d in self.model.outputs.items()
        )
        self.env = {c.name: c.etype for c in self.inputs}
        return len(self.problems) == before

    def _bound(self, name: str, key: str, raw: Any, kind: str) -> Decimal | None:
        if raw is None:
            return None
        if kind == "date":
            day = parse_date(raw) if isinstance(raw, str) else None
            if day is None:
                self.diag(
                    ("inputs", name, key),
                    "PF504",
                    f"the {key} of a date input is a date",
                    "write it as 2026-01-31",
                )
                return None
            return Decimal(day.toordinal())
        if isinstance(raw, Decimal):
            return raw
        text = str(raw).strip()
        text = text[:-1] if kind == "percent" and text.endswith("%") else text
        try:
            return Decimal(text)
        except InvalidOperation:
            self.diag(("inputs", name, key), "PF504", f"the {key} of '{name}' is not a number")
            return None

    def signature(self) -> tuple[tuple[expr.Type, ...], expr.Type]:
        """Parameter types (the inputs, in order) and result type of the table's function."""
        collect_list = self.model.hit == "collect" and self.model.aggregate is None

        def one(o: OutputColumn) -> expr.Type:
            if self.model.aggregate == "count" and self.model.hit == "collect":
                return expr.NUMBER
            return expr.ListType(o.etype) if collect_list else o.etype

        params = tuple(c.etype for c in self.inputs)
        if len(self.outputs) == 1:
            return params, one(self.outputs[0])
        return params, expr.RecordType(
            function_name(self.id), tuple((o.name, one(o)) for o in self.outputs)
        )

    # -- phase 2: the body --------------------------------------------------------------
    def build(self, functions: Mapping[str, expr.Function]) -> DecisionTable | None:
        """The table, or None when it has errors (warnings keep it)."""
        self.functions = functions
        check_policy(self)
        rules: tuple[Rule, ...] = ()
        items: tuple[Item, ...] = ()
        if self.model.scorecard is not None:
            items = build_scorecard(self)
        else:
            rules = self._rules()
        default = build_default(self)
        if self.failed:
            return None
        if rules:
            check_rules(self, rules, has_default=default is not None)
        if self.failed:
            return None
        places = {
            c.name: self.doc.positions.key((*self.base, "inputs", c.name)) for c in self.inputs
        }
        return DecisionTable(
            id=self.id,
            title=self.model.title,
            hit=self.model.hit,
            aggregate=self.model.aggregate,
            inputs=self.inputs,
            outputs=self.outputs,
            rules=rules,
            items=items,
            default=default,
            notes=tuple(self.model.notes),
            file=self.doc.file,
            line=self.doc.positions.key(self.base)[0],
            column=self.doc.positions.key(self.base)[1],
            places=places,
            definition=self.model.model_dump(mode="json", exclude_defaults=True),
        )

    # -- rules ------------------------------------------------------------------------
    def _rules(self) -> tuple[Rule, ...]:
        rules_model = self.model.rules
        if not rules_model:
            self.diag(
                ("rules",) if rules_model is not None else (),
                "PF506",
                f"the table '{self.id}' has no rules",
                "add rules: with one row per case",
                at_key=True,
            )
            return ()
        n_in, n_out = len(self.inputs), len(self.outputs)
        built: list[Rule] = []
        for i, rule in enumerate(rules_model):
            rpath: Path_ = ("rules", i)
            cells: list[tuple[Any, Path_ | None]]
            outs: list[tuple[Any, Path_]]
            note = ""
            if isinstance(rule, list):
                if len(rule) != n_in + n_out:
                    names = ", ".join(c.name for c in self.inputs)
                    onames = ", ".join(o.name for o in self.outputs)
                    self.diag(
                        rpath,
                        "PF510",
                        f"rule {i + 1} has {len(rule)} cells, but the table has "
                        f"{n_in} input(s) and {n_out} output(s)",
                        f"write {n_in + n_out} cells: {names}, then {onames}",
                    )
                    continue
                cells = [(rule[j], (*rpath, j)) for j in range(n_in)]
                outs = [(rule[n_in + k], (*rpath, n_in + k)) for k in range(n_out)]
            else:
                note = rule.note
                for key in rule.when:
                    if self._column(key) is None:
                        hint = did_you_mean(key, self.env) or choices_hint(self.env)
                        self.diag(
                            (*rpath, "when", key),
                            "PF511",
                            f"the table has no input '{key}'",
                            hint,
                            at_key=True,
                        )
                cells = [
                    (rule.when[c.name], (*rpath, "when", c.name))
                    if c.name in rule.when
                    else ("-", None)
                    for c in self.inputs
                ]
                found = self._then(i, rule.then, rpath)
                if found is None:
                    continue
                outs = found
            tests = [
                self._cell(c, raw, path) for c, (raw, path) in zip(self.inputs, cells, strict=True)
            ]
            outcells = [
                self.output_cell(o, raw, path)
                for o, (raw, path) in zip(self.outputs, outs, strict=True)
            ]
            if any(t is None for t in tests) or any(o is None for o in outcells):
                continue
            built.append(
                Rule(
                    i + 1,
                    tuple(t for t in tests if t is not None),
                    tuple(o for o in outcells if o is not None),
                    note,
                    self.line(rpath),
                )
            )
        return tuple(built)

    def _column(self, name: str) -> InputColumn | None:
        return next((c for c in self.inputs if c.name == name), None)

    def _then(self, i: int, then: Any, rpath: Path_) -> list[tuple[Any, Path_]] | None:
        if isinstance(then, dict):
            names = {o.name for o in self.outputs}
            for key in then:
                if key not in names:
                    hint = did_you_mean(key, names) or choices_hint(names)
                    self.diag(
                        (*rpath, "then", key),
                        "PF511",
                        f"the table has no output '{key}'",
                        hint,
                        at_key=True,
                    )
            missing = [o.name for o in self.outputs if o.name not in then]
            if missing:
                self.diag(
                    (*rpath, "then"),
                    "PF510",
                    f"rule {i + 1} gives no value for the output '{missing[0]}'",
                    "give every output a value",
                    at_key=True,
                )
                return None
            return [(then[o.name], (*rpath, "then", o.name)) for o in self.outputs]
        if len(self.outputs) == 1:
            return [(then, (*rpath, "then"))]
        self.diag(
            (*rpath, "then"),
            "PF510",
            f"rule {i + 1} gives one value, but the table has {len(self.outputs)} outputs",
            "write then: {output: value, ...}",
            at_key=True,
        )
        return None

    def _cell(self, column: InputColumn, raw: Any, path: Path_ | None) -> Any:
        if path is None:
            return build_test(column, None, "-")
        text = raw if isinstance(raw, str) else ""
        try:
            if isinstance(raw, str):
                parsed = parse_cell(raw)
            elif isinstance(raw, bool | int | Decimal):
                parsed = literal_test(column, raw)
                text = (
                    "true"
                    if raw is True
                    else "false"
                    if raw is False
                    else show_number(Decimal(raw))
                )
            elif isinstance(raw, list):
                parsed, text = parse_list_cell(column, raw)
            elif raw is None:
                raise CellProblem("PF501", "the cell is empty", "write - for any value")
            else:
                raise CellProblem(
                    "PF501", "a cell is a value or a test such as < 60, not a mapping"
                )
            return build_test(column, parsed, text)
        except CellProblem as p:
            if p.item is not None and isinstance(raw, list):
                self.at((*path, p.item), raw[p.item], p.start, (p.code, p.message, p.hint))
            else:
                self.at(path, raw, p.start, (p.code, p.message, p.hint))
            return None

    # -- outputs ------------------------------------------------------------------------
    def output_cell(self, out: OutputColumn, raw: Any, path: Path_) -> OutputCell | None:
        if isinstance(raw, str) and raw.lstrip().startswith("="):
            start = raw.index("=") + 1
            compiled = self.formula(raw, start, path)
            if compiled is None:
                return None
            if not fits(out.kind, compiled.type) or (
                isinstance(compiled.type, expr.ChoiceType)
                and not set(compiled.type.values) <= set(out.choices or compiled.type.values)
            ):
                self.diag(
                    path,
                    "PF504",
                    f"the formula gives {compiled.type.label}, but the output "
                    f"'{out.name}' is {out.etype.label}",
                )
                return None
            return OutputCell(raw.strip(), expression=compiled)
        try:
            value = literal_value(out, raw)
        except ValueError as exc:
            self.diag(path, "PF504", str(exc), literal_hint(out))
            return None
        return OutputCell(out.show(value), value=value)

    def formula(self, text: str, start: int, path: Path_) -> expr.Expression | None:
        """Compile ``text[start:]`` over the inputs; issues located inside the scalar."""
        body = text[start:]
        compiled, issues = expr.compile_expression(
            body, self.env, expect=None, functions=self.functions
        )
        for issue in issues:
            self.at(path, text, start + issue.start, (issue.code, issue.message, issue.hint))
        self.calls |= called_functions(body, self.functions)
        return compiled

    # -- scorecards ---------------------------------------------------------------------
    # -- static checks ------------------------------------------------------------------
