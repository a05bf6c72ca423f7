"""Decision tables as a language: cells, static checks, processes that use tables, the CLI."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import procflow
from procflow import EvaluationError, decide
from procflow.cli.main import main
from procflow.decisions.cells import build_test
from procflow.decisions.columns import InputColumn
from procflow.decisions.files import check_file
from procflow.decisions.syntax import CellProblem, parse_cell
from procflow.decisions.table import DecisionTable
from procflow.flow.tables import apply_tables, step_decisions
from procflow.language.diagnostics import Diagnostic
from procflow.language.source import parse

ROOT = Path(__file__).parent.parent
MBO = ROOT / "processes" / "decisions" / "mbo.yaml"
SCORE = InputColumn("score", "number", minimum=Decimal(0), maximum=Decimal(100))


def tables(text: str) -> tuple[dict[str, DecisionTable] | None, list[Diagnostic]]:
    doc, problems = parse(textwrap.dedent(text), "t.yaml")
    assert doc is not None, problems
    return check_file(doc, problems)


def table(text: str) -> DecisionTable:
    found, problems = tables(text)
    assert found is not None, [str(d) for d in problems]
    return next(iter(found.values()))


def codes(text: str) -> list[str]:
    return [f"{d.line}:{d.column} {d.code}" for d in tables(text)[1]]


def messages(text: str) -> list[str]:
    return [d.message for d in tables(text)[1]]


ONE_INPUT = """\
procflow: 1
title: t
tables:
  T:
    title: t
    hit: {hit}
    inputs:
      x: {input}
    outputs:
      out: text
    rules:
{rules}
"""


def one(rules: list[str], *, hit: str = "unique", input_: str = "number") -> str:
    body = "\n".join(f"      - [{r}]" for r in rules)
    return ONE_INPUT.format(hit=hit, input=input_, rules=body)


# -- cells --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "inside", "outside"),
    [
        ("< 60", [0, Decimal("59.99")], [60, 100]),
        ("[90..100]", [90, 100], [Decimal("89.9")]),
        ("(60..100)", [61, Decimal("99.5")], [60, 100]),
        ("[70..90)", [70, 89], [90]),
        (">= 1.5", [Decimal("1.5"), 2], [1]),
        ("!= 5", [4, 6], [5]),
        ("1, 3, [5..6]", [1, 3, 5, 6], [2, 4, 7]),
        ("not([10..20])", [9, 21], [10, 15, 20]),
        ("-", [0, 100], []),
        # as business Chinese writes them: 以上 and 以下 include the number
        ("90分以上", [90, 100], [Decimal("89.99")]),
        ("90 及以上", [90], [89]),
        ("69分以下", [69, 0], [Decimal("69.01")]),
        ("70-89分", [70, 89], [Decimal("89.5"), Decimal("69.9")]),
        ("70~89, 95至100", [70, 89, 95, 100], [90, 94]),
        ("≥ 90", [90], [89]),
        ("＞＝ 90", [90], [89]),  # a full-width >=, as a Chinese input method types it
        ("≠ 5", [4, 6], [5]),
        ("超過60", [Decimal("60.01")], [60]),  # 超過 leaves the number out
        ("不足60分", [Decimal("59.99")], [60]),
        ("不低於60", [60, 61], [Decimal("59.99")]),
        ("不超過 60", [60], [Decimal("60.01")]),
    ],
)
def test_number_cells(cell: str, inside: list[int], outside: list[int]) -> None:
    test = build_test(SCORE, parse_cell(cell), cell)
    match = test.matcher()
    assert all(match(Decimal(v)) for v in inside)
    assert not any(match(Decimal(v)) for v in outside)


@pytest.mark.parametrize(
    ("cell", "inside", "outside"),
    [
        ("2,000元以上", ["2000", "1000000"], ["1999.99"]),  # CIN-05: 2000元以上
        ("5萬元以下", ["50000", "0"], ["50000.01"]),
        ("1萬-5萬元", ["10000", "50000"], ["9999", "50001"]),
        ("3天以內", ["3"], ["3.5"]),
    ],
)
def test_amounts_with_units_and_thousands(cell: str, inside: list[str], outside: list[str]) -> None:
    amount = InputColumn("amount", "money", minimum=Decimal(0))
    match = build_test(amount, parse_cell(cell), cell).matcher()
    assert all(match(Decimal(v)) for v in inside)
    assert not any(match(Decimal(v)) for v in outside)


def test_a_range_written_with_one_percent_sign_is_of_percents() -> None:
    rate = InputColumn("rate", "percent")
    match = build_test(rate, parse_cell("70-80%"), "70-80%").matcher()
    assert match(Decimal(70)) and match(Decimal(80)) and not match(Decimal(81))
    with pytest.raises(CellProblem, match="'%' is only for percent inputs"):
        build_test(SCORE, parse_cell("70-80%"), "70-80%")


def test_a_date_is_not_read_as_a_range_of_amounts() -> None:
    day = InputColumn("day", "date")
    match = build_test(day, parse_cell("2026-01-15"), "").matcher()
    assert match(day.key(date(2026, 1, 15))) and not match(day.key(date(2026, 1, 14)))


def test_choice_text_and_date_cells() -> None:
    grade = InputColumn("grade", "choice", choices=("A", "B", "C"))
    assert build_test(grade, parse_cell('"A", "B"'), "").values == {"A", "B"}
    assert build_test(grade, parse_cell('not("C")'), "").values == {"A", "B"}
    assert build_test(grade, parse_cell("!= B"), "").values == {"A", "C"}
    name = InputColumn("name", "text")
    other = build_test(name, parse_cell('not("x", "y")'), "")
    assert other.matcher()("z") and not other.matcher()("x")
    day = InputColumn("day", "date")
    test = build_test(day, parse_cell("[2026-01-01..2026-01-15]"), "")
    match = test.matcher()
    assert match(day.key(date(2026, 1, 15))) and not match(day.key(date(2026, 1, 16)))


@pytest.mark.parametrize(
    ("cell", "offset", "message"),
    [
        ("[90..]", 0, "the range '[90..]' has no upper end"),
        ("<<5", 1, "'<' is followed by another operator '<'"),
        ("[..5]", 1, "no lower end"),
        ("[1..5", 5, "not closed"),
        ("1 2", 2, "unexpected '2'"),
        ('"abc', 0, "not closed"),
        ("", 0, "the cell is empty"),
        ("!5", 0, "'!' alone"),
        (">=", 2, "nothing follows '>='"),
        ("70-89分以上", 6, "a range with 以上"),
        ("超過70-80", 4, "'超過' with a range"),
        ("未滿60以下", 4, "'未滿' with 以下"),
    ],
)
def test_cells_that_do_not_parse(cell: str, offset: int, message: str) -> None:
    with pytest.raises(CellProblem) as caught:
        parse_cell(cell)
    assert caught.value.code == "PF501"
    assert caught.value.start == offset
    assert message in caught.value.message


def test_unquoted_ranges_in_yaml_lists_are_ranges() -> None:
    t = table(one(["[90..100], A", '"< 90", B'], input_="{type: number, min: 0, max: 100}"))
    assert decide(t, {"x": 95})["out"] == "A"
    assert t.rules[0].tests[0].text == "[90..100]"


# -- static checks --------------------------------------------------------------------------


def test_gap_names_the_uncovered_values() -> None:
    text = one(['"[90..100]", A', '"[70..89]", B', '"< 70", C']).replace(
        "x: number", "x: {type: number, min: 0, max: 100}"
    )
    assert messages(text) == ["no rule covers x in (89..90)"]


def test_whole_numbers_have_no_gap_between_5_and_6() -> None:
    text = one(
        ['"[0..5]", low', '"[6..10]", high'],
        input_="{type: number, integer: true, min: 0, max: 10}",
    )
    assert tables(text)[0] is not None
    dense = one(['"[0..5]", low', '"[6..10]", high'], input_="{type: number, min: 0, max: 10}")
    assert messages(dense) == ["no rule covers x in (5..6)"]


def test_unbounded_gaps_and_many_gaps() -> None:
    assert messages(one(['"[0..10]", a'])) == ["no rule covers x < 0 or x > 10"]
    many = one(
        [f'"= {i}", a' for i in range(0, 20, 2)],
        input_="{type: number, integer: true, min: 0, max: 19}",
    )
    assert messages(many) == [
        "no rule covers x = 1 or x = 3 or x = 5 or x = 7 or x = 9 (and 5 more)"
    ]


def test_text_inputs_have_any_other_text() -> None:
    text = one(['"a", A', '"b", B'], input_="text")
    assert messages(text) == ["no rule covers x is any other text"]
    assert tables(one(['"a", A', 'not("a"), B'], input_="text"))[0] is not None


def test_overlap_in_two_dimensions() -> None:
    text = """\
    procflow: 1
    title: t
    tables:
      T:
        title: t
        inputs:
          region: {type: choice, of: [north, south, west]}
          amount: {type: money, min: 0}
        outputs:
          level: number
        rules:
          - [north, "< 1000", 1]
          - ['"north", "south"', ">= 500", 2]
          - ['not("north")', "< 500", 3]
          - [west, ">= 500", 4]
    """
    assert messages(text) == ["rule 2 overlaps rule 1 when region = north and amount = 500"]


def test_first_policy_unreachable_and_gaps() -> None:
    text = one(['">= 0", a', '"> 10", b', '"< 0", c'], hit="first")
    assert messages(text) == [
        "rule 2 can never match: rule 1 before it covers everything it matches"
    ]


def test_default_fills_gaps() -> None:
    t = table(one(['"> 10", big']) + "    default: {out: small}\n")
    assert decide(t, {"x": 3}).outputs == {"out": "small"}
    assert decide(t, {"x": 3}).matched == ()


def test_priority_and_any_and_collect() -> None:
    priority = table(
        """\
        procflow: 1
        title: t
        tables:
          P:
            title: t
            hit: priority
            inputs: {n: number}
            outputs: {level: {type: choice, of: [high, medium, low]}}
            rules:
              - ["> 0", low]
              - ["> 10", high]
              - ["> 5", medium]
              - ["<= 0", low]
        """
    )
    assert decide(priority, {"n": 20})["level"] == "high"
    assert [m.rule for m in decide(priority, {"n": 7}).matched] == [3]
    counted = table(
        """\
        procflow: 1
        title: t
        tables:
          C:
            title: t
            hit: collect
            aggregate: count
            inputs: {n: number}
            outputs: {hits: number}
            rules:
              - ["> 0", 1]
              - ["> 10", 1]
        """
    )
    assert decide(counted, {"n": 20})["hits"] == 2
    assert decide(counted, {"n": -1})["hits"] == 0


def test_tables_call_each_other() -> None:
    found, problems = tables(
        """\
        procflow: 1
        title: t
        tables:
          BASE:
            title: base
            inputs: {n: number}
            outputs: {out: number}
            rules:
              - ["-", "= n * 2"]
          TOP:
            title: top
            inputs: {n: number}
            outputs: {out: number}
            rules:
              - ["< 0", 0]
              - [">= 0", "= base(n) + 1"]
        """
    )
    assert found is not None, problems
    assert decide(found["TOP"], {"n": 5})["out"] == 11
    assert found["TOP"].function is not None
    assert found["TOP"].function.name == "top"


def test_formula_errors_are_located_inside_the_cell() -> None:
    text = one(['"-", "= x +"'])
    (problem,) = tables(text)[1]
    assert problem.code == "PF401"
    assert (problem.line, problem.column) == (12, 21)


# -- processes that use tables --------------------------------------------------------------

PROCESS = """\
procflow: 1
id: HR-TEST
title: 月度考核
decisions: [decisions/mbo.yaml]
actors:
  supervisor: 直屬上級
