"""Expression problems: `ExprIssue`, the limits, and offset → line/column.

Owns the located problem type every stage of the expression package reports
and the numeric limits that keep parsing and evaluation bounded. Imports only
`procflow.language.diagnostics` (for the code registry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from procflow.language.diagnostics import CODES, choices_hint, did_you_mean

MAX_LENGTH = 2_000
"""Longest expression text, in characters; checked before anything else."""
MAX_TOKENS = 500
"""Most tokens in one expression; the lexer stops at the first one over."""
MAX_DEPTH = 32
"""Deepest nesting of parentheses, brackets, calls, ternaries and unary operators."""
MAX_HEIGHT = 100
"""Deepest syntax tree, counting chains like ``a + b + c``; keeps the checker's recursion small."""
MAX_DIGITS = 30
"""Most digits in one number literal."""


@dataclass(frozen=True, slots=True)
class ExprIssue:
    """One problem in an expression, located by offsets into its text.

    Attributes:
        code: a PF4xx code from `procflow.language.diagnostics.CODES`.
        message: plain-words description.
        hint: how to fix it, or "".
        start: 0-based offset of the first offending character.
        end: offset just after the offending text (``end >= start``).
    """

    code: str
    message: str
    hint: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.code not in CODES:  # a typo here is our bug, not the analyst's
            raise ValueError(f"unknown diagnostic code {self.code!r}")


class ExprFailure(Exception):
    """Aborts lexing, parsing or checking with one issue; never escapes the package."""

    def __init__(self, issue: ExprIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def fail(code: str, message: str, start: int, end: int, hint: str = "") -> ExprFailure:
    """An `ExprFailure` ready to raise."""
    return ExprFailure(ExprIssue(code, message, hint, start, end))


def offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    """The 0-based (line, column) of ``offset`` in ``text``.

    Lines end at ``\\n`` (so ``\\r\\n`` counts once); columns count characters.
    The caller adds the position of the YAML scalar that held the expression.
    An offset past the end is clamped to the end.
    """
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return line, offset - line_start


def suggest(word: str, candidates: Iterable[str]) -> str:
    """A did-you-mean hint, or else the list of what is allowed."""
    names = list(candidates)
    return did_you_mean(word, names) or choices_hint(names)
