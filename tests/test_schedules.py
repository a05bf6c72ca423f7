"""Schedules: reading ``schedule:`` and the period arithmetic behind scheduled starts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from procflow.language.dump import dump
from procflow.language.model import Schedule
from procflow.language.schedules import (
    Recurrence,
    ScheduleError,
    describe_zh,
    latest,
    previous_key,
    read_schedule,
)
from procflow.language.workcalendar import SimpleCalendar
from tests.test_runtime_helpers import process

CAL = SimpleCalendar(holidays=[date(2026, 5, 1), date(2026, 10, 1), date(2026, 10, 2)])


def read(**kw: object) -> Recurrence:
    return read_schedule(Schedule.model_validate({"by": "hr", **kw}))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"every": "month"}, Recurrence("month", day=1)),
        ({"every": "month", "day": 20}, Recurrence("month", day=20)),
        ({"every": "Monthly", "day": 31}, Recurrence("month", day=31)),
        ({"every": "year"}, Recurrence("year", 1, 1)),
        ({"every": "year", "month": 12, "day": 1}, Recurrence("year", 12, 1)),
        ({"every": "working  day"}, Recurrence("working_day")),
        ({"every": "day"}, Recurrence("day")),
        ({"every": "每月20日"}, Recurrence("month", day=20)),
        ({"every": "每月二十日"}, Recurrence("month", day=20)),
        ({"every": "the 20th of each month"}, Recurrence("month", day=20)),
        ({"every": "1 December"}, Recurrence("year", 12, 1)),
        ({"every": "每年12月1日", "holidays": "postpone"}, Recurrence("year", 12, 1, True)),
        ({"every": "每個工作日"}, Recurrence("working_day")),
        (
            {"every": "每月", "day": 5, "holidays": "postpone"},
            Recurrence("month", day=5, postpone=True),
        ),
    ],
)
def test_read(given: dict[str, object], expected: Recurrence) -> None:
    assert read(**given) == expected


@pytest.mark.parametrize(
    ("given", "key", "words"),
    [
        ({"every": "mnth"}, "every", "did you mean 'month'?"),
        ({"every": "3 working days"}, "every", "not a day of the month"),
        ({"every": "每月20日", "day": 3}, "day", "remove 'day:'"),
        ({"every": "month", "month": 3}, "month", "every: year"),
        ({"every": "working day", "day": 3}, "day", "remove 'day:'"),
        ({"every": "day", "holidays": "postpone"}, "holidays", "every: working day"),
        ({"every": "year", "month": 2, "day": 30}, "day", "February has no day 30"),
    ],
)
def test_read_refuses(given: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        read(**given)
    assert caught.value.key == key
    assert words in str(caught.value)


def test_monthly_periods_and_the_latest_one() -> None:
    rec = Recurrence("month", day=20)
    assert latest(rec, datetime(2026, 5, 19, 23, 59), CAL) == (
        "2026-04",
        datetime(2026, 4, 20),
        2026 * 12 + 3,
    )
    occ = latest(rec, datetime(2026, 5, 20), CAL)
    assert occ is not None and (occ.key, occ.moment) == ("2026-05", datetime(2026, 5, 20))
    assert previous_key(rec, occ, CAL) == "2026-04"
    jan = latest(rec, datetime(2026, 1, 5), CAL)
    assert jan is not None and jan.key == "2025-12"  # across the year boundary
    short = latest(Recurrence("month", day=31), datetime(2026, 2, 28, 1), CAL)
    assert short is not None and (short.key, short.moment) == ("2026-02", datetime(2026, 2, 28))


def test_postponed_starts_keep_their_period() -> None:
    rec = Recurrence("month", day=1, postpone=True)  # 1 May 2026 is a holiday, then a weekend
    occ = latest(rec, datetime(2026, 5, 2, 12), CAL)
    assert occ is not None and occ.key == "2026-04"  # May's start has not come yet
    occ = latest(rec, datetime(2026, 5, 4), CAL)
    assert occ is not None and (occ.key, occ.moment) == ("2026-05", datetime(2026, 5, 4))
    assert previous_key(rec, occ, CAL) == "2026-04"


def test_yearly_and_daily_periods() -> None:
    year = latest(Recurrence("year", 12, 1), datetime(2026, 6, 1), CAL)
    assert year is not None and (year.key, year.moment) == ("2025", datetime(2025, 12, 1))
    day = latest(Recurrence("day"), datetime(2026, 10, 3, 8), CAL)
    assert day is not None and day.key == "2026-10-03"
    work = latest(Recurrence("working_day"), datetime(2026, 10, 3, 8), CAL)  # a Saturday
    assert work is not None and work.key == "2026-09-30"  # 1-2 October are holidays
    assert previous_key(Recurrence("working_day"), work, CAL) == "2026-09-29"
    after = latest(Recurrence("working_day"), datetime(2026, 10, 5, 0), CAL)
    assert after is not None and previous_key(Recurrence("working_day"), after, CAL) == "2026-09-30"


def test_moments_are_in_the_zone_asked_about() -> None:
    cst = timezone(timedelta(hours=8))
    occ = latest(Recurrence("month", day=20), datetime(2026, 5, 20, 0, 30, tzinfo=cst), CAL)
    assert occ is not None and occ.moment == datetime(2026, 5, 20, tzinfo=cst)
    assert occ.moment.astimezone(UTC) == datetime(2026, 5, 19, 16, tzinfo=UTC)


def test_labels() -> None:
    assert describe_zh(Recurrence("month", day=20)) == "每月20日"
    assert describe_zh(Recurrence("year", 12, 1)) == "每年12月1日"
    assert describe_zh(Recurrence("working_day")) == "每個工作日"


def test_a_scheduled_process_dumps_and_loads_back() -> None:
    text = """
    procflow: 1
    id: SCHED
    title: 每月計劃
    {org}
    schedule: {every: 每月20日, by: ka_head, holidays: postpone}
    steps:
      - id: draft
        actor: ka_head
      - handoff: SCHED
        carry: {x: {from: y, optional: true}}
    documents:
      y: {title: Y, fields: {a: text}}
      x: {title: X, fields: {a: text}}
    """
    first = process(text)
    again = process(dump(first))
    assert again.schedule == first.schedule
    assert again.model_dump() == first.model_dump()
