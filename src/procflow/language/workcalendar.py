"""Working days and holidays: which days count when a deadline says "working days".

Owns the `Calendar` protocol (one method, `is_working_day`), the arithmetic built
on it (`next_working_day`, `add_working_days`, `working_days_between`,
`postpone`), `WorkingCalendar` (public holidays from the ``holidays`` library plus
a company's own overrides) and `SimpleCalendar` (weekends and an explicit list,
no library; for tests and embedders).

What the ``holidays`` library knows about China (checked against holidays 0.109):

- ``country_holidays("CN", years=...)`` holds the statutory holidays, their
  "observed" days and the State Council's substituted days off (调休 休息日), from
  the official notices of 2001 onwards; 2026 is included (1-3 and 5-7 October
  are holidays, 4 October is a Sunday).
- It also knows the make-up working days (调休 上班日, a Saturday or Sunday that
  is a working day): ``HolidayBase.weekend_workdays`` is the set of them, and
  ``HolidayBase.is_working_day`` uses it. For 2026: 4 January, 14 and 28
  February, 9 May, 20 September and 10 October. Days moved across a year
  boundary (a December weekend worked for a January holiday) are registered on
  every instance, whatever years it was built for.
- It does not know a year's 调休 before the State Council publishes it (usually
  in November of the year before): later years hold only the statutory days and
  the library's weekend-to-weekday "observed" rule, with no make-up working days.
  Companies add what they need with ``extra_holidays`` / ``extra_working_days``.
- ``holidays.financial`` is about exchange trading days, not office days, and is
  not used.

Calendars keep no global state: each `WorkingCalendar` loads the library's data
for a year the first time a date in it is asked about.

Imports nothing from procflow; `deadlines` and the runtime import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from procflow.language.diagnostics import did_you_mean

__all__ = [
    "Calendar",
    "SimpleCalendar",
    "WorkingCalendar",
    "add_working_days",
    "next_working_day",
    "postpone",
    "working_days_between",
]

# A calendar with no working day in ten years is broken; stop looking instead of
# looping for ever.
_MAX_SCAN_DAYS = 3660
_DAY = timedelta(days=1)
_DEFAULT_WEEKEND = frozenset({5, 6})


class Calendar(Protocol):
    """Anything that can say whether a day is a working day.

    The runtime and `procflow.language.deadlines` need only this method; the functions in
    this module derive everything else from it.
    """

    def is_working_day(self, d: date, /) -> bool:
        """True when people work on ``d``."""
        ...


def _day(d: date) -> date:
    # A datetime is a date, but datetime(2026, 10, 1) != date(2026, 10, 1), so
    # set lookups need the plain date.
    return d.date() if isinstance(d, datetime) else d


def next_working_day(calendar: Calendar, d: date, *, include_self: bool = True) -> date:
    """The first working day on or after ``d`` (strictly after when ``include_self`` is false).

    Raises:
        ValueError: the calendar has no working day in the next ten years.
    """
    day = _day(d)
    if not include_self:
        day += _DAY
    for _ in range(_MAX_SCAN_DAYS):
        if calendar.is_working_day(day):
            return day
        day += _DAY
    raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days after {_day(d)}")


def _previous_working_day(calendar: Calendar, d: date) -> date:
    day = d - _DAY
    for _ in range(_MAX_SCAN_DAYS):
        if calendar.is_working_day(day):
            return day
        day -= _DAY
    raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days before {d}")


def _at_day(moment: datetime, day: date) -> datetime:
    # Same time of day and time zone on another day.
    return moment.replace(year=day.year, month=day.month, day=day.day)


def postpone(calendar: Calendar, dt: datetime) -> datetime:
    """``dt`` itself on a working day, else the same time on the next working day."""
    day = dt.date()
    if calendar.is_working_day(day):
        return dt
    return _at_day(dt, next_working_day(calendar, day))


def add_working_days(calendar: Calendar, start: datetime, n: int) -> datetime:
    """The same time of day, ``n`` working days after ``start``.

    A start on a non-working day counts from the next working day: opened on a
    Saturday at 10:00, "1 working day" is due on Tuesday at 10:00, so the task
    always gets ``n`` whole working days. ``n == 0`` is `postpone`.

    A negative ``n`` steps back over working days from ``start``'s date: from a
    Monday or a Saturday, -1 is the Friday before. That is what "1 working day
    before" a due moment means for reminders.
    """
    if n < 0:
        day = start.date()
        for _ in range(-n):
            day = _previous_working_day(calendar, day)
        return _at_day(start, day)
    day = next_working_day(calendar, start.date())
    for _ in range(n):
        day = next_working_day(calendar, day, include_self=False)
    return _at_day(start, day)


def working_days_between(calendar: Calendar, a: date, b: date) -> int:
    """How many working days lie in ``[a, b)``; negative when ``b`` is before ``a``.

    Half-open, so that for a working day ``d``,
    ``working_days_between(d, add_working_days(d, n).date()) == n``. (The
    ``holidays`` library's ``get_working_days_count`` counts both ends.)
    """
    first, last = _day(a), _day(b)
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = 0
    day = first
    while day < last:
        count += calendar.is_working_day(day)
        day += _DAY
    return sign * count


class _WorkdayMethods:
    """The module functions as methods, for calendars that define `is_working_day`."""

    def is_working_day(self, d: date, /) -> bool:
        raise NotImplementedError

    def next_working_day(self, d: date, *, include_self: bool = True) -> date:
        """See `procflow.language.workcalendar.next_working_day`."""
        return next_working_day(self, d, include_self=include_self)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """See `procflow.language.workcalendar.add_working_days`."""
        return add_working_days(self, start, n)

    def working_days_between(self, a: date, b: date) -> int:
        """See `procflow.language.workcalendar.working_days_between`."""
        return working_days_between(self, a, b)

    def postpone(self, dt: datetime) -> datetime:
        """See `procflow.language.workcalendar.postpone`."""
        return postpone(self, dt)


def _weekend(days: Iterable[int]) -> frozenset[int]:
    weekend = frozenset(days)
    if not weekend <= frozenset(range(7)):
        raise ValueError(f"weekend days are 0 (Monday) to 6 (Sunday), got {sorted(weekend)}")
    if len(weekend) == 7:
        raise ValueError("a weekend of all seven days leaves no working day")
    return weekend


def _overrides(
    holidays: Iterable[date], working_days: Iterable[date]
) -> tuple[frozenset[date], frozenset[date]]:
    off = frozenset(_day(d) for d in holidays)
    on = frozenset(_day(d) for d in working_days)
    if both := sorted(off & on):
        listed = ", ".join(str(d) for d in both)
        raise ValueError(f"days listed both as holidays and as working days: {listed}")
    return off, on


class SimpleCalendar(_WorkdayMethods):
    """Weekends plus an explicit list of holidays and working days; no library data.

    Args:
        weekend: weekdays off, 0 = Monday ... 6 = Sunday.
        holidays: days off that would otherwise be working days.
        working_days: weekend days that are working days (make-up days).
    """

    def __init__(
        self,
        *,
        weekend: Iterable[int] = _DEFAULT_WEEKEND,
        holidays: Iterable[date] = (),
        working_days: Iterable[date] = (),
    ) -> None:
        self.weekend = _weekend(weekend)
        self.holidays, self.working_days = _overrides(holidays, working_days)

    def is_working_day(self, d: date, /) -> bool:
        """True unless ``d`` is a listed holiday or a weekend day not listed as working."""
        day = _day(d)
        if day in self.working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    def __repr__(self) -> str:
        return (
            f"SimpleCalendar(weekend={sorted(self.weekend)}, "
            f"holidays={len(self.holidays)}, working_days={len(self.working_days)})"
        )


class WorkingCalendar(_WorkdayMethods):
    """Public holidays and make-up working days from the ``holidays`` library, plus overrides.

    A day is a working day when, in this order:

    1. it is in ``extra_working_days``: yes (the company's word wins);
    2. it is in ``extra_holidays`` or is a public holiday of the library: no;
    3. it is a ``weekend`` day: only if the library lists it as a make-up
       working day (China's 调休 上班日);
    4. otherwise: yes.

    Args:
        country: ISO 3166 code understood by ``holidays.country_holidays``.
        subdivision: province or state code, when holidays differ by region.
        weekend: weekdays off, 0 = Monday ... 6 = Sunday.
        extra_holidays: company days off (annual shutdown, founding day).
        extra_working_days: company working days, winning over the library.

    Raises:
        ValueError: unknown country or subdivision, a bad weekend, or a day
            listed both as an extra holiday and an extra working day.
    """

    def __init__(
        self,
        *,
        country: str = "CN",
        subdivision: str | None = None,
        weekend: Iterable[int] = _DEFAULT_WEEKEND,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        import holidays  # noqa: PLC0415 (imported when a calendar is made: slow to import)

        try:
            holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError as exc:
            supported = holidays.list_supported_countries()
            if country in supported:
                hint = did_you_mean(str(subdivision), supported[country])
            else:
                hint = did_you_mean(country, supported)
            raise ValueError(f"{exc}{f' ({hint})' if hint else ''}") from None
        self.country = country
        self.subdivision = subdivision
        self.weekend = _weekend(weekend)
        self.extra_holidays, self.extra_working_days = _overrides(
            extra_holidays, extra_working_days
        )
        self._public: dict[int, frozenset[date]] = {}
        self._makeup: set[date] = set()

    def _load(self, year: int) -> frozenset[date]:
        public = self._public.get(year)
        if public is None:
            import holidays  # noqa: PLC0415

            data = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
            public = frozenset(data)
            self._makeup.update(data.weekend_workdays)
            self._public[year] = public
        return public

    def is_public_holiday(self, d: date) -> bool:
        """True when the library lists ``d`` as a public holiday (overrides ignored)."""
        day = _day(d)
        return day in self._load(day.year)

    def is_makeup_working_day(self, d: date) -> bool:
        """True when the library lists ``d`` as a weekend day worked (调休, overrides ignored)."""
        day = _day(d)
        self._load(day.year)
        if day.month == 12:
            # Make-up days for a January holiday are listed under the next year.
            self._load(day.year + 1)
        return day in self._makeup

    def is_working_day(self, d: date, /) -> bool:
        """Whether people work on ``d``; see the class docstring for the rules."""
        day = _day(d)
        if day in self.extra_working_days:
            return True
        if day in self.extra_holidays or self.is_public_holiday(day):
            return False
        if day.weekday() in self.weekend:
            return self.is_makeup_working_day(day)
        return True

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(country={self.country!r}, subdivision={self.subdivision!r}, "
            f"weekend={sorted(self.weekend)}, extra_holidays={len(self.extra_holidays)}, "
            f"extra_working_days={len(self.extra_working_days)})"
        )