documents:
  appraisal:
    title: 月度考核表
    fields:
      score: {type: number, min: 0}
      grade: {type: choice, of: [A, B, C], required: false}
      pay: {type: money, required: false}
      pool: money
tables:
  BONUS:
    title: 優秀獎勵
    inputs: {grade: {type: choice, of: [A, B, C]}}
    outputs: {bonus: money}
    rules:
      - [A, 500]
      - ['"B", "C"', 0]
steps:
  - id: interview
    title: 考核面談
    actor: supervisor
    fills: appraisal
    apply:
      - table: MBO-GRADE
        inputs: {score: appraisal.score}
        outputs: {grade: appraisal.grade}
      - table: MBO-PERF-PAY
        inputs: {score: appraisal.score, pool: appraisal.pool}
        outputs: {pay: appraisal.pay}
  - id: route
    branch:
      - if: mbo_grade(appraisal.score, false, false, false) == "A" && bonus(appraisal.grade) > 0
        goto: praise
      - otherwise: done
  - id: praise
    notify: supervisor
    message: 優秀
  - id: done
    end: done
"""


@pytest.fixture
def hr(tmp_path: Path) -> procflow.Process:
    (tmp_path / "decisions").mkdir()
    (tmp_path / "decisions" / "mbo.yaml").write_text(MBO.read_text(encoding="utf-8"))
    path = tmp_path / "hr.yaml"
    path.write_text(PROCESS, encoding="utf-8")
    return procflow.load(path)


def test_apply_fills_fields_when_a_step_completes(hr: procflow.Process) -> None:
    documents = {"appraisal": {"score": Decimal("92.5"), "pool": Decimal("3000")}}
    updates = apply_tables(hr, "interview", documents)
    assert updates == {"appraisal": {"grade": "A", "pay": Decimal("2775.00")}}
    (first, _) = step_decisions(hr, "interview", documents)
    assert first.decision.matched[0].why[0] == "score 92.5 >= 90"
    assert apply_tables(hr, "route", documents) == {}


def test_apply_names_a_missing_field(hr: procflow.Process) -> None:
    with pytest.raises(EvaluationError, match=r"appraisal\.score has no value"):
        apply_tables(hr, "interview", {"appraisal": {"pool": 1}})


def test_conditions_call_tables(hr: procflow.Process) -> None:
    functions = {t.function.name for t in hr.flow.tables.values() if t.function is not None}
    assert {"mbo_grade", "bonus", "mbo_score"} <= functions
    edge = next(e for e in hr.flow.edges if e.kind == "condition")
    assert edge.condition is not None
    values = {"appraisal": {"score": Decimal(95), "grade": "A"}}
    assert edge.condition.expression.evaluate(values) is True
    assert edge.condition.expression.evaluate({"appraisal": {"score": 80, "grade": "B"}}) is False


def test_definition_inlines_the_tables(hr: procflow.Process) -> None:
    definition = hr.flow.definition
    assert "decisions" not in definition
    assert {"MBO-GRADE", "BONUS"} <= set(definition["tables"])
    again = procflow.loads(json.dumps(definition, ensure_ascii=False), name="again.yaml")
    assert again.flow.definition_hash == hr.flow.definition_hash
    assert apply_tables(again, "interview", {"appraisal": {"score": 70, "pool": 100}}) == {
        "appraisal": {"grade": "B", "pay": Decimal("70.00")}
    }


# -- the command line -----------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_prints_outputs_and_rules() -> None:
    code, out = run("decide", str(MBO), "MBO-GRADE", "score=89")
    assert code == 0
    assert "  grade = B" in out
    assert "rule 2: score 89 >= 70 → grade B" in out


def test_a_cell_in_the_sources_words_is_evaluated_and_explained_in_them() -> None:
    kpi = ROOT / "processes" / "decisions" / "kpi.yaml"  # 90 % 以上 20 分 … 低于 60 % 0 分
    code, out = run("decide", str(kpi), "KPI-SALES-TEAM", "attainment=90")
    assert (code, "  points = 20") == (0, out.splitlines()[1])
    assert "rule 1: attainment 90% matches 90%以上 → points 20" in out
    code, out = run("decide", str(kpi), "KPI-SALES-TEAM", "attainment=59.99")
    assert "rule 5: attainment 59.99% matches 低於60% → points 0" in out
    code, out = run("decide", str(MBO), "MBO-PAY", "score=50")
    assert "score 50 matches 50分以下" in out


def test_cli_json() -> None:
    kpi = ROOT / "processes" / "decisions" / "kpi.yaml"
    code, out = run("decide", str(kpi), "KPI-CUST", "collection_rate=103%", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["outputs"] == {"points": "1.5"}
    assert data["matched"][0]["rule"] == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "error PF516: MBO-GRADE: the input 'score (考核得分)' is missing"),
        (("score=abc",), "error PF516: MBO-GRADE: the input 'score' is 'abc', not a number"),
        (("scroe=1", "score=1"), "the table has no input 'scroe' (did you mean 'score'?)"),
        (("score",), "'score' is not input=value"),
        (("score=-5",), "is -5, below the lowest allowed 0"),
        (("score=1e999999999",), "is '1e999999999', not a number written with digits"),
        (("score=89", "score=90"), "the input 'score' is given twice (score=89, score=90)"),
    ],
)
def test_cli_bad_inputs_are_located_diagnostics(args: tuple[str, ...], expected: str) -> None:
    code, out = run("decide", str(MBO), "MBO-GRADE", *args)
    assert code == 1
    assert out.startswith(f"{MBO}:")
    assert expected in out
    assert "Traceback" not in out


def test_cli_unknown_table_and_bad_file(tmp_path: Path) -> None:
    code, out = run("decide", str(MBO), "MBO-GRAD", "score=1")
    assert code == 1
    assert "PF509: there is no decision table 'MBO-GRAD' here (did you mean 'MBO-GRADE'?)" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("procflow: 1\ntitle: t\ntables:\n  T: {title: t}\n", encoding="utf-8")
    code, out = run("decide", str(bad), "T")
    assert code == 1
    assert "PF202" in out


def test_cli_with_a_process_file(hr: procflow.Process) -> None:
    code, out = run("decide", hr.flow.file, "BONUS", "grade=A")
    assert (code, "  bonus = 500" in out) == (0, True)


def test_a_number_far_beyond_any_written_one_is_explained_with_an_exponent() -> None:
    grade = procflow.load_dir(ROOT / "processes").tables["MBO-GRADE"]
    for huge, shown in ((Decimal("1e999999999"), "1E+999999999"), (Decimal("1e99999"), "1E+99999")):
        why = decide(grade, {"score": huge}).explain()  # was decimal.Overflow; 100,000 zeros
        assert f"rule 1: score {shown} >= 90" in why
    exact = decide(grade, {"score": Decimal("123456789012345678901234567890123")}).explain()
    assert "score 123456789012345678901234567890123 >= 90" in exact  # no digit rounded away


def test_cli_yes_no_inputs_are_read_in_chinese_too() -> None:
    code, out = run("decide", str(MBO), "MBO-GRADE", "score=95", "absent=是")
    assert code == 0, out  # was "'是', not true or false", while procflow run takes 是
    assert "  grade = B" in out  # absence bars 優秀
    code, out = run("decide", str(MBO), "MBO-GRADE", "score=95", "absent=否")
    assert (code, "  grade = A" in out) == (0, True)
