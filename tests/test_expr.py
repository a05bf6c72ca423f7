"""Tests of the expression language (procflow.language.expr): syntax, types, limits, run time."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from procflow.errors import EvaluationError
from procflow.language.diagnostics import CODES
from procflow.language.expr import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    MONEY,
    NUMBER,
    PERCENT,
    TEXT,
    ChoiceType,
    Expression,
    ExprIssue,
    Function,
    ListType,
    RecordType,
    Type,
    compile_expression,
    offset_to_line_col,
    parse_literal,
)

PLAN = ChoiceType(("annual", "monthly", "major_special", "routine"))
ENV: dict[str, Type] = {
    "proposal": RecordType(
        "proposal",
        {
            "plan_type": PLAN,
            "budget": MONEY,
            "content": TEXT,
            "discount": PERCENT,
            "due": DATE,
            "submitted_at": DATETIME,
            "tags": ListType(TEXT),
            "urgent": BOOL,
        },
    ),
    "payment": RecordType("payment", (("amount", MONEY),)),
    "items": ListType(RecordType("item", {"price": MONEY})),
    "count": NUMBER,
    "flag": BOOL,
    "name": TEXT,
    "x": NUMBER,
}
NOW = datetime(2024, 5, 20, 9, 30)


def values(**proposal: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "plan_type": "annual",
        "budget": Decimal("3000.00"),
        "content": "Market survey",
        "discount": Decimal(15),
        "due": date(2024, 5, 31),
        "submitted_at": datetime(2024, 5, 1, 12, 0),
        "tags": ["a", "b"],
        "urgent": False,
    }
    fields.update(proposal)
    return {
        "proposal": fields,
        "payment": {"amount": Decimal("2500")},
        "items": [{"price": Decimal(10)}, {"price": Decimal("2.5")}],
        "count": 3,
        "flag": True,
        "name": "annual",
        "x": Decimal(7),
    }


def ok(
    text: str, *, expect: Type | None = BOOL, env: dict[str, Type] = ENV, **kw: Any
) -> Expression:
    expression, issues = compile_expression(text, env, expect=expect, **kw)
    assert issues == [], issues
    assert expression is not None
    return expression


def bad(
    text: str, *, expect: Type | None = BOOL, env: dict[str, Type] = ENV, **kw: Any
) -> list[ExprIssue]:
    expression, issues = compile_expression(text, env, expect=expect, **kw)
    assert expression is None
    assert issues
    assert all(issue.code in CODES and issue.code.startswith("PF4") for issue in issues)
    return issues


def run(text: str, data: dict[str, Any] | None = None, *, expect: Type | None = None) -> Any:
    return ok(text, expect=expect).evaluate(values() if data is None else data, now=NOW)


def only(issues: list[ExprIssue]) -> ExprIssue:
    assert len(issues) == 1, issues
    return issues[0]


# -- syntax and precedence ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),
        ("2 * 3 % 4", Decimal(2)),
        ("7 / 2", Decimal("3.5")),
        ("-7 % 3", Decimal(-1)),
        ("-2 * 3", Decimal(-6)),
        ("- -2", Decimal(2)),
        ("-(1 + 2)", Decimal(-3)),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!true || true", True),
        ("!(true || true)", False),
        ("1 < 2 == true", True),
        ("1 + 1 == 2 && 2 * 2 == 4", True),
        ("true ? 1 : false ? 2 : 3", Decimal(1)),
        ("false ? 1 : false ? 2 : 3", Decimal(3)),
        ("[1, 2, 3][1] + 1", Decimal(3)),
        ("[1, 2,]", (Decimal(1), Decimal(2))),
        ("1 in [1, 2] && !(3 in [1, 2])", True),
        ("'a' + \"b\" == 'ab'", True),
        ("size('héllo')", Decimal(5)),
        ("1.50", Decimal("1.50")),
        ("0.1 + 0.2 == 0.3", True),
        ("[1] + [2, 3]", (Decimal(1), Decimal(2), Decimal(3))),
    ],
)
def test_precedence_and_literals(text: str, expected: Any) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'"\x41\u00e9\101"', "AéA"),
        (r"'it\'s'", "it's"),
        (r'"a\tb\nc\\"', "a\tb\nc\\"),
        (r'"\U0001F600"', "\U0001f600"),
        ("'中文 \"quoted\"'", '中文 "quoted"'),
    ],
)
def test_string_escapes(text: str, expected: str) -> None:
    assert run(text, expect=TEXT) == expected


@pytest.mark.parametrize(
    ("text", "code", "start", "end"),
    [
        ("", "PF401", 0, 0),
        ("1 +", "PF401", 3, 3),
        ("(1 + 2", "PF401", 6, 6),
        ("1 = 1", "PF401", 2, 3),
        ("count == 'abc", "PF401", 9, 13),
        (r"name == '\q'", "PF401", 9, 11),
        ("count > 12abc", "PF401", 8, 13),
        ("flag ? 1", "PF401", 8, 8),
        ("count >", "PF401", 7, 7),
        ("count > > 1", "PF401", 8, 9),
        ("proposal.", "PF401", 9, 9),
        ("count ＞ 1", "PF401", 6, 7),
        ("a and b", "PF407", 2, 5),
        ("count == 1 if flag else 2", "PF407", 11, 13),
        ("{1: 2}", "PF401", 0, 1),
        ("1 // 2", "PF401", 2, 4),
        ("count == null", "PF407", 9, 13),
        ("True", "PF407", 0, 4),
    ],
)
def test_syntax_errors_point_at_the_token(text: str, code: str, start: int, end: int) -> None:
    issue = only(bad(text))
    assert (issue.code, issue.start, issue.end) == (code, start, end)


def test_syntax_hints() -> None:
    assert "==" in only(bad("count = 1")).hint
    assert "&&" in only(bad("flag and flag")).hint
    assert "ASCII" in only(bad("count ＞ 1")).hint
    assert "has(" in only(bad("proposal.budget == null")).hint
    assert "?" in only(bad("1 if flag else 2", expect=None)).hint


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [  # amounts and comparisons as the customer's text writes them
        ("proposal.budget >= 2000元", "unexpected character '元'", "without a unit: 2000, not"),
        ("proposal.budget >= 5萬", "unexpected character '萬'", "5萬 is 50000"),
        ("proposal.budget 2000以上", "unexpected character '以'", "write >= before the number"),
        ("proposal.budget 2000 以下", "unexpected character '以'", "write <= before the number"),
        ("proposal.budget ≥ 2000", "unexpected character '≥'", "type >="),
        ("proposal.budget 超過 2000", "unexpected character '超'", "write > for 超過"),
        ("proposal.budget 不超過 2000", "unexpected character '不'", "write <= for 不超過"),
        ("proposal.budget >= 2,000", "'2,000' has a thousands separator", "write 2000, without"),
        ("proposal.budget >= 1,500.50", "'1,500.50' has a thousands separator", "write 1500.50,"),
    ],
)
def test_amounts_written_as_in_chinese_text_get_a_hint(text: str, message: str, hint: str) -> None:
    issue = only(bad(text))
    assert (issue.code, issue.message) == ("PF401", message)
    assert hint in issue.hint


def test_two_arguments_are_not_a_thousands_separator() -> None:
    assert run("max(1,2) + max(10, 200) + size([1,20,300])", expect=NUMBER) == 205


# -- names and types -------------------------------------------------------------------


def test_unknown_field_did_you_mean_and_position() -> None:
    text = "proposal.budgte > 1000"
    issue = only(bad(text))
    assert issue.code == "PF402"
    assert text[issue.start : issue.end] == "budgte"
    assert issue.hint == "did you mean 'budget'?"
    assert "proposal" in issue.message


def test_unknown_name_did_you_mean_and_position() -> None:
    text = "flag && propsal.budget > 1000"
    issue = only(bad(text))
    assert issue.code == "PF402"
    assert text[issue.start : issue.end] == "propsal"
    assert issue.hint == "did you mean 'proposal'?"


def test_choice_literal_not_allowed_did_you_mean() -> None:
    text = 'proposal.plan_type != "routne"'
    issue = only(bad(text))
    assert issue.code == "PF404"
    assert text[issue.start : issue.end] == '"routne"'
    assert issue.hint == "did you mean 'routine'?"
    reverse = '"anual" == proposal.plan_type'
    issue = only(bad(reverse))
    assert (issue.code, reverse[issue.start : issue.end]) == ("PF404", '"anual"')
    far = only(bad('proposal.plan_type == "zzz"'))
    assert far.hint.startswith("expected one of 'annual'")


def test_choice_in_list_checks_each_literal() -> None:
    text = 'proposal.plan_type in ["annual", "montly", "routine", "wekly"]'
    issues = bad(text)
    assert [text[i.start : i.end] for i in issues] == ['"montly"', '"wekly"']
    assert {i.code for i in issues} == {"PF404"}
    assert issues[0].hint == "did you mean 'monthly'?"


def test_choice_with_text_variable_and_valid_literals() -> None:
    assert run("proposal.plan_type == name", expect=BOOL) is True
    assert run('proposal.plan_type in ["annual", "monthly"]') is True
    assert run('proposal.plan_type != "routine"') is True
    assert run('proposal.plan_type + "!"', expect=TEXT) == "annual!"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('proposal.budget > "1000"', "money compared with text"),
        ("proposal.budget == proposal.content", "money compared with text"),
        ("proposal.budget > proposal.discount", "money compared with percent"),
        ("proposal.due < now()", "date compared with date and time"),
        ("proposal.urgent < flag", "yes/no values have no order"),
        ("proposal.budget + proposal.discount > 1", "'+' cannot combine money and percent"),
        ("proposal.budget * payment.amount > 1", "'*' cannot combine money and money"),
        ("count / proposal.budget > 1", "'/' cannot combine number and money"),
        ("'a' * 3 == 'aaa'", "'*' cannot be used with text"),
        ("'a' + 1 == 'a1'", "'+' cannot combine text and number"),
        ("proposal == payment", "document proposal compared with document payment"),
        ("proposal.tags == [1]", "list of text compared with list of number"),
        ("count in proposal.content", "'in' needs a list on its right, not text"),
        ("count in proposal.tags", "number compared with text"),
        ("[1, 'a'] == [1]", "list items must be of one kind: number and text"),
        ("(flag ? 1 : 'a') == 1", "the two branches give different kinds of value"),
        ("size(count) > 1", "size() needs text, a list or a per-person form, not number"),
        ("size('a', 'b') > 1", "size() takes 1 argument, not 2"),
        ("-proposal.content == 'a'", "'-' needs a number, not text"),
        ("proposal.content[0] == 'a'", "only lists can be indexed, not text"),
        ("proposal.tags['a'] == 'a'", "a list position must be a number, not text"),
        ("proposal.budget.amount > 1", "proposal.budget is money, which has no fields"),
        ("proposal['budget'] > 1", "proposal is a document; read a field with a dot"),
        ("has(count)", "has() takes one field"),
        (
            "days_between(proposal.due, now()) > 1",
            "days_between() needs two dates or two date-times",
        ),
        ("min(proposal.budget, proposal.discount) > 1", "min() cannot mix money and percent"),
    ],
)
def test_type_errors(text: str, message: str) -> None:
    issue = only(bad(text))
    assert issue.code == "PF403"
    assert message in issue.message


@pytest.mark.parametrize(
    ("text", "expect", "message"),
    [
        ('proposal.budget > "1000"', BOOL, 'proposal.budget is money, "1000" is text: '),
        ("count in proposal.tags", BOOL, "count is number, proposal.tags is list of text: "),
        ("proposal.plan_type", MONEY, "proposal.plan_type gives choice of "),
        ("1 + 1", TEXT, "the expression gives number, but text is expected"),
    ],
)
def test_type_errors_name_the_field(text: str, expect: Type, message: str) -> None:
    issue = only(bad(text, expect=expect))
    assert issue.code == "PF403"
    assert issue.message.startswith(message)


def test_type_error_span_covers_the_comparison() -> None:
    text = 'flag && proposal.budget > "1000"'
    issue = only(bad(text))
    assert text[issue.start : issue.end] == 'proposal.budget > "1000"'
    assert "string(" in issue.hint


def test_range_chain_hint() -> None:
    issue = only(bad("1 < count < 10"))
    assert "&&" in issue.hint


@pytest.mark.parametrize(
    ("text", "expected_type"),
    [
        ("proposal.budget * 2", MONEY),
        ("2 * proposal.budget", MONEY),
        ("proposal.budget + 1", MONEY),
        ("proposal.budget / payment.amount", NUMBER),
        ("proposal.budget / 4", MONEY),
        ("proposal.budget % 7", MONEY),
        ("proposal.discount * 2", PERCENT),
        ("proposal.discount / proposal.discount", NUMBER),
        ("count * 2", NUMBER),
        ("flag ? proposal.budget : 0", MONEY),
        ("proposal.content + name", TEXT),
        ("proposal.tags + ['c']", ListType(TEXT)),
        ("[]", ListType(ANY)),
        ("items[0]", RecordType("item", {"price": MONEY})),
        ("items[1].price", MONEY),
        ("min(proposal.budget, 100)", MONEY),
        ("abs(proposal.discount)", PERCENT),
        ("today()", DATE),
        ("now()", DATETIME),
        ("string(count)", TEXT),
    ],
)
def test_result_types(text: str, expected_type: Type) -> None:
    assert ok(text, expect=None).type == expected_type


def test_logic_needs_yes_no() -> None:
    issues = bad("count && proposal.content")
    assert [i.code for i in issues] == ["PF403", "PF403"]
    assert "must be yes/no, but this is number" in issues[0].message
    assert only(bad("count ? 1 : 2", expect=None)).code == "PF403"
    assert only(bad("!name")).code == "PF403"


def test_expected_result_type() -> None:
    issue = only(bad("proposal.budget"))
    assert issue.code == "PF406"
    assert "money" in issue.message
    assert only(bad("proposal.content", expect=MONEY)).code == "PF403"
    assert ok("1000", expect=MONEY).type == MONEY
    assert ok("proposal.plan_type", expect=TEXT).type == TEXT
    assert ok("proposal.content", expect=None).type == TEXT
    assert ok('"monthly"', expect=PLAN).type == PLAN
    wrong = only(bad('"montly"', expect=PLAN))
    assert (wrong.code, wrong.hint) == ("PF404", "did you mean 'monthly'?")


def test_many_problems_are_all_reported() -> None:
    issues = bad('proposal.budgte > 1 && propsal.content == "x" && proposal.plan_type == "routne"')
    assert [i.code for i in issues] == ["PF402", "PF402", "PF404"]


def test_names_read() -> None:
    expression = ok(
        "has(proposal.budget) && proposal.budget > x || proposal.plan_type in proposal.tags"
    )
    assert expression.names == {"proposal.budget", "x", "proposal.plan_type", "proposal.tags"}
    assert ok("size(items) > 0").names == {"items"}


# -- PF407: names and functions that are not allowed -------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("_secret == 1", "_secret"),
        ("proposal._budget > 1", "_budget"),
        ("getattr(x, 'y') == 1", "getattr"),
        ("name.upper() == 'A'", "upper"),
        ("proposal.budget(1) > 1", "budget"),
        ("sizee(name) > 1", "sizee"),
        ("lambda", "lambda"),
    ],
)
def test_not_allowed(text: str, fragment: str) -> None:
    issue = only(bad(text))
    assert issue.code == "PF407"
    assert text[issue.start : issue.end] == fragment


def test_unknown_function_hint() -> None:
    assert only(bad("sizee(name) > 1")).hint == "did you mean 'size'?"
    assert "startsWith" in only(bad("name.startswith('a')")).hint
    assert "not a function" in only(bad("name(1) == 'a'")).hint
    assert only(bad("today > 1")).hint == "call the function: today(...)"


# -- run time ----------------------------------------------------------------------------


def test_condition_from_the_design() -> None:
    expression = ok('proposal.plan_type != "routine"')
    assert expression.evaluate(values(plan_type="routine")) is False
    assert expression.evaluate(values(plan_type="monthly")) is True


def test_missing_field_raises_naming_the_path() -> None:
    expression = ok("proposal.budget > 2000")
    data = values()
    del data["proposal"]["budget"]
    with pytest.raises(EvaluationError, match=r"proposal\.budget has no value"):
        expression.evaluate(data)
    with pytest.raises(EvaluationError, match=r"proposal\.budget has no value"):
        expression.evaluate(values(budget=None))
    with pytest.raises(
        EvaluationError, match=r"proposal\.budget has no value \(proposal is missing\)"
    ):
        expression.evaluate({})
    with pytest.raises(EvaluationError, match="x has no value"):
        ok("x > 1").evaluate({})
    assert expression.evaluate(values()) is True


def test_has_guards_and_short_circuits() -> None:
    guarded = ok("has(proposal.budget) && proposal.budget > 2000")
    data = values()
    del data["proposal"]["budget"]
    assert guarded.evaluate(data) is False
    assert guarded.evaluate(values()) is True
    assert guarded.evaluate({}) is False
    assert ok("!has(proposal.budget) || proposal.budget > 5000").evaluate(data) is True
    assert ok("true || proposal.budget > 1").evaluate({}) is True
    assert ok("false && proposal.budget > 1").evaluate({}) is False
    assert ok("flag ? count > 1 : proposal.budget > 1").evaluate({"flag": True, "count": 2}) is True
    with pytest.raises(EvaluationError, match=r"proposal\.budget has no value"):
        ok("false || proposal.budget > 1").evaluate({})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x / 0 > 1", "division by zero"),
        ("x % (x - 7) > 1", "division by zero"),
        ("proposal.tags[2] == 'a'", "no item 2 in a list of 2"),
        ("proposal.tags[x - 8] == 'a'", "no item -1"),
        ("proposal.tags[0.5] == 'a'", "no item 0.5"),
        ("int('12a') > 1", "not a whole number"),
        ("now() > proposal.submitted_at", "need the clock"),
    ],
)
def test_runtime_errors(text: str, message: str) -> None:
    expression = ok(text)
    with pytest.raises(EvaluationError, match=message) as info:
        expression.evaluate(values())
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("budget", "3000", "proposal.budget should be a number, but is the text '3000'"),
        ("budget", 3000.0, "floats are not exact"),
        ("budget", True, "should be a number"),
        ("budget", Decimal("NaN"), "not a finite number"),
        ("plan_type", "weekly", "should be choice of annual"),
        ("due", datetime(2024, 1, 1), "proposal.due should be date"),
        ("tags", "a,b", "should be list of text"),
        ("tags", ["a", 1], r"proposal.tags\[1\] should be text"),
    ],
)
def test_ill_typed_values_raise(field: str, value: Any, message: str) -> None:
    expression = ok(f"proposal.{field} == proposal.{field}")
    with pytest.raises(EvaluationError, match=message):
        expression.evaluate(values(**{field: value}))


def test_ints_are_accepted_as_numbers() -> None:
    assert ok("proposal.budget + count == 3003").evaluate(values(budget=3000)) is True


def test_exact_decimals() -> None:
    assert run("0.1 + 0.2 == 0.3") is True
    assert run("1.10 + 2.20", expect=None) == Decimal("3.30")
    assert run("proposal.budget * 0.07", expect=None) == Decimal("210.0000")
    assert run("1 / 3 * 3 == 1") is False  # 34 significant digits, not fractions
    assert run("10 / 4", expect=None) == Decimal("2.5")


def test_number_overflow_is_an_evaluation_error() -> None:
    big = {"x": Decimal("9E+999999")}
    with pytest.raises(EvaluationError, match="out of range"):
        ok("x * x > 1").evaluate(big)
    literal = " * ".join(["999999999999999999999999999999"] * 59)  # just under 2,000 characters
    assert ok(f"{literal} > 1").evaluate({}) is True


def test_dates_with_injected_clock() -> None:
    assert run("today()", expect=None) == date(2024, 5, 20)
    assert run("now()", expect=None) == NOW
    assert run("day_of_month(today()) < 25") is True
    assert run("month(proposal.due) == 5 && year(proposal.due) == 2024") is True
    assert run("days_between(today(), proposal.due)", expect=None) == Decimal(11)
    assert run("days_between(proposal.submitted_at, now())", expect=None) == Decimal(19)
    assert run("proposal.due > today() && proposal.submitted_at < now()") is True
    later = ok("day_of_month(today()) < 25").evaluate(values(), now=datetime(2024, 5, 26))
    assert later is False
    assert ok("year(today())", expect=None).evaluate({}, now=datetime(2000, 1, 1)) == 2000
    with pytest.raises(TypeError):
        ok("today() == today()").evaluate({}, now=date(2024, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("size(proposal.tags)", Decimal(2)),
        ("size(proposal.content)", Decimal(13)),
        ("int(-2.7)", Decimal(-2)),
        ("int(2.7)", Decimal(2)),
        ("int('-12')", Decimal(-12)),
        ("string(1.50)", "1.50"),
        ("string(0 * -5)", "0"),
        ("string(true)", "true"),
        ("string(proposal.due)", "2024-05-31"),
        ("string(proposal.plan_type)", "annual"),
        ("min(proposal.budget, 100)", Decimal(100)),
        ("max(proposal.budget, payment.amount)", Decimal("3000.00")),
        ("min('b', 'a')", "a"),
        ("abs(-3.5)", Decimal("3.5")),
        ("proposal.content.startsWith('Market')", True),
        ("proposal.content.endsWith('vey')", True),
        ("proposal.content.contains('ket s')", True),
        ("proposal.content.contains('Survey')", False),
        ("items[1].price * 2", Decimal("5.0")),
        ("'b' in proposal.tags", True),
        ("proposal.urgent == false", True),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_extension_functions() -> None:
    def tier(amount: Decimal) -> str:
        return "high" if amount > 1000 else "low"

    def broken(amount: Decimal) -> str:
        raise RuntimeError("boom")

    functions = {
        "tier": Function("tier", (MONEY,), TEXT, tier),
        "broken": Function("broken", (MONEY,), TEXT, broken),
        "liar": Function("liar", (ANY,), NUMBER, lambda v: "not a number"),
        "pick": Function("pick", (PLAN,), BOOL, lambda v: v == "annual"),
    }
    expression = ok("tier(proposal.budget) == 'high'", functions=functions)
    assert expression.evaluate(values()) is True
    assert expression.evaluate(values(budget=Decimal(5))) is False
    assert ok("tier(500) == 'low'", functions=functions).evaluate({}) is True
    issue = only(bad("tier(proposal.content) == 'x'", functions=functions))
    assert "tier() expects money as argument 1, not text" in issue.message
    assert only(bad("tier(1, 2) == 'x'", functions=functions)).code == "PF403"
    assert only(bad("pick('anual')", functions=functions)).code == "PF404"
    with pytest.raises(EvaluationError, match=r"broken\(\) failed: boom"):
        ok("broken(1) == 'x'", functions=functions).evaluate({})
    with pytest.raises(EvaluationError, match=r"liar\(\) should be a number"):
        ok("liar(1) > 1", functions=functions).evaluate({})
    with pytest.raises(ValueError, match="built-in"):
        compile_expression("size(1)", ENV, functions={"size": Function("size", (), NUMBER, int)})
    with pytest.raises(ValueError, match="identifier"):
        compile_expression("1", ENV, functions={"_x": Function("_x", (), NUMBER, int)})


# -- positions ---------------------------------------------------------------------------


def test_offset_to_line_col() -> None:
    text = "proposal.budget > 1 &&\n  proposal.budgte > 2"
    issue = only(bad(text))
    assert offset_to_line_col(text, issue.start) == (1, 11)
    assert offset_to_line_col(text, 0) == (0, 0)
    assert offset_to_line_col("a\r\nb", 3) == (1, 0)
    assert offset_to_line_col("ab", 99) == (0, 2)


# -- limits and escape attempts ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "(" * 10_000 + "1" + ")" * 10_000,
        "!" * 10_000 + "true",
        "1 + " * 300 + "1",
        "(" * 33 + "1" + ")" * 33,
        "!" * 33 + "true",
        "-" * 40 + "1 > 0",
        "[" * 40 + "]" * 40,
        "size(" * 40 + "1" + ")" * 40,
        "1" * 31 + " > 0",
        "x" + " + x" * 120 + " > 0",
    ],
)
def test_limits(text: str) -> None:
    issue = only(bad(text))
    assert issue.code == "PF405"


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000 + "1" + ")" * 10_000,
        "!" * 10_000 + "true",
        "-" * 10_000 + "1",
        "1" + " + 1" * 10_000,
    ],
)
def test_nesting_is_guarded_without_the_length_limits(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # The parser and the checker bound their own recursion, whatever the outer limits are.
    from procflow.language.expr import lexer

    monkeypatch.setattr(lexer, "MAX_LENGTH", 10**6)
    monkeypatch.setattr(lexer, "MAX_TOKENS", 10**6)
    issue = only(bad(text, expect=None))
    assert issue.code == "PF405"
    assert "nests more than" in issue.message


def test_within_limits() -> None:
    assert run("(" * 32 + "1" + ")" * 32 + " == 1") is True
    assert run("!" * 30 + "true") is True
    assert run("1" * 30 + " > 0") is True
    assert run("x" + " + x" * 90, expect=None) == Decimal(7 * 91)
    assert run(" || ".join(["count == 2"] * 90) + " || flag") is True


ESCAPES = [
    "__import__('os')",
    "__import__('os').system('ls')",
    "proposal.__class__",
    "proposal.budget.__class__",
    "().__class__.__bases__",
    "().__class__.__mro__[1].__subclasses__()",
    "x.__dict__",
    "__builtins__",
    "getattr(x, 'y')",
    "setattr(x, 'y', 1)",
    "globals()",
    "vars(x)",
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "eval('1')",
    "exec('import os')",
    "compile('1', 'f', 'eval')",
    "import os",
    "os.system('ls')",
    "lambda: 1",
    "(lambda: 1)()",
    "lambda x: x",
    "[x for x in y]",
    "[i for i in range(10)]",
    "{}.keys()",
    "9**9**9",
    "'a'*10**9",
    "'a' * 1000000000",
    "size('a') ** 2",
    "(" * 10_000 + ")" * 10_000,
    "(" * 10_000 + "1" + ")" * 10_000,
    "a if b else c",
    "1 if flag else 2",
    "proposal['budget']",
    "'{}'.format(1)",
    "name.join(['a'])",
    "f'{x}'",
    "x; import os",
    "`ls`",
    "$x",
    "@x",
    "x := 1",
    "x = 1",
    "del x",
    "null",
    "None",
    "proposal.budget.real",
    "type(x)",
    "x.__class__.__init__.__globals__",
    "\\x41",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_escape_attempts_are_rejected(text: str) -> None:
    issues = bad(text, expect=None)
    assert all(issue.code.startswith("PF4") for issue in issues)


def test_non_text_is_an_issue_not_an_exception() -> None:
    issue = only(bad(42))  # type: ignore[arg-type]
    assert issue.code == "PF401"


# -- types and literals ------------------------------------------------------------------


def test_type_labels_and_hashing() -> None:
    assert MONEY.label == "money"
    assert str(PLAN) == "choice of annual, monthly, major_special, routine"
    assert ListType(TEXT).label == "list of text"
    assert ENV["proposal"].label == "document proposal"
    by_mapping = RecordType("p", {"a": MONEY, "b": TEXT})
    by_pairs = RecordType("p", (("a", MONEY), ("b", TEXT)))
    assert by_mapping == by_pairs
    assert hash(by_mapping) == hash(by_pairs)
    assert len({by_mapping, by_pairs, RecordType("p", {"a": TEXT})}) == 2
    assert dict(by_pairs.fields) == {"a": MONEY, "b": TEXT}


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("-12.5", Decimal("-12.5"), NUMBER),
        ("'annual'", "annual", TEXT),
        ("true", True, BOOL),
        ('["a", "b"]', ("a", "b"), ListType(TEXT)),
        ("[1, -2]", (Decimal(1), Decimal(-2)), ListType(NUMBER)),
    ],
)
def test_parse_literal(text: str, value: Any, kind: Type) -> None:
    result, issues = parse_literal(text)
    assert issues == []
    assert result == (value, kind)


@pytest.mark.parametrize("text", ["x", "1 + 2", "size('a')", "'a", "[x]", "-'a'"])
def test_parse_literal_rejects(text: str) -> None:
    result, issues = parse_literal(text)
    assert result is None
    assert len(issues) == 1
    assert issues[0].code in ("PF401", "PF403")
