"""Decision tables: the source document's own numbers, evaluation, explanations and errors.

The rules are those of processes/decisions/ (第五篇 市場部目標管理考核制度 and
各職位考核辦法); each test quotes the number it checks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import procflow
from procflow import EvaluationError, decide
from procflow.cli.main import main
from procflow.decisions.files import TableFiles, load_tables
from procflow.decisions.table import DecisionTable
from procflow.flow.load import check_paths

ROOT = Path(__file__).parent.parent
DECISIONS = ROOT / "processes" / "decisions"


@pytest.fixture(scope="module")
def mbo() -> dict[str, DecisionTable]:
    return load_tables(DECISIONS / "mbo.yaml")


@pytest.fixture(scope="module")
def kpi() -> dict[str, DecisionTable]:
    return load_tables(DECISIONS / "kpi.yaml")


# -- the document's numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [(90, "A"), (89, "B"), (69, "C"), (100, "A"), (70, "B"), (0, "C")],
)
def test_grade_bands(mbo: dict[str, DecisionTable], score: int, grade: str) -> None:
    # 十一 3: A 優秀 (90-100 分), B 合格 (70-89 分), C 較差 (69 分以下)
    assert decide(mbo["MBO-GRADE"], {"score": score}).outputs == {"grade": grade}


def test_grade_between_the_document_bands(mbo: dict[str, DecisionTable]) -> None:
    # the notes: 89.5 is B and 69.5 is C; over 100 (110 % weights) is A
    table = mbo["MBO-GRADE"]
    assert decide(table, {"score": Decimal("89.5")})["grade"] == "B"
    assert decide(table, {"score": Decimal("69.5")})["grade"] == "C"
    assert decide(table, {"score": 106})["grade"] == "A"


def test_bars_on_excellent(mbo: dict[str, DecisionTable]) -> None:
    # 十一 5F: 請假超過、曠工、警告未抵消 → 不得列為優秀
    table = mbo["MBO-GRADE"]
    for bar in ("leave_over_limit", "absent", "warning"):
        decision = decide(table, {"score": 95, bar: True})
        assert decision["grade"] == "B"
        assert decision.unmatched == (f"rule 1: {bar} true, not false",)
    assert decide(table, {"score": 60, "absent": True})["grade"] == "C"


def _year(mbo: dict[str, DecisionTable], grades: str) -> tuple[Decimal, str]:
    month = mbo["MBO-MONTH-POINTS"]
    points = sum((decide(month, {"grade": g})["points"] for g in grades), Decimal(0))
    return points, decide(mbo["MBO-YEAR"], {"points": points})["grade"]


def test_twelve_b_months_are_twelve_points_and_an_annual_b(mbo: dict[str, DecisionTable]) -> None:
    # 優秀 2 分, 合格 1 分, 較差 0 分; ≥ 18 → A, 12–17 → B, < 12 → C
    assert _year(mbo, "B" * 12) == (12, "B")


def test_nine_a_and_three_c_are_eighteen_points_and_an_annual_a(
    mbo: dict[str, DecisionTable],
) -> None:
    assert _year(mbo, "A" * 9 + "C" * 3) == (18, "A")
    assert _year(mbo, "A" * 5 + "B" + "C" * 6) == (11, "C")
    assert decide(mbo["MBO-YEAR"], {"points": 20, "warning": True})["grade"] == "B"


@pytest.mark.parametrize(
    ("attainment", "points"),
    [(85, 18), (90, 20), (100, 20), (80, 18), (79, 15), (70, 15), (65, 10), (59, 0)],
)
def test_team_attainment(kpi: dict[str, DecisionTable], attainment: int, points: int) -> None:
    # 90% 以上 20 分, 80% 以上 18 分, 70% 以上 15 分, 60% 以上 10 分, 低于 60% 0 分
    assert decide(kpi["KPI-SALES-TEAM"], {"attainment": attainment})["points"] == points


def test_collection_rate_103_percent_gives_one_and_a_half_points(
    kpi: dict[str, DecisionTable],
) -> None:
    # 回款完成率 100% 不獎不扣分; 每超(降) 1 個百分點, 獎(罰) 0.5 分
    table = kpi["KPI-CUST"]
    decision = decide(table, {"collection_rate": 103})
    assert decision["points"] == Decimal("1.5")
    assert str(decision["points"]) == "1.5"
    assert decide(table, {"collection_rate": 100})["points"] == 0
    assert decide(table, {"collection_rate": Decimal("96.5")})["points"] == Decimal("-1.75")


def test_customer_deductions_per_unit(kpi: dict[str, DecisionTable]) -> None:
    # −2 per missed new customer, −2 per 10,000 yuan lost, −1 per day after 30 days
    decision = decide(
        kpi["KPI-CUST"],
        {
            "collection_rate": 100,
            "new_customers_missed": 2,
            "credit_loss": Decimal("25000"),
            "days_to_collect": 33,
            "contract_customers_lost": 1,
        },
    )
    assert decision["points"] == -4 - 4 - 3 - 10
    assert [m.rule for m in decision.matched] == [1, 2, 3, 7, 10]
    assert decision.matched[2].why == ("credit_loss 25000 >= 10000",)


@pytest.mark.parametrize(
    ("completion", "points"),
    [(155, 60), (59, 0), (100, 40), (150, 60), (60, 24), (Decimal("99.5"), Decimal("39.8"))],
)
def test_sales_plan_completion(
    kpi: dict[str, DecisionTable], completion: int | Decimal, points: int | Decimal
) -> None:
    # 剛好完成 40 分; 超過計劃一半以上 60 分; 達不到 60% 0 分 (between: 0.4 per point)
    assert decide(kpi["KPI-SALES-PLAN"], {"completion": completion})["points"] == points


def test_sales_scorecard(kpi: dict[str, DecisionTable]) -> None:
    decision = decide(
        kpi["KPI-SALES"],
        {
            "plan_completion": 155,
            "team_attainment": 85,
            "expense_use": 105,
            "information": 12,
            "attitude": 5,
        },
    )
    assert decision["score"] == 60 + 18 + 15 + 12 + 5
    assert str(decision.matched[0]) == ("item 1: 銷售計劃完成率 (plan_completion 155%): 60 points")


def test_monthly_score_weights_and_exact_decimals(mbo: dict[str, DecisionTable]) -> None:
    behaviour = dict.fromkeys(
        ("attendance", "discipline", "conduct", "environment", "teamwork", "professionalism"), 5
    )
    decision = decide(
        mbo["MBO-SCORE"],
        {"work": 90, **behaviour, "company_actual": 950_000, "company_plan": 1_000_000},
    )
    # 90 × 40% + 30 (six items at 5, the whole 30 %) + 95% × 40
    assert decision["score"] == Decimal("36") + 30 + 38
    third = decide(
        mbo["MBO-SCORE"],
        {"work": 0, **dict.fromkeys(behaviour, 1), "company_actual": 1, "company_plan": 3},
    )
    assert third["score"] == Decimal("19.33")  # 6 + 40/3, rounded half up to 2 decimals


def test_performance_pay(mbo: dict[str, DecisionTable]) -> None:
    # 實際考核得分 × 100% × 績效工資總額; capped at the pool (notes)
    table = mbo["MBO-PERF-PAY"]
    assert decide(table, {"score": 85, "pool": Decimal("2000")})["pay"] == Decimal("1700.00")
    assert decide(table, {"score": 106, "pool": 2000})["pay"] == Decimal("2000.00")
    assert decide(table, {"score": Decimal("33.333"), "pool": 1000})["pay"] == Decimal("333.33")


def test_pay_consequences_collect_every_rule(mbo: dict[str, DecisionTable]) -> None:
    decision = decide(mbo["MBO-PAY"], {"score": 45, "cumulative_c": 9})
    assert decision["action"] == ("demote_cut_pay_or_dismiss", "dismiss")
    assert decide(mbo["MBO-PAY"], {"score": 95, "consecutive_a": 9})["action"] == (
        "may_request_raise",
    )
    assert decide(mbo["MBO-PAY"], {"score": 80})["action"] == ()


def test_pay_consequences_in_the_sources_words(mbo: dict[str, DecisionTable]) -> None:
    pay = mbo["MBO-PAY"]
    # 50 分以下 (line 719): 以下 includes 50 itself.
    assert decide(pay, {"score": 50})["action"] == ("dismiss",)
    assert decide(pay, {"score": Decimal("50.01")})["action"] == ()
    # 考核結果為較差，予以調整崗位和薪酬或解聘 (line 703 E): dismissal stays possible.
    assert decide(pay, {"score": 65, "grade_c": True})["action"] == ("change_post_pay_or_dismiss",)
    # 總監/副總監…最後一名者，予以降職或解雇 (line 719 C): no pay cut is named.
    assert decide(pay, {"score": 70, "director_last": True})["action"] == ("demote_or_dismiss",)
    # 連續 6 個月…為 C，予以降職、降薪或解聘 (line 715 B).
    assert decide(pay, {"score": 60, "consecutive_c": 6})["action"] == (
        "demote_cut_pay_or_dismiss",
    )


def test_weights_of_110_percent_are_a_warning_naming_the_lines(
    mbo: dict[str, DecisionTable],
) -> None:
    _, problems = TableFiles().load(DECISIONS / "mbo.yaml")
    (warning,) = problems
    assert warning.code == "PF508"
    assert not warning.is_error
    assert "110%, not 100%" in warning.message
    assert "40% (line 32, source line 654)" in warning.message
    assert "30% (line 36, source line 656)" in warning.message
    assert "40% (line 41, source line 658)" in warning.message


def test_the_catalog_holds_every_table() -> None:
    catalog, problems = check_paths([ROOT / "processes"])
    assert [d.code for d in problems if d.is_error] == []
    expected = {
        "KPI-MKT", "KPI-SALES", "KPI-CUST", "KPI-INFO",
        "MBO-SCORE", "MBO-GRADE", "MBO-YEAR", "MBO-PAY",
    }  # fmt: skip
    assert expected <= set(catalog.tables)


# -- evaluation: errors and explanations ----------------------------------------------------


def test_a_missing_input_is_named(mbo: dict[str, DecisionTable]) -> None:
    with pytest.raises(
        EvaluationError, match=r"MBO-GRADE: the input 'score \(考核得分\)' is missing"
    ):
        decide(mbo["MBO-GRADE"], {})


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"scroe": 90}, r"no input 'scroe' \(did you mean 'score'\?\)"),
        ({"score": 90.0}, r"float 90.0; pass Decimal"),
        ({"score": "90"}, r"should be a number, but is the text '90'"),
        ({"score": -1}, r"is -1, below the lowest allowed 0"),
        ({"score": True}, r"should be a number"),
        ({"score": 90, "absent": "no"}, r"should be true or false"),
    ],
)
def test_values_outside_their_type(
    mbo: dict[str, DecisionTable], inputs: dict[str, object], message: str
) -> None:
    with pytest.raises(EvaluationError, match=message):
        decide(mbo["MBO-GRADE"], inputs)


def test_choice_and_whole_number_inputs(mbo: dict[str, DecisionTable]) -> None:
    with pytest.raises(EvaluationError, match=r"is 'D', not one of A, B, C"):
        decide(mbo["MBO-MONTH-POINTS"], {"grade": "D"})
    with pytest.raises(EvaluationError, match=r"should be a whole number, but is 12.5"):
        decide(mbo["MBO-YEAR"], {"points": Decimal("12.5")})
    with pytest.raises(EvaluationError, match=r"above the highest allowed 24"):
        decide(mbo["MBO-YEAR"], {"points": 25})


def test_division_by_zero_in_a_formula_is_an_evaluation_error(
    mbo: dict[str, DecisionTable],
) -> None:
    inputs = dict.fromkeys(
        ("attendance", "discipline", "conduct", "environment", "teamwork", "professionalism"), 3
    )
    with pytest.raises(EvaluationError, match="division by zero"):
        decide(mbo["MBO-SCORE"], {"work": 1, **inputs, "company_actual": 1, "company_plan": 0})


def test_explanations(mbo: dict[str, DecisionTable]) -> None:
    decision = decide(mbo["MBO-GRADE"], {"score": 89})
    assert str(decision.matched[0]) == "rule 2: score 89 >= 70 → grade B"
    assert decision.explain().splitlines() == [
        "MBO-GRADE 考核評定結果",
        "  grade = B",
        "matched:",
        "  rule 2: score 89 >= 70 → grade B",
        "not matched:",
        "  rule 1: score 89, not >= 90",
    ]
    data = decision.to_dict()
    assert data["outputs"] == {"grade": "B"}
    assert data["inputs"]["score"] == "89"
    assert data["matched"][0]["why"] == ["score 89 >= 70"]
    json.dumps(data)


def test_public_names() -> None:
    assert procflow.decide is decide
    assert procflow.DecisionTable is DecisionTable
    assert issubclass(procflow.EvaluationError, ValueError)


def test_marketing_and_information_scorecards(kpi: dict[str, DecisionTable]) -> None:
    # 部門業績 70 % (30/30/20/20) + 綜合素質 30 % (30/30/40); 信息主管 30/30/30/10
    marks = dict.fromkeys(
        ("operations", "publicity", "brand", "sales_support", "awareness", "teamwork"), 80
    )
    assert decide(kpi["KPI-MKT"], {**marks, "communication": 80})["score"] == 80
    mixed = decide(kpi["KPI-MKT"], {**marks, "operations": 100, "communication": 50})
    assert mixed["score"] == Decimal("80.6")  # (86 × 70% = 60.2) + (68 × 30% = 20.4)
    info = decide(
        kpi["KPI-INFO"], {"accuracy": 90, "informatisation": 80, "security": 70, "cooperation": 100}
    )
    assert info["score"] == 27 + 24 + 21 + 10


def test_exact_decimals_in_formulas(kpi: dict[str, DecisionTable]) -> None:
    points = decide(kpi["KPI-CUST"], {"collection_rate": Decimal("100.1")})["points"]
    assert points == Decimal("0.05")
    assert str(points) == "0.05"


def test_decide_takes_numbers_and_yes_no_as_people_type_them() -> None:
    """The command line reads what the web form and `procflow run` read (`typed_number`,
    `YES_NO`): 1,000 and full-width digits are numbers; 12,00 is refused, never 1200."""
    path = Path("processes/decisions/mbo.yaml")
    for typed in ("score=1,000", "score=１,０００", "score= 1000 "):
        done = CliRunner().invoke(main, ["decide", str(path), "MBO-GRADE", typed])
        assert done.exit_code == 0, done.output
        assert "score 1000 >= 90" in done.output, done.output
    slip = CliRunner().invoke(main, ["decide", str(path), "MBO-GRADE", "score=12,00"])
    assert slip.exit_code == 1 and "is '12,00', not a number" in slip.output
    for word, grade in (("y", "B"), ("n", "A"), ("是", "B"), ("否", "A")):
        absent = CliRunner().invoke(main, ["decide", str(path), "MBO-GRADE", "score=95",
                                           f"absent={word}"])  # fmt: skip
        assert f"grade = {grade}" in absent.output, (word, absent.output)
