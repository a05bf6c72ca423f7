"""Thresholds that read the source's 以上, 以下 and 之前 the other way (PF518, a warning).

Chinese 以上 and 以下 include the number (2000元以上 is ≥ 2000, 50分以下 is
≤ 50), and 之前 or 前 after a day means on or before it (每月25日之前: the
25th itself is on time). An analyst who quotes the source in ``notes:`` and
then writes ``amount > 2000``, a cell ``< 50`` or a deadline ``before the
25th of each month`` has most likely read it the English way. This module
finds such pairs in one file, by heuristics over its plain data:

- the notes (every ``notes:`` and ``note:`` text of the file) are searched for
  a number followed by 以上 or 以下 (``2000元以上``, ``50 分以下``) and a day
  followed by 之前, 以前 or 前 (``每月25日之前``, ``7 日之前``);
- conditions (``when``, ``if``, ``that``) are searched for a strict comparison
  with that number on the wrong side (``x > 2000`` for 以上, ``x < 50`` for 以下);
  rule cells for ``> 2000``, ``< 50`` or a range left open at that number; and
  deadlines (``due``) for an exclusive day (``before the 25th``, ``25日零時前``).

It stays quiet for a number when a note states the other reading on purpose:
a note holding the keyword, the number and one of 不含, 不包括, exclusive,
excluding, excludes, not including (``2000元以上 read as more than 2000,
excluding it``).

Imports `source`, `diagnostics`, `deadlines` and the expression parser.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from procflow.language.deadlines import DeadlineSyntaxError, MonthlyDay, YearlyDate, parse_deadline
from procflow.language.diagnostics import Diagnostic, Severity
from procflow.language.expr.issues import ExprFailure
from procflow.language.expr.lexer import COMPARISON_WORDS
from procflow.language.expr.nodes import Binary, Literal, Node
from procflow.language.expr.parser import parse
from procflow.language.source import Document, Path_, pointer, walk

CODE = "PF518"
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_BOUND = re.compile(
    _NUMBER + r"\s*(?:%|％|元|萬元|万元|分|個|个|天|日|人|名|次|個月|个月|月|歲|岁)?\s*(以上|以下)"
)
_DAY = re.compile(r"(\d{1,2})\s*[日号號]\s*(之前|以前|前)")
_OTHER_READING = re.compile(r"不含|不包括|exclusive|excluding|excludes|not including", re.I)
_ABOVE = (">", "＞", *COMPARISON_WORDS[">"])  # a cell that leaves its number out: > 2000, 超過2000
_STRICT_CELL = re.compile(
    r"\s*(" + "|".join((*_ABOVE, "<", "＜", *COMPARISON_WORDS["<"])) + r")\s*" + _NUMBER
    + r"\s*(?:%|元|萬元|万元|分|個|个|天|日|人|名|次)?\s*"
)  # fmt: skip
_OPEN_LOW = re.compile(r"\s*\(\s*" + _NUMBER + r"\s*%?\s*\.\..*")
_OPEN_HIGH = re.compile(r".*\.\.\s*" + _NUMBER + r"\s*%?\s*\)\s*")
_ANY_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_CONDITION_KEYS = frozenset({"when", "if", "that"})


class _Claim(NamedTuple):
    """What a note says: ``2000元以上`` is (2000, "以上"); ``每月25日之前`` is (25, "之前")."""

    number: Decimal
    word: str
    quote: str


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the patterns give digits only
        return None


def _notes(data: Any) -> Iterator[str]:
    for path, value in walk(data):
        if (
            isinstance(value, str)
            and path
            and (path[-1] in ("note", "notes") or (len(path) > 1 and path[-2] == "notes"))
        ):
            yield value


def _claims(data: Any) -> list[_Claim]:
    notes = list(_notes(data))
    # a note that states the other reading on purpose quiets its own numbers
    quiet: set[tuple[Decimal, str]] = set()
    for note in notes:
        if _OTHER_READING.search(note):
            numbers = {n for m in _ANY_NUMBER.finditer(note) if (n := _decimal(m[0])) is not None}
            quiet |= {(n, w) for n in numbers for w in ("以上", "以下", "之前") if w in note}
            quiet |= {(Decimal(m[1]), "之前") for m in _DAY.finditer(note)}
    claims: list[_Claim] = []
    for note in notes:
        for m in _BOUND.finditer(note):
            n = _decimal(m[1])
            if n is not None and (n, m[2]) not in quiet:
                claims.append(_Claim(n, m[2], m[0].strip()))
        for m in _DAY.finditer(note):
            if (Decimal(m[1]), "之前") not in quiet:
                claims.append(_Claim(Decimal(m[1]), "之前", m[0].strip()))
    return claims


def _children(node: Node) -> Iterator[Node]:
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Node))


def _comparisons(node: Node) -> Iterator[Binary]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Binary) and n.op in ("<", ">"):
            yield n
        stack.extend(_children(n))


def _number(node: Node) -> Decimal | None:
    if isinstance(node, Literal) and isinstance(node.value, Decimal):
        return node.value
    return None


def _strict(b: Binary) -> tuple[Decimal, str] | None:
    """The number and which way a strict comparison excludes it: ``x > N`` is (N, "以上")
    (it reads more than N where 以上 means N or more), ``x < N`` is (N, "以下")."""
    right, left = _number(b.right), _number(b.left)
    if right is not None:
        return right, "以上" if b.op == ">" else "以下"
    if left is not None:
        return left, "以下" if b.op == ">" else "以上"
    return None


def _message(claim: _Claim) -> tuple[str, str]:
    n = f"{claim.number:,}"
    if claim.word == "以上":
        wrong, right = f"more than {n}", f">= {n}"
    else:
        wrong, right = f"less than {n}", f"<= {n}"
    message = (
        f"the notes say '{claim.quote}', which includes {n} ({claim.word} includes the number), "
        f"but this reads {wrong}"
    )
    hint = (
        f"write {right}; if {wrong} is meant, say so in a note "
        f"(e.g. '{claim.word} read as {wrong}, excluding {n}')"
    )
    return message, hint


def _day_message(claim: _Claim) -> tuple[str, str]:
    day = int(claim.number)
    message = (
        f"the notes say '{claim.quote}', which includes the day itself (之前 and 前 mean on or "
        f"before it), but this deadline is due when day {day} begins"
    )
    hint = (
        f"write the source's words ('每月{day}日之前') or 'by the {day}th of each month'; if "
        "the start of the day is meant, say so in a note (e.g. '之前 read as excluding the day')"
    )
    return message, hint


def check_readings(doc: Document) -> list[Diagnostic]:
    """PF518 warnings for the thresholds of ``doc`` that read its notes the other way."""
    claims = _claims(doc.data)
    if not claims:
        return []
    bounds = {(c.number, c.word): c for c in claims if c.word != "之前"}
    days = {int(c.number): c for c in claims if c.word == "之前"}
    out: list[Diagnostic] = []
    for path, value in walk(doc.data):
        if not isinstance(value, str) or not path:
            continue
        key = path[-1]
        if key in _CONDITION_KEYS and bounds:
            out += _in_condition(doc, path, value, bounds)
        elif "rules" in path and bounds:
            found = _in_cell(value)
            if found is not None and found in bounds:
                out.append(_warn(doc, path, *_message(bounds[found])))
        elif key == "due" and days:
            claim = _exclusive_day(value, days)
            if claim is not None:
                out.append(_warn(doc, path, *_day_message(claim)))
    return out


def _warn(doc: Document, path: Path_, message: str, hint: str) -> Diagnostic:
    return doc.diag(path, CODE, message, hint, warning=True)


def _in_condition(
    doc: Document, path: Path_, text: str, bounds: dict[tuple[Decimal, str], _Claim]
) -> Iterator[Diagnostic]:
    try:
        tree = parse(text)
    except ExprFailure:
        return  # reported by the expression checks
    for b in _comparisons(tree):
        found = _strict(b)
        if found is not None and found in bounds:
            line, column = doc.positions.in_scalar(path, b.start, text)
            message, hint = _message(bounds[found])
            yield Diagnostic(
                doc.file, line, column, CODE, message, hint,
                severity=Severity.WARNING, pointer=pointer(path),
            )  # fmt: skip


def _in_cell(text: str) -> tuple[Decimal, str] | None:
    if m := _STRICT_CELL.fullmatch(text):
        n = _decimal(m[2])
        return None if n is None else (n, "以上" if m[1] in _ABOVE else "以下")
    if m := _OPEN_LOW.fullmatch(text):
        n = _decimal(m[1])
        return None if n is None else (n, "以上")
    if m := _OPEN_HIGH.fullmatch(text):
        n = _decimal(m[1])
        return None if n is None else (n, "以下")
    return None


def _exclusive_day(text: str, days: dict[int, _Claim]) -> _Claim | None:
    try:
        spec = parse_deadline(text)
    except DeadlineSyntaxError:
        return None  # reported by the deadline checks
    if isinstance(spec, MonthlyDay | YearlyDate) and spec.before:
        return days.get(spec.day)
    return None
