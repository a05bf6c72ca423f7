"""The syntax of decision-table cells: DMN-like unary tests, read into atoms.

A cell tests one input. The grammar (a small part of DMN's "simple unary
tests", with CEL's operators)::

    cell    := '-' | 'not(' tests ')' | tests
    tests   := test (',' test)*
    test    := op literal | range | literal
    op      := '<' | '<=' | '>' | '>=' | '=' | '==' | '!='
    range   := ('[' | '(') literal '..' literal (']' | ')')
    literal := number ['%'] | date | "text" | 'text' | true | false | word

and, as business Chinese writes an amount: ``90分以上`` and ``2,000元以上`` (``>=``: 以上
includes the number), ``69分以下`` and ``3天以內`` (``<=``), ``70-89分`` or ``70至89``
(both ends included), ``5萬元`` (50,000), ``超過2000`` (``>``), ``不足60`` (``<``),
``不超過2000`` (``<=``), ``不低於60`` (``>=``); ``≥``, ``≤``, ``≠`` and full-width
operators are the ASCII ones.

``[`` and ``]`` include the end, ``(`` and ``)`` leave it out. Reading is by
hand, character by character, so every problem has an offset into the cell
(`CellProblem`, PF501); what the atoms mean for an input's type is `cells`.

Imports `columns` (dates, number display) and the expression lexer's words for comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from procflow.decisions.columns import InputColumn, parse_date, show_number
from procflow.language.expr.lexer import COMPARISON_WORDS, SIGNS

_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WORD = re.compile(r"[^\s,()\[\]\"'<>=!.]+(?:\.[^\s,()\[\]\"'<>=!.]+)*")
_NOT = re.compile(r"\s*not\s*\(")
_OPERATORS = ("<=", ">=", "==", "!=", "<", ">", "=")
_AMOUNT = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[+-]?\d+(?:\.\d+)?"
_UNITS = r"%|分|元|人|天|日|個|个|次|件|份|家|台|項|项"
# An amount as business Chinese writes it: 90分以上, 2,000元以上, 5萬元以下, 70-89分. 以上 and
# 以下 include the number (2,000元以上 is >= 2000); a range of two amounts includes both ends.
_BEFORE = {op: "|".join(words) for op, words in COMPARISON_WORDS.items()}  # 超過 2000: > 2000
_CHINESE = re.compile(
    "(?:" + "|".join(f"(?P<pre{k}>{words})" for k, words in enumerate(_BEFORE.values())) + r")?\s*"
    rf"(?P<n>{_AMOUNT})\s*(?P<wan>[萬万])?\s*(?P<unit>{_UNITS})?"
    rf"(?:\s*(?P<dash>-|~|～|至|到)\s*(?P<m>{_AMOUNT})\s*(?P<wan2>[萬万])?\s*(?P<unit2>{_UNITS})?)?"
    r"\s*(?P<side>(?:及|或)?(?:以上|以下|以內|以内))?"
)
_MAX_CELL = 500


class CellProblem(Exception):
    """A cell that does not parse (PF501) or does not fit its input (PF504)."""

    def __init__(
        self, code: str, message: str, hint: str = "", start: int = 0, item: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.start = start
        self.item = item
        """For a cell written as a YAML list: the item the problem is in."""


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal in a cell, as read."""

    kind: Literal["number", "date", "text", "word", "bool"]
    value: Decimal | date | str | bool
    text: str
    start: int
    percent: bool = False


@dataclass(frozen=True, slots=True)
class Compare:
    """``op literal``; a bare literal is ``= literal``."""

    op: str
    lit: Lit
    start: int


@dataclass(frozen=True, slots=True)
class Between:
    """``[lo..hi]`` with open or closed ends."""

    lo: Lit
    hi: Lit
    lo_closed: bool
    hi_closed: bool
    start: int


Atom = Compare | Between


@dataclass(frozen=True, slots=True)
class Parsed:
    """A cell's tests, before its input's type is applied."""

    negated: bool
    atoms: tuple[Atom, ...]


