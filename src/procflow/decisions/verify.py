"""The checks of a whole table: hit policy, scorecard weights, gaps, overlaps, reachability.

Functions over the table being built, which they read and report through
(`TableParts`, the part of `build.TableParts` they need):

- `check_policy`: PF507 for an unknown hit policy or aggregation (with
  did-you-mean), PF512 for one that does not fit the table;
- `build_scorecard`: the items of a scorecard, and PF508 (a warning) when
  their weights do not add up to 100, naming each weight's line;
- `build_default`: the outputs given when no rule matches;
- `check_rules`: the exact sweep of `analysis`, reported as PF502 (gaps),
  PF503 (overlaps under ``unique``, different outputs under ``any``) and
  PF505 (rules ``first`` never reaches);
- `called_functions`: which table functions a formula calls (for PF514).

Imports `expr`, `diagnostics`, and this package's `analysis`, `columns`,
`table` and `procflow.language.tablefile`; never `builder`, which imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from procflow.decisions.analysis import MAX_PARTNERS, MAX_WORK, analyse, region_text
from procflow.decisions.columns import (
    InputColumn,
    OutputColumn,
    fits,
    literal_hint,
    literal_value,
    show_number,
)
from procflow.decisions.table import Item, Rule
from procflow.language import expr
from procflow.language.diagnostics import choices_hint, did_you_mean
from procflow.language.expr.issues import ExprFailure
from procflow.language.expr.nodes import Call, Node
from procflow.language.expr.parser import parse
from procflow.language.source import Path_
from procflow.language.tablefile import AGGREGATES, HIT_POLICIES, Table


class TableParts(Protocol):
    """What the table checks read and report through (`build.TableParts` has it)."""

    id: str
    model: Table
    inputs: tuple[InputColumn, ...]
    outputs: tuple[OutputColumn, ...]

    def diag(
        self,
        path: Path_,
        code: str,
        message: str,
        hint: str = "",
        *,
        at_key: bool = False,
        warning: bool = False,
    ) -> None: ...
    def line(self, path: Path_) -> int: ...
    def formula(self, text: str, start: int, path: Path_) -> expr.Expression | None: ...


def check_policy(b: TableParts) -> None:
    m = b.model
    if m.hit not in HIT_POLICIES:
        hint = did_you_mean(m.hit, HIT_POLICIES) or choices_hint(HIT_POLICIES)
        b.diag(("hit",), "PF507", f"'{m.hit}' is not a hit policy", hint)
    if m.aggregate is not None and m.aggregate not in AGGREGATES:
        hint = did_you_mean(m.aggregate, AGGREGATES) or choices_hint(AGGREGATES)
        b.diag(("aggregate",), "PF507", f"'{m.aggregate}' is not an aggregation", hint)
    if m.scorecard is not None:
        for key in ("hit", "aggregate", "default"):
            if key in m.model_fields_set:
                b.diag(
                    (key,),
                    "PF512",
                    f"a scorecard adds up its items; '{key}' does not apply",
                    f"remove '{key}:'",
                    at_key=True,
                )
        if len(b.outputs) != 1 or not b.outputs[0].numeric:
            b.diag(
                ("outputs",),
                "PF512",
                "a scorecard has one number output, its total",
                "declare one output, e.g. score: number",
                at_key=True,
            )
        return
    if m.aggregate is not None and m.hit != "collect":
        b.diag(
            ("aggregate",),
            "PF512",
            "'aggregate' only applies to hit: collect",
            "write hit: collect, or remove aggregate",
            at_key=True,
        )
    if m.hit == "priority" and not any(o.kind == "choice" for o in b.outputs):
        b.diag(
            ("hit",),
            "PF512",
            "the priority policy ranks rules by a choice output's 'of:' list, "
            "and this table has no choice output",
            "use hit: first, or add a choice",
        )
    if m.hit == "collect" and m.aggregate in ("sum", "min", "max"):
        for o in b.outputs:
            if not o.numeric:
                b.diag(
                    ("outputs", o.name),
                    "PF512",
                    f"'{m.aggregate}' needs number outputs, and '{o.name}' is {o.kind}",
                    "use aggregate: count, or collect without aggregate",
                    at_key=True,
                )


def build_scorecard(b: TableParts) -> tuple[Item, ...]:
    items_model = b.model.scorecard or []
    if not items_model:
        b.diag(
            ("scorecard",),
            "PF506",
            f"the scorecard '{b.id}' has no items",
            "add one item per line of the appraisal",
            at_key=True,
        )
        return ()
    items: list[Item] = []
    parts: list[str] = []
    total = Decimal(0)
    percent = True
    for k, item in enumerate(items_model):
        ipath: Path_ = ("scorecard", k)
        key = "weight" if item.weight is not None else "points"
        raw = item.weight if item.weight is not None else item.points
        weight = _weight(b, raw, (*ipath, key))
        compiled = b.formula(item.score, 0, (*ipath, "score"))
        if compiled is not None and not fits("number", compiled.type):
            b.diag(
                (*ipath, "score"),
                "PF504",
                f"the score gives {compiled.type.label}, not a number",
            )
            compiled = None
        if weight is None or compiled is None:
            continue
        percent = percent and key == "weight"
        total += weight
        where = f"line {b.line((*ipath, key))}"
        if item.source is not None and item.source.lines:
            where += f", source line {item.source.lines}"
        unit = "%" if key == "weight" else " points"
        parts.append(f"{show_number(weight)}{unit} ({where})")
        scale = None if key == "points" else (item.scale or Decimal(100))
        items.append(Item(k + 1, item.title, compiled, weight, scale, b.line(ipath)))
    if len(items) == len(items_model) and total != 100:
        unit = "%" if percent else " points"
        b.diag(
            ("scorecard",),
            "PF508",
            f"the weights add up to {show_number(total)}{unit}, not 100{unit}: "
            + " + ".join(parts),
            "correct them; if the source document gives these numbers, keep them "
            "and say so in notes:",
            at_key=True,
            warning=True,
        )
    return tuple(items)


def _weight(b: TableParts, raw: Any, path: Path_) -> Decimal | None:
    if isinstance(raw, Decimal):
        value: Decimal | None = raw
    else:
        text = str(raw).strip().removesuffix("%").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite() or value < 0:
        b.diag(path, "PF504", f"'{raw}' is not a weight", "write a share such as 40%")
        return None
    return value


def build_default(b: TableParts) -> dict[str, Any] | None:
    """The outputs given when no rule matches (``default:``), checked against their types."""
    given = b.model.default
    if given is None:
        return None
    names = {o.name for o in b.outputs}
    out: dict[str, Any] = {}
    for key in given:
        if key not in names:
            hint = did_you_mean(key, names) or choices_hint(names)
            b.diag(("default", key), "PF511", f"the table has no output '{key}'", hint, at_key=True)
    for o in b.outputs:
        if o.name not in given:
            b.diag(
                ("default",),
                "PF510",
                f"the default gives no value for '{o.name}'",
                "give every output a default",
                at_key=True,
            )
            continue
        try:
            out[o.name] = o.finish(literal_value(o, given[o.name]))
        except ValueError as exc:
            b.diag(("default", o.name), "PF504", str(exc), literal_hint(o))
    return out


def check_rules(b: TableParts, rules: tuple[Rule, ...], *, has_default: bool) -> None:
    hit = b.model.hit
    if hit == "collect":
        return
    found = analyse(
        b.inputs,
        [r.tests for r in rules],
        policy=hit,
        outputs=[tuple(c.key for c in r.outputs) for r in rules],
    )
    if not has_default:
        for n, region in enumerate(found.gaps):
            more = found.gap_count - len(found.gaps)
            extra = f" (and {more} more gaps)" if more and n == len(found.gaps) - 1 else ""
            b.diag(
                ("rules",),
                "PF502",
                f"no rule covers {region_text(region)}{extra}",
                "add a rule for these values, widen a neighbouring range, "
                "or give the table a default:",
                at_key=True,
            )
    for later, partners in sorted(found.overlaps.items()):
        _pair(
            b,
            rules,
            later,
            partners,
            template="rule {later} overlaps rule {earlier} {where}{more}",
            hint="under hit: unique an input may match one rule only; make the ranges "
            "meet without sharing a value, e.g. [60..70) and [70..80], or use hit: first",
        )
    for later, partners in sorted(found.conflicts.items()):
        _pair(
            b,
            rules,
            later,
            partners,
            template="rule {later} gives other outputs than rule {earlier} {where}{more}",
            hint="under hit: any, rules that match the same inputs give the same outputs",
        )
    if not found.complete:
        b.diag(
            ("rules",),
            "PF517",
            f"the rules overlap in too many ways to check every combination of inputs "
            f"(more than {MAX_WORK:,} pieces); other gaps or overlaps may remain",
            "split the table, or give its rules fewer overlapping ranges; at run time a "
            "missing or doubled match is still an error",
            at_key=True,
            warning=True,
        )
    if hit == "first" and found.complete:
        for r, rule in enumerate(rules):
            if r in found.winners:
                continue
            before = [rules[e].number for e in found.shadows.get(r, [])]
            if len(before) == 1:
                who = f"rule {before[0]} before it covers"
            elif len(before) <= MAX_PARTNERS:
                who = f"rules {', '.join(map(str, before[:-1]))} and {before[-1]} before it cover"
            else:
                shown = ", ".join(map(str, before[:MAX_PARTNERS]))
                who = f"rules {shown} and others before it cover"
            b.diag(
                ("rules", rule.number - 1),
                "PF505",
                f"rule {rule.number} can never match: {who} everything it matches",
                "remove it, or move it above the rules that cover it",
            )


def _pair(
    b: TableParts,
    rules: tuple[Rule, ...],
    later: int,
    partners: Mapping[int, Any],
    *,
    template: str,
    hint: str,
) -> None:
    earlier = sorted(partners)
    first = earlier[0]
    region = partners[first]
    where = f"when {region_text(region)}" if region else "for every input"
    more = ""
    if len(earlier) > 1:
        word = "rule" if len(earlier) == 2 else "rules"
        more = f" (and {word} " + ", ".join(str(rules[e].number) for e in earlier[1:]) + ")"
    number = rules[later].number
    message = template.format(later=number, earlier=rules[first].number, where=where, more=more)
    b.diag(("rules", number - 1), "PF503", message, hint)


def called_functions(text: str, functions: Mapping[str, expr.Function]) -> set[str]:
    """The names of ``functions`` that the formula ``text`` calls."""
    try:
        root = parse(text)
    except ExprFailure:
        return set()
    found: set[str] = set()
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
            continue
        if not isinstance(node, Node):
            continue
        if isinstance(node, Call) and node.receiver is None and node.name in functions:
            found.add(node.name)
        stack.extend(getattr(node, f.name) for f in fields(node))
    return found
