"""The tokenizer: expression text → a bounded list of `Token`.

Owns the lexical syntax (CEL's, minus what the subset leaves out): numbers
without exponents, quoted text with CEL escapes, ASCII identifiers, and the
operators. It refuses, with a located issue, what is not part of the language
(``**``, ``//``, ``=``, ``&``, names starting with ``_``) and stops at the
first token over `MAX_TOKENS`, so cost is bounded by the limits, not by the
input. Imports only `issues`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from procflow.language.expr.issues import MAX_DIGITS, MAX_LENGTH, MAX_TOKENS, fail

_TWO_CHAR = frozenset({"==", "!=", "<=", ">=", "&&", "||"})
_ONE_CHAR = frozenset("<>!+-*/%?:.,()[]")
_WHITESPACE = frozenset(" \t\r\n\f\u3000")  # U+3000: the full-width space a CJK input method types
_SIMPLE_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "`": "`",
    "?": "?",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_BAD_OPERATORS = {
    "**": "there is no power operator; multiply explicitly",
    "//": "there is no '//' operator; use int(a / b) for a whole-number quotient",
    "=": "write == to compare",
    "&": "write && for 'and'",
    "|": "write || for 'or'",
    "{": "maps are not part of the expression language",
    "}": "maps are not part of the expression language",
}
_CURLY_QUOTES = frozenset("“”‘’「」")
COMPARISON_WORDS = {
    ">": ("超過", "超过", "大於", "大于", "多於", "多于", "高於", "高于"),
    "<": ("不足", "低於", "低于", "少於", "少于", "未滿", "未满", "小於", "小于"),
    "<=": ("不超過", "不超过", "不多於", "不多于", "不高於", "不高于", "不大於", "不大于"),
    ">=": ("不低於", "不低于", "不少於", "不少于", "不小於", "不小于"),
}
"""The words business Chinese compares amounts with, by the operator each means: 超過 2000
leaves 2000 out (``>``), 不超過 2000 takes it in (``<=``). 以上 and 以下, after the number,
include it (``>=``, ``<=``)."""
SIGNS = {"≥": ">=", "≤": "<=", "≠": "!="}
"""The mathematical signs people type for ASCII operators."""
_UNIT_CHARS = frozenset("元分萬万%")


@dataclass(frozen=True, slots=True)
class Token:
    """One token. ``kind`` is ``num``, ``str``, ``ident``, ``op`` or ``end``."""

    kind: str
    text: str
    value: object
    start: int
    end: int


def _is_ident_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c == "_")


def _is_ident_part(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _hint_for_char(c: str) -> str:
    if "\uff01" <= c <= "\uff5e":
        return f"this is a full-width character; type the ASCII '{chr(ord(c) - 0xFEE0)}' instead"
    if c in _CURLY_QUOTES:
        return "use straight quotes \" or ' around text"
    if not c.isascii() and c.isalpha():
        return "names of documents, fields and functions use ASCII letters, digits and '_'"
    return ""


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with one ``end`` token.

    Raises:
        ExprFailure: at the first lexical problem or limit.
    """
    if len(text) > MAX_LENGTH:
        raise fail(
            "PF405",
            f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}",
            MAX_LENGTH,
            len(text),
            "split it, or move the logic into a decision table",
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            tokens.append(Token("end", "", None, n, n))
            return tokens
        if len(tokens) >= MAX_TOKENS:
            raise fail(
                "PF405",
                f"the expression has more than {MAX_TOKENS} tokens",
                i,
                n,
                "split it, or move the logic into a decision table",
            )
        c = text[i]
        if c.isdigit() and c.isascii():
            token = _number(text, i)
        elif c in "\"'":
            token = _string(text, i)
        elif _is_ident_start(c):
            j = i + 1
            while j < n and _is_ident_part(text[j]):
                j += 1
            word = text[i:j]
            if word.startswith("_"):
                raise fail(
                    "PF407",
                    f"the name '{word}' is not allowed",
                    i,
                    j,
                    "names starting with '_' are reserved",
                )
            token = Token("ident", word, word, i, j)
        else:
            token = _operator(text, i)
        tokens.append(token)
        i = token.end


