"""Scheduled starts: when a recurring process starts by itself.

Owns `Recurrence` (a process's ``schedule:`` read once), `read_schedule` (which
raises `ScheduleError`), the period arithmetic `Engine.tick` uses (`latest`,
`previous_key`). Its check (PF412, and PF302 for the ``by`` role) is
`procflow.flow.checks.check_schedule`.

A period is named by its key: a month ``2026-05``, a year ``2026``, a day
``2026-05-20``. Its moment is the start (00:00) of its day, in the zone of the
time asked about. With ``holidays: postpone`` a day that is not a working day
moves to the next working day (a moment keeps its period: May's start postponed
to 2 June is still ``2026-05``). ``every: working day`` has a period on working
days only.

Imports `deadlines`, `workcalendar`, `model`, `diagnostics`.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal, NamedTuple

from procflow.language import deadlines
from procflow.language.diagnostics import did_you_mean
from procflow.language.model import Schedule
from procflow.language.workcalendar import Calendar, next_working_day

__all__ = [
    "EVERY",
    "Occurrence",
    "Recurrence",
    "ScheduleError",
    "describe",
    "describe_zh",
    "latest",
    "previous_key",
    "read_schedule",
]

Every = Literal["day", "working_day", "month", "year"]
EVERY: dict[str, Every] = {
    "month": "month",
    "monthly": "month",
    "year": "year",
    "yearly": "year",
    "annually": "year",
    "working day": "working_day",
    "workday": "working_day",
    "business day": "working_day",
    "day": "day",
    "daily": "day",
    "每月": "month",
    "每年": "year",
    "每個工作日": "working_day",
    "每个工作日": "working_day",
    "工作日": "working_day",
    "每天": "day",
    "每日": "day",
}
"""The words ``every:`` takes (besides a day in words such as ``每月20日``)."""
_WORDS = ("month", "year", "working day", "day")
_HINT = "write month, year, working day or day, or a day such as 每月20日 or 1 December"
# How far back `latest` looks for a working day (a long holiday is at most a few weeks).
_LOOKBACK_DAYS = 60


class ScheduleError(ValueError):
    """A ``schedule:`` that cannot be read; ``key`` names the part that is wrong."""

    def __init__(self, message: str, hint: str = "", key: str = "every") -> None:
        self.message, self.hint, self.key = message, hint, key
        super().__init__(f"{message} ({hint})" if hint else message)


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A schedule, read: every day, working day, month (on ``day``) or year (``month``/``day``)."""

    every: Every
    month: int = 1
    day: int = 1
    postpone: bool = False


class Occurrence(NamedTuple):
    """One period of a schedule: its key, the moment it starts, and its number."""

    key: str
    moment: datetime
    number: int


def _max_day(month: int) -> int:
    return 29 if month == 2 else _cal.monthrange(2001, month)[1]


def _from_words(s: Schedule) -> Recurrence:
    try:
        spec = deadlines.parse_deadline(s.every)
    except deadlines.DeadlineSyntaxError:
        hint = did_you_mean(" ".join(s.every.lower().split()), _WORDS) or _HINT
        raise ScheduleError(f"cannot read '{s.every}' as a schedule", hint) from None
    if isinstance(spec, deadlines.MonthlyDay):
        found = Recurrence("month", day=spec.day, postpone=s.holidays == "postpone")
    elif isinstance(spec, deadlines.YearlyDate):
        found = Recurrence("year", spec.month, spec.day, s.holidays == "postpone")
    else:
        raise ScheduleError(
            f"'{s.every}' is not a day of the month or of the year",
            "a schedule starts on a day: write 每月20日, the 20th of each month or 1 December",
        )
    for key in ("day", "month"):
        if getattr(s, key) is not None:
            raise ScheduleError(
                f"'{s.every}' already names the day", f"remove '{key}:', or write every: month", key
            )
    return found


