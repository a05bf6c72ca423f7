"""Decision-table cells with meaning: a parsed cell applied to its input's type.

A cell (read by `syntax`) becomes a `UnaryTest`: for numbers and dates a union of
exact `Interval` values, for choices, yes/no and text a set of values (or
every value but a set). Nothing is rewritten as text and handed to an
evaluator; `UnaryTest.cel` gives the equivalent CEL predicate, and a property test
checks that the two agree.

Problems are `CellProblem` values: PF504 for a value that does not fit the
input's type or a cell that can match nothing the input may take, PF501 for a
backwards range.

Imports `diagnostics`, `intervals`, `columns`, `syntax`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from procflow.decisions.columns import InputColumn, show_number
from procflow.decisions.intervals import (
    Interval,
    above,
    below,
    clip,
    complement,
    describe,
    normalize,
    point,
    to_whole,
)
from procflow.decisions.syntax import Atom, Between, CellProblem, Lit, Parsed
from procflow.language.diagnostics import choices_hint, did_you_mean

Form = Literal["any", "cmp", "eq", "range", "other"]


@dataclass(frozen=True, eq=False)
class UnaryTest:
    """A parsed cell applied to its input.

    Ordered inputs use ``intervals`` (keys: numbers, or day numbers of dates);
    the others ``values``, meaning every value but those when ``complement``.
    """

    text: str
    form: Form
    intervals: tuple[Interval, ...] = ()
    values: frozenset[Any] = frozenset()
    complement: bool = False
    ordered: bool = False

    @property
    def any(self) -> bool:
        return self.form == "any"

    def matcher(self) -> Callable[[Any], bool]:
        """A fast predicate on the key (ordered inputs) or the value."""
        if self.any:
            return lambda v: True
        if self.ordered:
            ivs = self.intervals
            if len(ivs) == 1:
                return ivs[0].contains
            return lambda k: any(iv.contains(k) for iv in ivs)
        values, flip = self.values, self.complement
        return lambda v: (v in values) != flip

    def why(self, column: InputColumn, value: Any) -> str:
        """Why ``value`` matched, in words for the person appraised: ``score 89 in [70..90)``."""
        shown = column.show(value)
        if self.form == "cmp" and self.text.lstrip()[:1] in tuple("<>=!≥≤≠＜＞＝！"):
            return f"{column.name} {shown} {self.text}"  # score 89 >= 70
        if self.form == "eq":
            return f"{column.name} = {shown}"
        if self.form == "range":
            return f"{column.name} {shown} in {self.text}"
        return f"{column.name} {shown} matches {self.text}"

    def cel(self, name: str) -> str | None:
        """The same test as a CEL predicate on ``name`` (None for dates, which have no literals)."""
        if self.any:
            return "true"
        if self.ordered:
            parts = [_cel_interval(name, iv) for iv in self.intervals]
            if any(p is None for p in parts):
                return None
            return " || ".join(f"({p})" for p in parts if p) or "false"
        items = ", ".join(_cel_literal(v) for v in sorted(self.values, key=repr))
        test = f"{name} in [{items}]"
        return f"!({test})" if self.complement else test


def _cel_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return show_number(Decimal(value))


def _cel_interval(name: str, iv: Interval) -> str | None:
    parts = []
    if iv.lo.is_finite():
        parts.append(f"{name} {'>=' if iv.lo_closed else '>'} {show_number(iv.lo)}")
    if iv.hi.is_finite():
        parts.append(f"{name} {'<=' if iv.hi_closed else '<'} {show_number(iv.hi)}")
    return " && ".join(parts) or "true"


ANY_TEST = UnaryTest("-", "any")


def _shown(lit: Lit) -> str:
    return f"'{lit.text}'" if lit.kind == "word" else lit.text


def _kind_words(lit: Lit) -> str:
    return {
        "number": "a number",
        "date": "a date",
        "text": "text",
        "word": "text",
        "bool": "true/false",
    }[lit.kind]


def _key(column: InputColumn, lit: Lit) -> Decimal:
    if column.kind == "date":
        if lit.kind != "date" or not isinstance(lit.value, date):
            raise CellProblem(
                "PF504",
                f"{_shown(lit)} is {_kind_words(lit)}, but {column.name} is a date",
                "write a date such as 2026-01-31",
                lit.start,
            )
        return Decimal(lit.value.toordinal())
    if lit.kind != "number" or not isinstance(lit.value, Decimal):
        raise CellProblem(
            "PF504",
            f"{_shown(lit)} is {_kind_words(lit)}, but {column.name} is {column.kind}",
            "write a number" + (" such as 60%" if column.kind == "percent" else ""),
            lit.start,
        )
    if lit.percent and column.kind != "percent":
        raise CellProblem(
            "PF504",
            f"'%' is only for percent inputs, and {column.name} is {column.kind}",
            f"write {show_number(lit.value)}, or declare {column.name} as percent",
            lit.start,
        )
    return lit.value


def _value(column: InputColumn, lit: Lit) -> Any:
    if column.kind == "yesno":
        if lit.kind != "bool":
            raise CellProblem(
                "PF504",
                f"{_shown(lit)} is {_kind_words(lit)}, but {column.name} is yes/no",
                "write true or false",
                lit.start,
            )
        return lit.value
    if lit.kind == "bool" or lit.percent:
        raise CellProblem(
            "PF504",
            f"{_shown(lit)} is {_kind_words(lit)}, but {column.name} is {column.kind}",
            "",
            lit.start,
        )
    value = lit.value if lit.kind in ("text", "word") else lit.text
    if column.kind == "choice" and value not in column.choices:
        raise CellProblem(
            "PF504",
            f"'{value}' is not an allowed value of {column.name}",
            did_you_mean(str(value), column.choices) or choices_hint(column.choices),
            lit.start,
        )
    return value


def _interval(column: InputColumn, atom: Atom) -> tuple[Interval, ...]:
    if isinstance(atom, Between):
        lo, hi = _key(column, atom.lo), _key(column, atom.hi)
        if lo > hi:
            raise CellProblem(
                "PF501",
                f"the range runs backwards: {atom.lo.text} is above {atom.hi.text}",
                "write the low end first",
                atom.start,
            )
        return (Interval(lo, hi, atom.lo_closed, atom.hi_closed),)
    k = _key(column, atom.lit)
    return {
        "<": (below(k, closed=False),),
        "<=": (below(k, closed=True),),
        ">": (above(k, closed=False),),
        ">=": (above(k, closed=True),),
        "=": (point(k),),
        "==": (point(k),),
        "!=": complement([point(k)]),
    }[atom.op]


def _union(
    a: tuple[frozenset[Any], bool], b: tuple[frozenset[Any], bool]
) -> tuple[frozenset[Any], bool]:
    (av, ac), (bv, bc) = a, b
    if not ac and not bc:
        return av | bv, False
    if ac and bc:
        return av & bv, True
    inside, outside = (bv, av) if ac else (av, bv)
    return outside - inside, True


def _form(parsed: Parsed) -> Form:
    if parsed.negated or len(parsed.atoms) != 1:
        return "other"
    atom = parsed.atoms[0]
    if isinstance(atom, Between):
        return "range"
    return "eq" if atom.op in ("=", "==") else "cmp"


def build_test(column: InputColumn, parsed: Parsed | None, text: str) -> UnaryTest:
    """The `UnaryTest` a parsed cell stands for on ``column``.

    Raises:
        CellProblem: PF504 when a value does not fit the input, or the cell can
            match no value the input may take; PF501 for a backwards range.
    """
    if parsed is None:
        return ANY_TEST
    form = _form(parsed)
    shown = text.strip()
    if column.ordered:
        ivs = normalize(iv for atom in parsed.atoms for iv in _interval(column, atom))
        if parsed.negated:
            ivs = complement(ivs)
        inside = clip(ivs, column.domain())
        if column.whole:
            inside = tuple(w for w in (to_whole(iv) for iv in inside) if not w.empty)
        if not inside:
            raise CellProblem(
                "PF504",
                f"'{shown}' matches no value {column.name} may take "
                f"({describe(column.domain(), column.show_key)})",
                "check the bounds against the input's min and max",
            )
        return UnaryTest(shown, form, intervals=ivs, ordered=True)
    found: tuple[frozenset[Any], bool] = (frozenset(), False)
    for atom in parsed.atoms:
        if isinstance(atom, Between) or atom.op not in ("=", "==", "!="):
            word = "a range" if isinstance(atom, Between) else f"'{atom.op}'"
            raise CellProblem(
                "PF504",
                f"{word} needs a number or a date, but {column.name} is {column.kind}",
                'list the values instead: "A", "B"',
                atom.start,
            )
        one = frozenset({_value(column, atom.lit)})
        found = _union(found, (one, atom.op == "!="))
    values, flip = found
    if parsed.negated:
        flip = not flip
    universe = universe_of(column)
    if universe is not None:
        values = frozenset(v for v in universe if (v in values) != flip)
        flip = False
        if not values:
            raise CellProblem("PF504", f"'{shown}' matches no value of {column.name}")
    return UnaryTest(shown, form, values=values, complement=flip)


def universe_of(column: InputColumn) -> tuple[Any, ...] | None:
    """Every value of a choice or yes/no input; None for text and ordered inputs."""
    if column.kind == "choice":
        return column.choices
    if column.kind == "yesno":
        return (True, False)
    return None