def _operator(text: str, i: int) -> Token:
    pair = text[i : i + 2]
    if pair in _BAD_OPERATORS:
        raise fail("PF401", f"'{pair}' is not an operator", i, i + 2, _BAD_OPERATORS[pair])
    if pair in _TWO_CHAR:
        return Token("op", pair, pair, i, i + 2)
    c = text[i]
    if c in _ONE_CHAR:
        return Token("op", c, c, i, i + 1)
    if c in _BAD_OPERATORS:
        raise fail("PF401", f"'{c}' is not an operator", i, i + 1, _BAD_OPERATORS[c])
    shown = c if c.isprintable() else repr(c)
    raise fail("PF401", f"unexpected character '{shown}'", i, i + 1, _hint_at(text, i))


def _hint_at(text: str, i: int) -> str:
    """The hint for a character the language does not have, read with what surrounds it:
    how to write an amount or a comparison that business Chinese writes in words."""
    c = text[i]
    if c in SIGNS:
        return f"type {SIGNS[c]}"
    rest = text[i:]
    for side, op in (("以上", ">="), ("以下", "<="), ("及以上", ">="), ("及以下", "<=")):
        if rest.startswith(side):
            return f"write {op} before the number: {side} includes it, as in amount {op} 2000"
    for op, words in COMPARISON_WORDS.items():
        word = next((w for w in sorted(words, key=len, reverse=True) if rest.startswith(w)), None)
        if word is not None:
            return f"write {op} for {word}, as in amount {op} 2000"
    before = text[:i].rstrip()
    if c in _UNIT_CHARS and before[-1:].isdigit():
        return "write the amount alone, without a unit: 2000, not 2000元; 5萬 is 50000"
    return _hint_for_char(c)


def _digits(text: str, j: int) -> int:
    while j < len(text) and text[j].isascii() and text[j].isdigit():
        j += 1
    return j


def _number(text: str, i: int) -> Token:
    j = _digits(text, i)
    count = j - i
    if j + 1 < len(text) and text[j] == "." and text[j + 1].isascii() and text[j + 1].isdigit():
        k = _digits(text, j + 1)
        count += k - j - 1
        j = k
    if j < len(text) and _is_ident_part(text[j]):
        k = j
        while k < len(text) and _is_ident_part(text[k]):
            k += 1
        raise fail(
            "PF401",
            f"'{text[i:k]}' is not a number",
            i,
            k,
            "write numbers as digits with an optional decimal point, like 1500 or 0.25",
        )
    if count > MAX_DIGITS:
        raise fail("PF405", f"the number has {count} digits; the limit is {MAX_DIGITS}", i, j)
    return Token("num", text[i:j], Decimal(text[i:j]), i, j)


def _string(text: str, i: int) -> Token:
    quote = text[i]
    out: list[str] = []
    j, n = i + 1, len(text)
    while j < n:
        c = text[j]
        if c == quote:
            return Token("str", text[i : j + 1], "".join(out), i, j + 1)
        if c in "\r\n":
            break
        if c != "\\":
            out.append(c)
            j += 1
            continue
        value, j = _escape(text, j)
        out.append(value)
    raise fail(
        "PF401", "the text in quotes is not closed", i, j, f"end it with {quote} on the same line"
    )


def _escape(text: str, j: int) -> tuple[str, int]:
    """Decode the escape starting at the backslash at ``j``; return it and the next offset."""
    e = text[j + 1 : j + 2]
    if e in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[e], j + 2
    width = _HEX_ESCAPES.get(e, 0)
    digits = text[j + 2 : j + 2 + width] if width else text[j + 1 : j + 4]
    if width and len(digits) == width and all(d in _HEXDIGITS for d in digits):
        code = int(digits, 16)
        end = j + 2 + width
    elif (
        not width
        and len(digits) == 3
        and digits[0] in "0123"
        and all(d in "01234567" for d in digits)
    ):
        code = int(digits, 8)
        end = j + 4
    else:
        raise fail(
            "PF401",
            f"'\\{e}' is not a valid escape",
            j,
            j + 2,
            "known escapes: \\\\ \\\" \\' \\n \\t \\r \\xHH \\uHHHH",
        )
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise fail("PF401", "the escape is not a valid character", j, end)
    return chr(code), end
