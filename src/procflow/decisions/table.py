"""The compiled decision table and its evaluation: `DecisionTable`, `decide`, `Decision`.

A `DecisionTable` is built (and checked) by `procflow.decisions.builder`;
nothing here looks at YAML. Evaluation checks every input against its
declared type, then applies the hit policy:

- ``unique``: exactly one rule matches (checked when the table loads);
- ``first``: the first matching rule in written order;
- ``priority``: the matching rule whose first choice output comes earliest
  in that output's ``of:`` list;
- ``any``: every matching rule gives the same outputs (checked at load);
- ``collect``: every matching rule; ``aggregate`` sums, takes the least or
  greatest, or counts; without it each output is a tuple.

A scorecard adds ``score × weight ÷ scale`` (or the points) of each item.
Numbers are `Decimal` throughout, with the expression language's context.
A missing input, a value outside its type, or no matching rule raises
`EvaluationError` naming the table and the input; nothing is ever guessed.

Imports `errors`, `expr`, `diagnostics`, and this package's `columns`, `cells`, `result`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from procflow.decisions.cells import UnaryTest
from procflow.decisions.columns import InputColumn, OutputColumn, show_number
from procflow.decisions.result import Decision, Match
from procflow.errors import EvaluationError
from procflow.language.diagnostics import did_you_mean
from procflow.language.expr import Expression, Function
from procflow.language.expr.evaluator import DECIMALS

_ZERO = Decimal(0)


@dataclass(frozen=True, eq=False)
class OutputCell:
    """An output of a rule: a constant, or a formula over the inputs (written ``= ...``)."""

    text: str
    value: Any = None
    expression: Expression | None = None

    def compute(self, values: Mapping[str, Any], now: datetime | None) -> Any:
        if self.expression is None:
            return self.value
        return self.expression.evaluate(values, now=now)

    @property
    def key(self) -> tuple[str, Any]:
        """What two cells are compared by under the ``any`` policy."""
        if self.expression is not None:
            return ("=", self.expression.text.strip())
        return ("", self.value)


@dataclass(frozen=True, eq=False)
class Rule:
    """One row: a test per input and a cell per output. ``number`` counts from 1."""

    number: int
    tests: tuple[UnaryTest, ...]
    outputs: tuple[OutputCell, ...]
    note: str = ""
    line: int = 0


@dataclass(frozen=True, eq=False)
class Item:
    """One line of a scorecard."""

    number: int
    title: str
    score: Expression
    weight: Decimal
    """The share of the total: percent for weighted items, points for ``points:`` items."""
    scale: Decimal | None
    """What a full score is; None for ``points:`` items, whose score is added as it is."""
    line: int = 0


@dataclass(eq=False)
class DecisionTable:
    """A checked, compiled decision table or scorecard. Evaluate it with `decide`.

    Built by loading a decision file (`procflow.load_dir(...).tables`,
    `procflow.decisions.files.load_tables`) or a process with tables.
    """

    id: str
    title: str
    hit: str
    aggregate: str | None
    inputs: tuple[InputColumn, ...]
    outputs: tuple[OutputColumn, ...]
    rules: tuple[Rule, ...] = ()
    items: tuple[Item, ...] = ()
    default: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    file: str = "<string>"
    line: int = 0
    column: int = 0
    """Where the table's id is written."""
    places: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Input name → (line, column) of its declaration, for located messages."""
    definition: dict[str, Any] = field(default_factory=dict)
    """The table as JSON-ready data (kept with a process's definition)."""
    function: Function | None = None
    """The function that calls this table from conditions, e.g. ``mbo_grade(score)``."""

    def __post_init__(self) -> None:
        self._by_name = {c.name: c for c in self.inputs}
        self._reads: dict[int, tuple[int, ...]] = {}
        for rule in self.rules:
            names = {n for cell in rule.outputs if cell.expression for n in cell.expression.names}
            self._reads[rule.number] = tuple(
                i
                for i, (c, t) in enumerate(zip(self.inputs, rule.tests, strict=True))
                if t.any and c.name in names
            )
        self._matchers = [
            (
                rule,
                tuple((i, t.matcher()) for i, t in enumerate(rule.tests) if not t.any),
            )
            for rule in self.rules
        ]

    def __repr__(self) -> str:
        return f"DecisionTable({self.id!r}, hit={self.hit!r}, rules={len(self.rules)})"

    @property
    def scorecard(self) -> bool:
        return bool(self.items)

    def input(self, name: str) -> InputColumn | None:
        return self._by_name.get(name)

    def output(self, name: str) -> OutputColumn | None:
        return next((o for o in self.outputs if o.name == name), None)

    def error(self, message: str) -> EvaluationError:
        return EvaluationError(f"{self.id}: {message}")

    def prepare(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs checked against their types, defaults filled in.

        Raises:
            EvaluationError: an unknown, missing or ill-typed input, named.
        """
        for name in given:
            if name not in self._by_name:
                hint = did_you_mean(name, self._by_name) or (
                    "its inputs are: " + ", ".join(self._by_name)
                )
                raise self.error(f"there is no input '{name}' ({hint})")
        values: dict[str, Any] = {}
        for column in self.inputs:
            raw = given.get(column.name)
            if raw is None:
                if not column.has_default:
                    raise self.error(f"the input '{column.label}' is missing")
                values[column.name] = column.default
                continue
            try:
                values[column.name] = column.check(raw)
            except ValueError as exc:
                raise self.error(f"the input '{column.name}' {exc}") from None
        return values

    def decide(self, inputs: Mapping[str, Any], *, now: datetime | None = None) -> Decision:
        """Evaluate the table; see `decide`."""
        values = self.prepare(inputs)
        if self.items:
            return self._score(values, now)
        keys = [c.key(values[c.name]) if c.ordered else values[c.name] for c in self.inputs]
        first = self.hit == "first"
        matched: list[Rule] = []
        for rule, checks in self._matchers:
            if all(match(keys[i]) for i, match in checks):
                matched.append(rule)
                if first:
                    break
        decision = self._outputs(values, matched, now)
        if first and matched and matched[0].number > 1:
            decision = replace(decision, unmatched=self._unmatched(values, keys, matched[0]))
        return decision

    def _unmatched(
        self, values: Mapping[str, Any], keys: list[Any], winner: Rule
    ) -> tuple[str, ...]:
        out = []
        for rule, checks in self._matchers:
            if rule is winner:
                break
            i = next(i for i, match in checks if not match(keys[i]))
            column = self.inputs[i]
            out.append(
                f"rule {rule.number}: {column.name} {column.show(values[column.name])}, "
                f"not {rule.tests[i].text}"
            )
        return tuple(out)

    def _explain(self, rule: Rule, values: Mapping[str, Any], outputs: dict[str, Any]) -> Match:
        why = [
            t.why(c, values[c.name])
            for c, t in zip(self.inputs, rule.tests, strict=True)
            if not t.any
        ]
        for i in self._reads.get(rule.number, ()):
            column = self.inputs[i]
            why.append(f"{column.name} {column.show(values[column.name])}")
        return Match(rule.number, tuple(why), outputs, rule.note)

    def _row(self, rule: Rule, values: Mapping[str, Any], now: datetime | None) -> dict[str, Any]:
        return {
            o.name: o.finish(cell.compute(values, now))
            for o, cell in zip(self.outputs, rule.outputs, strict=True)
        }

    def _outputs(
        self, values: dict[str, Any], matched: list[Rule], now: datetime | None
    ) -> Decision:
        rows = [self._row(rule, values, now) for rule in matched]
        if not matched and (self.hit != "collect" or self.aggregate in ("min", "max")):
            if self.default is None:
                shown = ", ".join(f"{c.name} {c.show(values[c.name])}" for c in self.inputs)
                raise self.error(f"no rule matches {shown}")
            return Decision(self.id, self.title, values, dict(self.default), ())
        if self.hit == "collect":
            outputs = self._collect(rows)
        else:
            pick = 0
            if self.hit == "unique" and len(rows) > 1:
                numbers = ", ".join(str(r.number) for r in matched)
                raise self.error(f"rules {numbers} all match, but the hit policy is unique")
            if self.hit == "any" and any(r != rows[0] for r in rows[1:]):
                numbers = ", ".join(str(r.number) for r in matched)
                raise self.error(f"rules {numbers} match with different outputs (hit policy any)")
            if self.hit == "priority":
                pick = min(range(len(rows)), key=lambda i: self._rank(rows[i]))
            matched, rows = [matched[pick]], [rows[pick]]
            outputs = dict(rows[0])
        explained = tuple(
            self._explain(r, values, row) for r, row in zip(matched, rows, strict=True)
        )
        return Decision(self.id, self.title, values, outputs, explained)

    def _rank(self, row: Mapping[str, Any]) -> int:
        out = next(o for o in self.outputs if o.kind == "choice")
        return out.choices.index(row[out.name])

    def _collect(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for o in self.outputs:
            found = [row[o.name] for row in rows]
            if self.aggregate is None:
                outputs[o.name] = tuple(found)
            elif self.aggregate == "count":
                outputs[o.name] = Decimal(len(found))
            elif self.aggregate == "sum":
                total = _ZERO
                for v in found:
                    total = DECIMALS.add(total, v)
                outputs[o.name] = o.finish(total)
            else:
                outputs[o.name] = min(found) if self.aggregate == "min" else max(found)
        return outputs

    def _score(self, values: dict[str, Any], now: datetime | None) -> Decision:
        out = self.outputs[0]
        total = _ZERO
        matched = []
        for item in self.items:
            score = item.score.evaluate(values, now=now)
            read = ", ".join(
                f"{c.name} {c.show(values[c.name])}"
                for c in self.inputs
                if c.name in item.score.names
            )
            title = f"{item.title} ({read})" if read else item.title
            if item.scale is None:
                part = score
                why = f"{title}: {show_number(score)} points"
            else:
                part = DECIMALS.divide(DECIMALS.multiply(score, item.weight), item.scale)
                scale = "" if item.scale == 100 else f" / {show_number(item.scale)}"
                why = (
                    f"{title}: {show_number(score)}{scale} × {show_number(item.weight)}%"
                    f" = {show_number(part)}"
                )
            total = DECIMALS.add(total, part)
            matched.append(Match(item.number, (why,), {out.name: part}, item.title, item=True))
        outputs = {out.name: out.finish(total)}
        return Decision(self.id, self.title, values, outputs, tuple(matched))

    def call(self, *args: Any) -> Any:
        """The table as a function of its inputs, in declared order (see `function`)."""
        decision = self.decide({c.name: v for c, v in zip(self.inputs, args, strict=True)})
        if len(self.outputs) == 1:
            return decision.outputs[self.outputs[0].name]
        return dict(decision.outputs)


def decide(
    table: DecisionTable, inputs: Mapping[str, Any], *, now: datetime | None = None
) -> Decision:
    """Evaluate a decision table or scorecard.

    Args:
        table: a loaded table, e.g. ``procflow.load_dir("processes").tables["MBO-GRADE"]``.
        inputs: input name → value: `Decimal` or `int` for numbers, money and
            percent (``85`` means 85 %), `str` for choices and text, `bool`
            for yes/no, `datetime.date` for dates. Inputs with a declared
            default may be left out.
        now: the clock, for formulas that use ``today()``.

    Returns:
        The outputs and the rules that matched, with why.

    Raises:
        EvaluationError: an input is missing, unknown or does not fit its type;
            no rule matches and there is no default; a formula fails.
    """
    return table.decide(inputs, now=now)