def read_schedule(s: Schedule) -> Recurrence:
    """The recurrence a ``schedule:`` describes.

    Raises:
        ScheduleError: an unknown ``every``, a ``day``/``month`` that does not
            apply or does not exist, or ``holidays: postpone`` on ``every: day``.
    """
    every = EVERY.get(" ".join(s.every.lower().split()))
    if every is None:
        return _from_words(s)
    postpone = s.holidays == "postpone"
    if every in ("day", "working_day"):
        for key in ("day", "month"):
            if getattr(s, key) is not None:
                raise ScheduleError(
                    f"'{key}:' does not apply to every: {s.every}", f"remove '{key}:'", key
                )
        if every == "day" and postpone:
            raise ScheduleError(
                "every day postponed past holidays would start several on one day",
                "write every: working day instead",
                "holidays",
            )
        return Recurrence(every)
    if every == "month":
        if s.month is not None:
            raise ScheduleError(
                "'month:' applies to every: year", "remove it, or write every: year", "month"
            )
        return Recurrence("month", day=s.day or 1, postpone=postpone)
    month, day = s.month or 1, s.day or 1
    if day > _max_day(month):
        name = deadlines.MONTHS[month - 1]
        raise ScheduleError(
            f"{name} has no day {day}", f"write a day from 1 to {_max_day(month)}", "day"
        )
    return Recurrence("year", month, day, postpone)


def _index(rec: Recurrence, d: date) -> int:
    if rec.every == "month":
        return d.year * 12 + d.month - 1
    if rec.every == "year":
        return d.year
    return d.toordinal()


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


def _day_of(rec: Recurrence, index: int) -> date:
    if rec.every == "month":
        return _clamped(index // 12, index % 12 + 1, rec.day)
    if rec.every == "year":
        return _clamped(index, rec.month, rec.day)
    return date.fromordinal(index)


def _key(rec: Recurrence, index: int) -> str:
    if rec.every == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if rec.every == "year":
        return f"{index:04d}"
    return date.fromordinal(index).isoformat()


def _moment(rec: Recurrence, index: int, like: datetime, calendar: Calendar) -> datetime | None:
    day = _day_of(rec, index)
    if rec.every == "working_day" and not calendar.is_working_day(day):
        return None
    if rec.postpone:
        day = next_working_day(calendar, day)
    return datetime.combine(day, time(0), tzinfo=like.tzinfo)


def _back(rec: Recurrence) -> int:
    return _LOOKBACK_DAYS if rec.every in ("day", "working_day") else 3


def latest(rec: Recurrence, now: datetime, calendar: Calendar) -> Occurrence | None:
    """The latest period whose moment is at or before ``now`` (None if none is near)."""
    first = _index(rec, now.date())
    for index in range(first, first - _back(rec), -1):
        moment = _moment(rec, index, now, calendar)
        if moment is not None and moment <= now:
            return Occurrence(_key(rec, index), moment, index)
    return None


def previous_key(rec: Recurrence, occ: Occurrence, calendar: Calendar) -> str | None:
    """The key of the period before ``occ`` (None if none is near)."""
    for index in range(occ.number - 1, occ.number - _back(rec), -1):
        if _moment(rec, index, occ.moment, calendar) is not None:
            return _key(rec, index)
    return None


def describe(rec: Recurrence) -> str:
    """A short English label: "on the 20th of each month", "on 1 December each year"."""
    day = rec.day
    nth = (
        f"{day}{'th' if 11 <= day % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"
    )
    return {
        "month": f"on the {nth} of each month",
        "year": f"on {day} {_cal.month_name[rec.month]} each year",
        "working_day": "every working day",
        "day": "every day",
    }[rec.every]


def describe_zh(rec: Recurrence) -> str:
    """A short Chinese label: "每月20日", "每年12月1日", "每個工作日", "每天"."""
    return {
        "month": f"每月{rec.day}日",
        "year": f"每年{rec.month}月{rec.day}日",
        "working_day": "每個工作日",
        "day": "每天",
    }[rec.every]
