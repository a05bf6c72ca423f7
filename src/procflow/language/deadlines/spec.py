"""Deadline values: `Relative`, `MonthlyDay`, `YearlyDate`, `Window`, `Offset`, and the error.

Imports `diagnostics` and `errors` only.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

from procflow.errors import ProcflowError
from procflow.language.diagnostics import Diagnostic

Unit = Literal["minutes", "hours", "days", "working_days", "weeks", "months"]
UNITS: tuple[Unit, ...] = get_args(Unit)
MAX_AMOUNT = 10_000
MAX_TEXT = 200
HINT = 'write it like "3 working days", "before the 25th of each month" or "1-15 January"'
OFFSET_HINT = 'write it like "2 days before", "1 working day after" or "at due"'
MONTHS = tuple(_cal.month_name)[1:]


class DeadlineSyntaxError(ProcflowError, ValueError):
    """A deadline or offset text that cannot be read.

    Attributes:
        message: what is wrong, in plain words.
        hint: how to write it instead.
        start: offset into the text where the problem starts (None: the whole text).
        end: offset just after the problem.
        text: the text as given.
    """

    code = "PF410"

    def __init__(
        self,
        message: str,
        *,
        hint: str = HINT,
        start: int | None = None,
        end: int | None = None,
        text: str = "",
    ) -> None:
        self.message, self.hint, self.start, self.end, self.text = message, hint, start, end, text
        super().__init__(f"{message} ({hint})" if hint else message)

    def to_diagnostic(self, *, file: str, line: int, column: int, pointer: str = "") -> Diagnostic:
        """A PF410 diagnostic; ``line``/``column`` locate the first character of the text."""
        start = self.start or 0
        end = max(self.end if self.end is not None else len(self.text), start + 1)
        return Diagnostic(
            file, line, column + start, self.code, self.message, self.hint,
            pointer=pointer, end_line=line, end_column=column + end,
        )  # fmt: skip


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(what)


@dataclass(frozen=True, slots=True)
class Relative:
    """A duration from the moment the task opens: "3 working days", "1小時內"."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        _check(self.unit in UNITS, f"unknown unit {self.unit!r}")
        _check(1 <= self.amount <= MAX_AMOUNT, f"amount must be 1 to {MAX_AMOUNT}")


@dataclass(frozen=True, slots=True)
class MonthlyDay:
    """Every month on ``day``: due at the start of it (``before``) or at its end.

    Day 29-31 in a shorter month means that month's last day.
    """

    day: int
    before: bool

    def __post_init__(self) -> None:
        _check(1 <= self.day <= 31, "day must be 1 to 31")


def _max_day(month: int) -> int:
    return 29 if month == 2 else _cal.monthrange(2001, month)[1]


@dataclass(frozen=True, slots=True)
class YearlyDate:
    """Every year on ``month``/``day``, at its start (``before``) or end.

    29 February means the 28th in other years.
    """

    month: int
    day: int
    before: bool

    def __post_init__(self) -> None:
        _check(1 <= self.month <= 12, "month must be 1 to 12")
        _check(1 <= self.day <= _max_day(self.month), "no such day in that month")


@dataclass(frozen=True, slots=True)
class Window:
    """Every year from the start of ``first_day`` to the end of ``last_day`` of ``month``."""

    month: int
    first_day: int
    last_day: int

    def __post_init__(self) -> None:
        _check(1 <= self.month <= 12, "month must be 1 to 12")
        _check(1 <= self.first_day <= self.last_day <= _max_day(self.month), "bad day range")


@dataclass(frozen=True, slots=True)
class Offset:
    """When an action (reminder, escalation) fires relative to the due moment."""

    amount: int = 0
    unit: Unit = "days"
    direction: Literal["before", "after"] = "after"

    def __post_init__(self) -> None:
        _check(self.unit in UNITS, f"unknown unit {self.unit!r}")
        _check(self.direction in ("before", "after"), "direction is 'before' or 'after'")
        _check(0 <= self.amount <= MAX_AMOUNT, f"amount must be 0 to {MAX_AMOUNT}")


AT_DUE = Offset()
Deadline: TypeAlias = Relative | MonthlyDay | YearlyDate | Window
