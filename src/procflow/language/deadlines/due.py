"""Due-time arithmetic: when a task is due, and when its reminders and escalations fire.

Imports `deadlines.spec` and `workcalendar`.
"""

from __future__ import annotations

import calendar as _cal
from datetime import UTC, date, datetime, time, timedelta

from procflow.language.deadlines.spec import (
    Deadline,
    MonthlyDay,
    Offset,
    Relative,
    Unit,
    Window,
    YearlyDate,
)
from procflow.language.workcalendar import Calendar, add_working_days, next_working_day, postpone


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, _cal.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _shift(moment: datetime, amount: int, unit: Unit, calendar: Calendar) -> datetime:
    if unit == "working_days":
        return add_working_days(calendar, moment, amount)
    if unit == "months":
        return _add_months(moment, amount)
    delta = timedelta(**{unit: amount})
    if unit in ("minutes", "hours") and moment.tzinfo is not None:
        # Elapsed time, not wall-clock time, across a daylight-saving change.
        return (moment.astimezone(UTC) + delta).astimezone(moment.tzinfo)
    return moment + delta


def _midnight(like: datetime, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=like.tzinfo)


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


def _calendar_due(
    spec: MonthlyDay | YearlyDate | Window,
    start: datetime,
    calendar: Calendar,
    postpone_past_holidays: bool,
) -> tuple[int, datetime]:
    """The chosen month (year * 12 + month - 1) or year, and the due moment."""
    first = start.year * 12 + start.month - 1 if isinstance(spec, MonthlyDay) else start.year
    # Start one period early: last period's deadline, postponed, may still be ahead.
    for index in range(first - 1, first + 3):
        if isinstance(spec, MonthlyDay):
            day, at_start = _clamped(index // 12, index % 12 + 1, spec.day), spec.before
        elif isinstance(spec, YearlyDate):
            day, at_start = _clamped(index, spec.month, spec.day), spec.before
        else:
            day, at_start = _clamped(index, spec.month, spec.last_day), False
        if postpone_past_holidays:
            day = next_working_day(calendar, day)
        due = _midnight(start, day if at_start else day + timedelta(days=1))
        if due >= start:
            return index, due
    raise AssertionError("unreachable: a later occurrence always exists")  # pragma: no cover


def due_at(
    spec: Deadline, *, start: datetime, calendar: Calendar, postpone_past_holidays: bool = False
) -> datetime:
    """The due moment of a task opened at ``start``.

    Relative deadlines add to ``start`` (working days through ``calendar``,
    months clamped to the month's end). Calendar deadlines give the next
    occurrence at or after ``start``: "before the 25th" is due at 00:00 on the
    25th; "by the 26th" and windows at the end of the day (00:00 on the next).

    With ``postpone_past_holidays`` a due moment on a non-working day moves to
    the next working day. A relative one keeps its time of day. A calendar one
    keeps its meaning: an end-of-day deadline is due at the end of that working
    day, a before-the-day one at its start (so "before the 3rd", with the 3rd a
    holiday, is due when the first working day after it begins). The occurrence
    is chosen after postponing: a task opened during a holiday still gets this
    month's postponed deadline rather than next month's.
    """
    if isinstance(spec, Relative):
        due = _shift(start, spec.amount, spec.unit, calendar)
        return postpone(calendar, due) if postpone_past_holidays else due
    return _calendar_due(spec, start, calendar, postpone_past_holidays)[1]


def window_opens(
    spec: Window, *, start: datetime, calendar: Calendar, postpone_past_holidays: bool = False
) -> datetime:
    """The start of first_day of the window that `due_at` picks for a task opened at ``start``."""
    year, _ = _calendar_due(spec, start, calendar, postpone_past_holidays)
    return _midnight(start, _clamped(year, spec.month, spec.first_day))


def apply_offset(due: datetime, offset: Offset, calendar: Calendar) -> datetime:
    """The moment an action with ``offset`` fires, for a task due at ``due``."""
    sign = -1 if offset.direction == "before" else 1
    if offset.amount == 0:
        return due
    return _shift(due, sign * offset.amount, offset.unit, calendar)
