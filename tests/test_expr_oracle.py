"""procflow.language.expr agrees with cel-python (the reference CEL engine) on random expressions.

Hypothesis writes random, well-typed expressions of the shared subset over
integer, yes/no and text literals and a few variables, and both engines
evaluate them. cel-python is a test-only dependency used as an oracle.

Where our choices knowingly differ from CEL, the generator stays clear:

- Numbers are exact decimals here, int64 in CEL: ``7 / 2`` is 3.5 here and 3
  in CEL, and CEL overflows past 2**63. So division only appears as
  ``(e * k) / k`` (always whole), multiplication only by a literal in -9..9,
  and leaves are within ±1000, so no value can come near 2**63.
  (``%`` needs no care: both truncate toward zero, e.g. ``-7 % 3 == -1``.)
- cel-python renders ``string(true)`` as "True" (the CEL spec says "true"),
  so ``string()`` is only applied to integers.
- Yes/no values have no order here (CEL allows ``false < true``), and
  ``int(text)`` is stricter here (no spaces), so neither is generated.
- Division and modulo by zero are errors in both; the divisor is never zero.
- cel-python's ``+`` on text returns a plain Python ``str`` without CEL's
  methods, so ``("a" + s).contains("a")`` fails there: a method's receiver is
  a literal or a variable.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import celpy
import pytest
from celpy import celtypes
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from procflow.language.expr import BOOL, NUMBER, TEXT, compile_expression

ENV = {"x": NUMBER, "y": NUMBER, "p": BOOL, "q": BOOL, "s": TEXT}
CEL = celpy.Environment()
DEPTH = 3

# Mostly tiny numbers, so that equal values (and so ==, <= and in) come up often.
small = st.one_of(st.integers(-3, 3), st.integers(-1000, 1000))
factor = st.integers(-9, 9)
nonzero = st.sampled_from([k for k in range(-9, 10) if k])
alphabet = st.sampled_from(["a", "b", "é", "中", " ", "'", '"', "\\", "\n", "\t"])
text_values = st.lists(alphabet, max_size=4).map("".join)


def cel_text(value: str, quote: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return quote + escaped.replace(quote, "\\" + quote) + quote


def maybe_paren(draw: st.DrawFn, text: str) -> str:
    # Half the time operands go unparenthesized, so precedence is exercised too.
    return f"({text})" if draw(st.booleans()) else text


@st.composite
def int_expr(draw: st.DrawFn, depth: int = DEPTH) -> str:
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(small.map(str), st.sampled_from(["x", "y"])))
    sub = int_expr(depth - 1)
    kind = draw(st.sampled_from(["+-", "*", "/", "%", "neg", "?:", "size", "index", "int"]))
    if kind == "+-":
        op = draw(st.sampled_from(["+", "-"]))
        return maybe_paren(draw, f"{draw(sub)} {op} {draw(sub)}")
    if kind == "*":
        return maybe_paren(draw, f"({draw(sub)}) * {draw(factor)}")
    if kind == "/":
        k = draw(nonzero)
        return f"(({draw(sub)}) * {k} / {k})"
    if kind == "%":
        return maybe_paren(draw, f"({draw(sub)}) % {draw(nonzero)}")
    if kind == "neg":
        return f"-({draw(sub)})"
    if kind == "?:":
        return f"({draw(bool_expr(depth - 1))} ? {draw(sub)} : {draw(sub)})"
    if kind == "size":
        if draw(st.booleans()):
            return f"size({draw(text_expr(depth - 1))})"
        return f"size([{', '.join(draw(st.lists(sub, max_size=3)))}])"
    if kind == "index":
        items = draw(st.lists(sub, min_size=1, max_size=3))
        return f"[{', '.join(items)}][{draw(st.integers(0, len(items) - 1))}]"
    return f"int(string({draw(sub)}))"


@st.composite
def text_expr(draw: st.DrawFn, depth: int = DEPTH) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        quote = draw(st.sampled_from(['"', "'"]))
        return draw(st.one_of(text_values.map(lambda v: cel_text(v, quote)), st.just("s")))
    sub = text_expr(depth - 1)
    kind = draw(st.sampled_from(["+", "string", "?:"]))
    if kind == "+":
        return maybe_paren(draw, f"{draw(sub)} + {draw(sub)}")
    if kind == "string":
        return f"string({draw(int_expr(depth - 1))})"
    return f"({draw(bool_expr(depth - 1))} ? {draw(sub)} : {draw(sub)})"


@st.composite
def bool_expr(draw: st.DrawFn, depth: int = DEPTH) -> str:
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(["true", "false", "p", "q"]))
    sub = bool_expr(depth - 1)
    # Relations are listed twice: they are where engines most often disagree.
    kinds = ["&&||", "!", "int<", "int<", "text<", "text<", "==", "in", "method", "?:"]
    kind = draw(st.sampled_from(kinds))
    if kind == "&&||":
        op = draw(st.sampled_from(["&&", "||"]))
        return maybe_paren(draw, f"{draw(sub)} {op} {draw(sub)}")
    if kind == "!":
        return f"!({draw(sub)})"
    # Relations are always parenthesized: CEL chains them left to right.
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if kind in ("int<", "text<"):
        side = int_expr(depth - 1) if kind == "int<" else text_expr(depth - 1)
        left = draw(side)
        # Often the same text on both sides, so that the edge of each relation is tested.
        right = draw(st.one_of(st.just(left), side))
        return f"({left} {op} {right})"
    if kind == "==":
        op = draw(st.sampled_from(["==", "!="]))
        return f"({draw(sub)} {op} {draw(sub)})"
    if kind == "in":
        items = int_expr(depth - 1) if draw(st.booleans()) else text_expr(depth - 1)
        element = draw(items)
        return f"({element} in [{', '.join(draw(st.lists(items, max_size=3)))}])"
    if kind == "method":
        name = draw(st.sampled_from(["startsWith", "endsWith", "contains"]))
        receiver = draw(text_expr(0))
        return f"({receiver}.{name}({draw(st.one_of(st.just(receiver), text_expr(depth - 1)))}))"
    return f"({draw(sub)} ? {draw(sub)} : {draw(sub)})"


variables = st.fixed_dictionaries(
    {"x": small, "y": small, "p": st.booleans(), "q": st.booleans(), "s": text_values}
)


def cel_value(text: str, data: dict[str, Any]) -> Any:
    activation = {
        "x": celtypes.IntType(data["x"]),
        "y": celtypes.IntType(data["y"]),
        "p": celtypes.BoolType(data["p"]),
        "q": celtypes.BoolType(data["q"]),
        "s": celtypes.StringType(data["s"]),
    }
    result = CEL.program(CEL.compile(text)).evaluate(activation)
    assert not isinstance(result, celpy.CELEvalError), (text, result)
    if isinstance(result, celtypes.BoolType):
        return bool(result)
    if isinstance(result, celtypes.IntType):
        return int(result)
    assert isinstance(result, str), (text, result)
    return str(result)


def ours(text: str, data: dict[str, Any]) -> Any:
    expression, issues = compile_expression(text, ENV, expect=None)
    assert issues == [], (text, issues)
    assert expression is not None
    result = expression.evaluate(data)
    if isinstance(result, Decimal):
        assert result == result.to_integral_value(), (text, result)
        return int(result)
    return result


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(bool_expr(), bool_expr(), int_expr(), text_expr()),
    data=variables,
)
def test_agrees_with_cel_python(text: str, data: dict[str, Any]) -> None:
    assume(len(text) < 1_500)  # stays well within the limits (2,000 characters, 500 tokens)
    expected = cel_value(text, data)
    actual = ours(text, data)
    assert type(actual) is type(expected), (text, actual, expected)
    assert actual == expected, (text, actual, expected)


@pytest.mark.parametrize(
    "text",
    [
        "-7 % 3",
        "7 % -3",
        "1 + 2 * 3 - 4 % 3",
        "true || false && false",
        "1 < 2 == true",
        "!false && 3 > 2 ? 'yes' : 'no'",
        "size('中文é') + size([1, 2, 3])",
        r"'\x41\u00e9\101' + s",
        "string(-12) + string(x)",
        "x in [1, 2, 3]",
        "'ab'.startsWith('a') && 'ab'.endsWith('b') && 'ab'.contains('')",
        "[x, y, 3][2]",
    ],
)
def test_known_cases_agree(text: str) -> None:
    data = {"x": 2, "y": -3, "p": True, "q": False, "s": "é"}
    assert ours(text, data) == cel_value(text, data)