class _Reader:
    def __init__(self, text: str, pos: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = pos
        self.end = len(text) if end is None else end

    def fail(self, message: str, hint: str = "", at: int | None = None) -> CellProblem:
        return CellProblem("PF501", message, hint, self.pos if at is None else at)

    def skip(self) -> None:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def tests(self) -> tuple[Atom, ...]:
        atoms: list[Atom] = []
        while True:
            self.skip()
            atoms.append(self.test())
            self.skip()
            if self.pos >= self.end:
                return tuple(atoms)
            if self.peek() != ",":
                raise self.fail(
                    f"unexpected '{self.peek()}'", 'separate several values with commas: "A", "B"'
                )
            self.pos += 1

    def test(self) -> Atom:
        start = self.pos
        c = self.peek()
        if c in ("[", "("):
            return self.between()
        if c in ("]", ")"):
            raise self.fail(f"unexpected '{c}'", "a range is written [low..high] or (low..high)")
        chinese = self.chinese()
        if chinese is not None:
            return chinese
        # ≥ ≤ ≠, and the full-width ＞＝ of a Chinese input method, are the ASCII operators
        ahead = self.text[self.pos : min(self.pos + 2, self.end)]
        ahead = SIGNS.get(ahead[:1]) or "".join(
            chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in ahead
        )
        op = next((o for o in _OPERATORS if ahead.startswith(o)), None)
        width = 1 if c in SIGNS else len(op or "")
        if op is None and c == "!":
            raise self.fail("'!' alone is not a test", "write != for 'not equal', or not(...)")
        if op is not None:
            self.pos += width
            self.skip()
            nxt = self.peek()
            if not nxt or nxt == ",":
                raise self.fail(f"nothing follows '{op}'", f"write a value after it, e.g. {op} 60")
            if nxt in "<>=!":
                raise self.fail(
                    f"'{op}' is followed by another operator '{nxt}'",
                    f"write one comparison, e.g. {op} 5",
                )
        return Compare(op or "=", self.literal(), start)

    def chinese(self) -> Atom | None:
        """An amount written as business Chinese writes it (`_CHINESE`), or None when the
        cell has none here: a plain number or operator goes the usual way."""
        m = _CHINESE.match(self.text, self.pos, self.end)
        before = (
            None if m is None else next((op for k, op in enumerate(_BEFORE) if m[f"pre{k}"]), None)
        )
        if m is None or not (
            before or "," in m["n"] or m["wan"] or m["dash"] or m["side"]
            or m["unit"] not in (None, "%")
        ):  # fmt: skip
            return None
        after = m.end()
        while after < self.end and self.text[after].isspace():
            after += 1
        if after < self.end and self.text[after] != ",":
            return None  # more follows (90分abc): the usual reading says what is wrong
        start = self.pos
        self.pos = m.end()
        lo = self._amount(m, "n", "wan", "unit", m["unit2"])
        if before and (m["dash"] or m["side"]):
            word = m.group(0)[: m.start("n") - start].strip()
            other = f"{m['n']}-{m['m']}" if m["dash"] else f"{m['n']}{m['side']}"
            raise self.fail(
                f"'{word}' with {'a range' if m['dash'] else m['side']}",
                f"write {word}{m['n']} or {other}, not both",
                m.start("dash") if m["dash"] else m.start("side"),
            )
        if m["dash"]:
            if m["side"]:
                raise self.fail(
                    f"a range with {m['side']}", "write 70-89 or 70以上, not both", m.start("side")
                )
            hi = self._amount(m, "m", "wan2", "unit2", m["unit"])
            return Between(lo, hi, True, True, start)
        op = {"以上": ">=", "以下": "<=", "以內": "<=", "以内": "<="}.get((m["side"] or "")[-2:])
        return Compare(before or op or "=", lo, start)

    def _amount(
        self, m: re.Match[str], number: str, wan: str, unit: str, shared: str | None = None
    ) -> Lit:
        """The amount of ``m``'s groups ``number``, ``wan`` (萬: × 10,000) and ``unit`` (the
        range's ``shared`` unit when it has none: 70-89%), as written."""
        value = Decimal(m[number].replace(",", "")) * (10_000 if m[wan] else 1)
        start, end = m.start(number), max(m.end(g) for g in (number, wan, unit) if m[g])
        return Lit("number", value, self.text[start:end], start, (m[unit] or shared) == "%")

    def between(self) -> Between:
        start = self.pos
        lo_closed = self.peek() == "["
        self.pos += 1
        self.skip()
        if self.text.startswith("..", self.pos):
            raise self.fail(
                "the range has no lower end", "write both ends, e.g. [0..60), or use < 60"
            )
        lo = self.literal()
        self.skip()
        if not self.text.startswith("..", self.pos):
            raise self.fail("expected '..' in the range", "a range is written [low..high]")
        self.pos += 2
        self.skip()
        if self.peek() in ("", "]", ")", ","):
            shown = self.text[start : min(self.pos + 1, self.end)].strip()
            raise self.fail(
                f"the range '{shown}' has no upper end",
                "write both ends, e.g. [90..100], or use >= 90",
                start,
            )
        hi = self.literal()
        self.skip()
        end = self.peek()
        if end not in ("]", ")"):
            raise self.fail(
                "the range is not closed", "end it with ] (end included) or ) (end left out)"
            )
        self.pos += 1
        return Between(lo, hi, lo_closed, end == "]", start)

    def literal(self) -> Lit:
        start, c = self.pos, self.peek()
        if c in ('"', "'"):
            return self.quoted(c)
        m = _DATE.match(self.text, self.pos, self.end)
        if m and parse_date(m.group()) is not None and not self._wordy(m.end()):
            self.pos = m.end()
            return Lit("date", parse_date(m.group()) or date.min, m.group(), start)
        m = _NUMBER.match(self.text, self.pos, self.end)
        if m:
            end = m.end()
            percent = end < self.end and self.text[end] == "%"
            if not self._wordy(end + percent):
                self.pos = end + percent
                return Lit(
                    "number", Decimal(m.group()), self.text[start : self.pos], start, percent
                )
        m = _WORD.match(self.text, self.pos, self.end)
        if m is None:
            found = f"'{c}'" if c else "the end of the cell"
            raise self.fail(f"expected a value, found {found}", "write a number, a date or a value")
        self.pos = m.end()
        word = m.group()
        if word in ("true", "false"):
            return Lit("bool", word == "true", word, start)
        return Lit("word", word, word, start)

    def _wordy(self, end: int) -> bool:
        """Whether a number or date that ends at ``end`` runs on into a word (``3A``)."""
        return end < self.end and _WORD.match(self.text[end]) is not None

    def quoted(self, quote: str) -> Lit:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < self.end:
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < self.end:
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if c == quote:
                self.pos += 1
                return Lit("text", "".join(out), self.text[start : self.pos], start)
            out.append(c)
            self.pos += 1
        raise self.fail("the quoted text is not closed", f"end it with {quote}", start)


def parse_cell(text: str) -> Parsed | None:
    """The tests of a cell; None for ``-`` (any value).

    Raises:
        CellProblem: PF501 with the offset of the problem in ``text``.
    """
    if len(text) > _MAX_CELL:
        raise CellProblem("PF501", f"the cell is longer than {_MAX_CELL} characters")
    stripped = text.strip()
    if stripped == "-":
        return None
    if not stripped:
        raise CellProblem("PF501", "the cell is empty", "write - for any value")
    m = _NOT.match(text)
    if m and stripped.endswith(")"):
        end = text.rstrip().rfind(")")
        reader = _Reader(text, m.end(), end)
        reader.skip()
        if reader.pos >= end:
            raise reader.fail("not() needs the values it excludes", 'write not("C")')
        return Parsed(True, reader.tests())
    return Parsed(False, _Reader(text).tests())


def literal_test(column: InputColumn, value: Any, start: int = 0) -> Parsed:
    """The parsed form of a cell that YAML already read as a number or true/false."""
    if isinstance(value, bool):
        lit = Lit("bool", value, "true" if value else "false", start)
    else:
        try:
            number = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise CellProblem("PF501", f"{value!r} is not a cell value") from None
        lit = Lit("number", number, show_number(number), start)
    return Parsed(False, (Compare("=", lit, start),))


_BARE_RANGE = re.compile(r"\s*[^\s\[\](),]+\s*\.\.\s*[^\s\[\](),]+\s*")


def parse_list_cell(column: InputColumn, items: list[Any]) -> tuple[Parsed, str]:
    """A cell written as a YAML list: ``[A, B]`` (a set), or ``[90..100]`` unquoted (a range).

    YAML reads an unquoted ``[90..100]`` as a list holding the text
    ``90..100``; for a number or date input that can only mean the closed
    range, so it is read as one.

    Raises:
        CellProblem: with ``item`` set to the list item at fault.
    """
    if not items:
        raise CellProblem("PF501", "the cell is an empty list", "write - for any value")
    atoms: list[Atom] = []
    shown: list[str] = []
    for k, item in enumerate(items):
        try:
            if isinstance(item, bool | int | Decimal):
                parsed = literal_test(column, item)
                shown.append(
                    parsed.atoms[0].lit.text if isinstance(parsed.atoms[0], Compare) else ""
                )
            elif isinstance(item, str):
                if column.ordered and _BARE_RANGE.fullmatch(item):
                    try:
                        inner = _Reader("[" + item.strip() + "]")
                        parsed = Parsed(False, (inner.between(),))
                    except CellProblem as problem:
                        problem.start = max(0, problem.start - 1)
                        raise
                    shown.append("[" + item.strip() + "]")
                else:
                    found = parse_cell(item)
                    if found is None or found.negated:
                        raise CellProblem(
                            "PF501",
                            "'-' and not(...) cannot be items of a list",
                            "write the cell as text instead",
                        )
                    parsed = found
                    shown.append(item.strip())
            else:
                raise CellProblem("PF501", "a list item must be a value such as A or 60")
        except CellProblem as problem:
            problem.item = k
            raise
        atoms.extend(parsed.atoms)
    return Parsed(False, tuple(atoms)), ", ".join(shown)
