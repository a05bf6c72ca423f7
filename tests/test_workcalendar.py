"""Working days: the holidays library's data for China, company overrides, arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procflow.language.workcalendar import (
    SimpleCalendar,
    WorkingCalendar,
    add_working_days,
    next_working_day,
)

CN = WorkingCalendar()

NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]
# The State Council's 2026 notice as the holidays library records it: 20 September
# (Sunday) and 10 October (Saturday) are worked to make the 1-7 October break.
MAKEUP_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


@pytest.mark.parametrize("day", NATIONAL_DAY_2026, ids=str)
def test_national_day_2026_is_off(day: date) -> None:
    assert not CN.is_working_day(day)


def test_national_day_2026_as_the_library_has_it() -> None:
    # 1-3 October are the statutory days, 4 October is a Sunday, 5-7 October are
    # the observed / substituted days off.
    assert [CN.is_public_holiday(d) for d in NATIONAL_DAY_2026] == [
        True, True, True, False, True, True, True,
    ]  # fmt: skip
    assert CN.is_working_day(date(2026, 10, 8))
    assert not CN.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


@pytest.mark.parametrize("day", MAKEUP_2026, ids=str)
def test_makeup_working_days_2026(day: date) -> None:
    assert day.weekday() >= 5
    assert CN.is_makeup_working_day(day)
    assert CN.is_working_day(day)


def test_makeup_day_listed_under_the_next_year() -> None:
    # 30-31 December 2006 were worked for the 2007 New Year break; the library
    # lists them with 2007's holidays.
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2006, 12, 30))
    assert calendar.is_working_day(date(2006, 12, 31))
    assert not calendar.is_working_day(date(2007, 1, 2))


def test_ordinary_weekend_and_weekday() -> None:
    assert not CN.is_working_day(date(2026, 3, 7))
    assert not CN.is_working_day(date(2026, 3, 8))
    assert CN.is_working_day(date(2026, 3, 9))


def test_datetime_is_accepted_as_a_day() -> None:
    assert not CN.is_working_day(datetime(2026, 10, 1, 12))
    assert CN.is_working_day(datetime(2026, 9, 20, 12))


def test_company_overrides() -> None:
    calendar = WorkingCalendar(
        extra_holidays=[date(2026, 3, 9), date(2026, 10, 10)],
        extra_working_days=[date(2026, 3, 7), date(2026, 10, 5)],
    )
    assert not calendar.is_working_day(date(2026, 3, 9))  # company day off
    assert calendar.is_working_day(date(2026, 3, 7))  # company make-up Saturday
    assert calendar.is_working_day(date(2026, 10, 5))  # beats a public holiday
    assert not calendar.is_working_day(date(2026, 10, 10))  # beats a library make-up day
    assert CN.is_working_day(date(2026, 3, 9))  # no state shared between calendars


def test_custom_weekend() -> None:
    sunday_only = WorkingCalendar(weekend={6})
    assert sunday_only.is_working_day(date(2026, 3, 7))
    assert not sunday_only.is_working_day(date(2026, 3, 8))
    assert not sunday_only.is_working_day(date(2026, 10, 3))  # still a holiday


def test_other_country() -> None:
    us = WorkingCalendar(country="US", subdivision="CA")
    assert not us.is_working_day(date(2026, 7, 3))  # Independence Day (observed)
    assert us.is_working_day(date(2026, 10, 1))


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"country": "CNN"}, "CNN"),
        ({"country": "CN", "subdivision": "ZZ"}, "ZZ"),
        ({"weekend": {7}}, "weekend"),
        ({"weekend": range(7)}, "seven"),
        ({"extra_holidays": [date(2026, 1, 5)], "extra_working_days": [date(2026, 1, 5)]}, "both"),
    ],
)
def test_bad_options(options: dict[str, object], text: str) -> None:
    with pytest.raises(ValueError, match=text):
        WorkingCalendar(**options)  # type: ignore[arg-type]


def test_add_working_days_across_national_day() -> None:
    start = datetime(2026, 9, 30, 10, 15)
    assert CN.add_working_days(start, 1) == datetime(2026, 10, 8, 10, 15)
    assert CN.add_working_days(start, 2) == datetime(2026, 10, 9, 10, 15)
    assert CN.add_working_days(start, 3) == datetime(2026, 10, 10, 10, 15)  # make-up Saturday
    assert CN.add_working_days(start, 4) == datetime(2026, 10, 12, 10, 15)


def test_add_working_days_from_a_holiday_counts_from_the_next_working_day() -> None:
    assert CN.add_working_days(datetime(2026, 10, 3, 10), 0) == datetime(2026, 10, 8, 10)
    assert CN.add_working_days(datetime(2026, 10, 3, 10), 1) == datetime(2026, 10, 9, 10)


def test_add_working_days_backwards() -> None:
    assert CN.add_working_days(datetime(2026, 10, 8, 10), -1) == datetime(2026, 9, 30, 10)
    assert CN.add_working_days(datetime(2026, 10, 4, 10), -1) == datetime(2026, 9, 30, 10)
    assert CN.add_working_days(datetime(2026, 9, 21, 9), -1) == datetime(2026, 9, 20, 9)


def test_add_working_days_keeps_the_time_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 9, 30, 17, 30, tzinfo=shanghai)
    assert CN.add_working_days(start, 1) == datetime(2026, 10, 8, 17, 30, tzinfo=shanghai)
    assert CN.add_working_days(start, 1).tzinfo is shanghai


def test_working_days_between() -> None:
    assert CN.working_days_between(date(2026, 9, 30), date(2026, 10, 11)) == 4
    assert CN.working_days_between(date(2026, 10, 11), date(2026, 9, 30)) == -4
    assert CN.working_days_between(date(2026, 10, 1), date(2026, 10, 1)) == 0


def test_postpone_and_next_working_day() -> None:
    assert CN.postpone(datetime(2026, 10, 2, 9)) == datetime(2026, 10, 8, 9)
    assert CN.postpone(datetime(2026, 9, 30, 9)) == datetime(2026, 9, 30, 9)
    assert CN.next_working_day(date(2026, 9, 30)) == date(2026, 9, 30)
    assert CN.next_working_day(date(2026, 9, 30), include_self=False) == date(2026, 10, 8)


def test_simple_calendar() -> None:
    calendar = SimpleCalendar(holidays=[date(2026, 3, 9)], working_days=[date(2026, 3, 7)])
    assert calendar.is_working_day(date(2026, 3, 7))
    assert not calendar.is_working_day(date(2026, 3, 8))
    assert not calendar.is_working_day(date(2026, 3, 9))
    assert calendar.is_working_day(date(2026, 10, 1))  # no library data
    assert calendar.add_working_days(datetime(2026, 3, 6, 12), 1) == datetime(2026, 3, 7, 12)
    assert "holidays=1" in repr(calendar)
    assert "country='CN'" in repr(CN)


def test_calendar_without_working_days_stops() -> None:
    class Never:
        def is_working_day(self, d: date, /) -> bool:
            return False

    with pytest.raises(ValueError, match="no working day"):
        next_working_day(Never(), date(2026, 1, 1))
    with pytest.raises(ValueError, match="no working day"):
        add_working_days(Never(), datetime(2026, 1, 1), -1)


starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31))


@settings(deadline=None)
@given(start=starts, n=st.integers(min_value=0, max_value=60))
def test_added_working_days_land_on_working_days(start: datetime, n: int) -> None:
    end = CN.add_working_days(start, n)
    assert CN.is_working_day(end)
    assert end.time() == start.time()
    assert end >= start
    first = CN.next_working_day(start.date())
    assert CN.working_days_between(first, end.date()) == n


@settings(deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=60))
def test_subtracted_working_days_land_on_working_days(start: datetime, n: int) -> None:
    end = CN.add_working_days(start, -n)
    assert CN.is_working_day(end)
    assert end < start
    assert CN.working_days_between(end.date(), start.date()) == n


@given(day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_postpone_lands_on_the_first_working_day(day: date) -> None:
    moment = datetime.combine(day, datetime.min.time())
    moved = CN.postpone(moment)
    assert CN.is_working_day(moved)
    assert all(
        not CN.is_working_day(day + timedelta(days=i)) for i in range((moved.date() - day).days)
    )
