"""Property tests of decision tables.

- The gap, overlap and unreachable-rule checks agree with brute-force
  enumeration of small domains: whole numbers 0..N, numbers 0..N (sampled at
  every half, which meets every piece the integer-bounded cells can make),
  and choices.
- A unique-policy table the checker accepts matches exactly one rule for
  every input in the declared domain, through `procflow.decide`.
- Every cell agrees with the CEL predicate it stands for.
- No cell text, however mangled, does anything but parse or give a PF5xx.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from procflow import decide
from procflow.decisions.cells import UnaryTest, build_test
from procflow.decisions.columns import InputColumn
from procflow.decisions.files import check_file
from procflow.decisions.syntax import CellProblem, parse_cell
from procflow.language import expr
from procflow.language.source import Document, Positions, parse

CHOICES = ("a", "b", "c")


@dataclass(frozen=True)
class Dim:
    kind: str  # "int", "dense" or "choice"
    size: int

    def column(self, name: str) -> InputColumn:
        if self.kind == "choice":
            return InputColumn(name, "choice", choices=CHOICES)
        top = Decimal(self.size)
        return InputColumn(name, "number", minimum=Decimal(0), maximum=top,
                           integer=self.kind == "int")  # fmt: skip

    def spec(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"type": "choice", "of": list(CHOICES)}
        spec: dict[str, Any] = {"type": "number", "min": 0, "max": self.size}
        if self.kind == "int":
            spec["integer"] = True
        return spec

    def points(self) -> list[Any]:
        if self.kind == "choice":
            return list(CHOICES)
        if self.kind == "int":
            return [Decimal(i) for i in range(self.size + 1)]
        return [Decimal(i) / 2 for i in range(2 * self.size + 1)]


dims = st.builds(Dim, st.sampled_from(["int", "dense", "choice"]), st.integers(1, 6))


@st.composite
def number_cell(draw: st.DrawFn, size: int) -> str:
    k = st.integers(-1, size + 1)
    a, b = sorted((draw(k), draw(k)))
    form = draw(st.integers(0, 9))
    if form == 0:
        return "-"
    if form <= 3:
        return f"{draw(st.sampled_from(['<', '<=', '>', '>=', '=', '!=']))} {a}"
    left, right = draw(st.sampled_from("[(")), draw(st.sampled_from("])"))
    if form <= 6:
        return f"{left}{a}..{b}{right}"
    if form == 7:
        return f"not({left}{a}..{b}{right})"
    return f"{a}, {b}"


choice_cell = st.sampled_from(
    ["-", '"a"', '"b"', '"c"', '"a", "b"', '"b", "c"', 'not("a")', 'not("a", "c")', '!= "b"']
)


def cell_for(dim: Dim) -> st.SearchStrategy[str]:
    return choice_cell if dim.kind == "choice" else number_cell(dim.size)


@st.composite
def random_tables(draw: st.DrawFn) -> tuple[list[Dim], list[list[str]], str]:
    table_dims = draw(st.lists(dims, min_size=1, max_size=3))
    rows = draw(
        st.lists(st.tuples(*(cell_for(d) for d in table_dims)).map(list), min_size=1, max_size=6)
    )
    return table_dims, rows, draw(st.sampled_from(["unique", "first"]))


@st.composite
def grid_tables(draw: st.DrawFn) -> tuple[list[Dim], list[list[str]], str]:
    """Tables that partition their domain (rules = bands × groups), sometimes perturbed."""
    table_dims = draw(st.lists(dims, min_size=1, max_size=3))
    parts: list[list[str]] = []
    for dim in table_dims:
        if dim.kind == "choice":
            parts.append(draw(st.sampled_from([['"a", "b"', '"c"'], ['"a"', 'not("a")'], ["-"]])))
            continue
        cuts = sorted(draw(st.sets(st.integers(1, dim.size), max_size=3)))
        bounds = [0, *cuts]
        bands = [f"[{lo}..{hi})" for lo, hi in itertools.pairwise(bounds)]
        bands.append(f">= {bounds[-1]}")
        parts.append(bands)
    rows = [list(combo) for combo in itertools.product(*parts)]
    if draw(st.booleans()):
        r = draw(st.integers(0, len(rows) - 1))
        d = draw(st.integers(0, len(table_dims) - 1))
        rows[r][d] = draw(cell_for(table_dims[d]))
    return table_dims, rows, "unique"


def text_of(table_dims: list[Dim], rows: list[list[str]], hit: str) -> str:
    spec = {
        "procflow": 1,
        "title": "t",
        "tables": {
            "T": {
                "title": "t",
                "hit": hit,
                "inputs": {f"x{i}": d.spec() for i, d in enumerate(table_dims)},
                "outputs": {"out": {"type": "number"}},
                "rules": [[*row, n] for n, row in enumerate(rows)],
            }
        },
    }
    return json.dumps(spec)


def document(text: str) -> Document:
    """The data of ``text`` without the YAML layer (whose quick bracket-depth limit
    counts the '[' of every '[a..b)' cell), since these tests are about tables."""
    return Document("t.json", text, json.loads(text), Positions())


def brute_force(table_dims: list[Dim], rows: list[list[str]]) -> tuple[list[Any], list[set[int]]]:
    columns = [d.column(f"x{i}") for i, d in enumerate(table_dims)]
    tests: list[list[UnaryTest]] = [
        [build_test(c, parse_cell(cell), cell) for c, cell in zip(columns, row, strict=True)]
        for row in rows
    ]
    points = list(itertools.product(*(d.points() for d in table_dims)))
    matches = []
    for point in points:
        found = set()
        for r, row_tests in enumerate(tests):
            if all(
                t.matcher()(c.key(v) if c.ordered else v)
                for t, c, v in zip(row_tests, columns, point, strict=True)
            ):
                found.add(r)
        matches.append(found)
    return points, matches


def agree(table_dims: list[Dim], rows: list[list[str]], hit: str) -> None:
    tables, problems = check_file(document(text_of(table_dims, rows, hit)), [])
    found = {d.code for d in problems}
    try:
        points, matches = brute_force(table_dims, rows)
    except CellProblem as problem:  # a cell that matches nothing in its domain
        assert problem.code == "PF504"
        assert "PF504" in found
        return
    assert "PF504" not in found, problems
    assert ("PF502" in found) == any(not m for m in matches), problems
    if hit == "unique":
        assert ("PF503" in found) == any(len(m) > 1 for m in matches), problems
    else:
        firsts = {min(m) for m in matches if m}
        unreachable = {int(d.pointer.rsplit("/", 1)[1]) for d in problems if d.code == "PF505"}
        assert unreachable == set(range(len(rows))) - firsts, problems
    if tables is None:
        return
    table = tables["T"]
    names = [f"x{i}" for i in range(len(table_dims))]
    for point, match in zip(points, matches, strict=True):
        decision = decide(table, dict(zip(names, point, strict=True)))
        assert len(decision.matched) == 1
        rule = decision.matched[0].rule - 1
        assert rule == min(match)
        if hit == "unique":
            assert match == {rule}


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_checker_agrees_with_brute_force(case: tuple[list[Dim], list[list[str]], str]) -> None:
    agree(*case)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_tables())
def test_accepted_unique_tables_match_exactly_one_rule(
    case: tuple[list[Dim], list[list[str]], str],
) -> None:
    agree(*case)


@settings(max_examples=300, deadline=None)
@given(cell=number_cell(8), value=st.integers(-4, 24))
def test_number_cells_agree_with_their_cel_predicate(cell: str, value: int) -> None:
    column = InputColumn("x", "number")
    try:
        test = build_test(column, parse_cell(cell), cell)
    except CellProblem:  # '[0..0)': matches nothing, refused
        assume(False)
        return
    predicate = test.cel("x")
    assert predicate is not None
    compiled, issues = expr.compile_expression(predicate, {"x": expr.NUMBER})
    assert compiled is not None, (predicate, issues)
    x = Decimal(value) / 2
    assert test.matcher()(x) == compiled.evaluate({"x": x}), predicate


@settings(max_examples=100, deadline=None)
@given(cell=choice_cell, value=st.sampled_from(CHOICES))
def test_choice_cells_agree_with_their_cel_predicate(cell: str, value: str) -> None:
    column = InputColumn("g", "choice", choices=CHOICES)
    test = build_test(column, parse_cell(cell), cell)
    predicate = test.cel("g")
    assert predicate is not None
    compiled, issues = expr.compile_expression(predicate, {"g": column.etype})
    assert compiled is not None, (predicate, issues)
    assert test.matcher()(value) == compiled.evaluate({"g": value}), predicate


cell_text = st.text(alphabet=st.sampled_from(list("0123456789.,-<>=!()[]\"'% notABC")), max_size=20)


@settings(max_examples=500, deadline=None)
@given(text=cell_text | st.text(max_size=20))
def test_any_cell_text_parses_or_is_a_cell_problem(text: str) -> None:
    for column in (
        InputColumn("x", "number", minimum=Decimal(0), maximum=Decimal(10)),
        InputColumn("p", "percent"),
        InputColumn("g", "choice", choices=CHOICES),
        InputColumn("t", "text"),
        InputColumn("y", "yesno"),
        InputColumn("d", "date"),
    ):
        try:
            build_test(column, parse_cell(text), text)
        except CellProblem as problem:
            assert problem.code in ("PF501", "PF504")
            assert 0 <= problem.start <= len(text)


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(cell_text | st.integers() | st.booleans() | st.none(), min_size=2, max_size=2)
)
def test_any_rule_in_a_file_gives_diagnostics_only(cells: list[Any]) -> None:
    spec = {
        "procflow": 1,
        "title": "t",
        "tables": {
            "T": {
                "title": "t",
                "inputs": {"x": {"type": "number"}},
                "outputs": {"y": {"type": "number"}},
                "rules": [cells],
            }
        },
    }
    doc, problems = parse(json.dumps(spec), "t.json")
    assert doc is not None
    tables, problems = check_file(doc, problems)
    assert tables is not None or any(d.code.startswith(("PF5", "PF4")) for d in problems)
