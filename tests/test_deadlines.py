"""Deadline texts, their due times, and the inventory's deadlines on China's 2026 calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procflow.language.deadlines import (
    AT_DUE,
    MAX_AMOUNT,
    UNITS,
    Deadline,
    DeadlineSyntaxError,
    MonthlyDay,
    Offset,
    Relative,
    Window,
    YearlyDate,
    apply_offset,
    describe,
    describe_zh,
    due_at,
    parse_deadline,
    parse_offset,
    window_opens,
)
from procflow.language.workcalendar import SimpleCalendar, WorkingCalendar

CN = WorkingCalendar()


def due(text: str, start: datetime, *, postpone: bool = False) -> datetime:
    return due_at(parse_deadline(text), start=start, calendar=CN, postpone_past_holidays=postpone)


# ---------------------------------------------------------------- parsing

PARSED: list[tuple[str, Deadline]] = [
    ("1 hour", Relative(1, "hours")),
    ("an hour", Relative(1, "hours")),
    ("90 minutes", Relative(90, "minutes")),
    ("3 working days", Relative(3, "working_days")),
    ("within 3 business days", Relative(3, "working_days")),
    ("30 days", Relative(30, "days")),
    ("1 week", Relative(1, "weeks")),
    ("within one week", Relative(1, "weeks")),
    ("2 months", Relative(2, "months")),
    ("1小時", Relative(1, "hours")),
    ("1小時內", Relative(1, "hours")),
    ("1小时内", Relative(1, "hours")),
    ("3個工作日", Relative(3, "working_days")),
    ("三個工作日內", Relative(3, "working_days")),
    ("30天", Relative(30, "days")),
    ("三十天", Relative(30, "days")),
    ("3日內", Relative(3, "days")),
    ("一周內", Relative(1, "weeks")),
    ("1週", Relative(1, "weeks")),
    ("兩個月", Relative(2, "months")),
    ("９０分鐘", Relative(90, "minutes")),
    ("before the 25th of each month", MonthlyDay(25, before=True)),
    ("Before the 25th of every month.", MonthlyDay(25, before=True)),
    ("by the 26th of each month", MonthlyDay(26, before=False)),
    ("on the 26th of each month", MonthlyDay(26, before=False)),
    ("the 26th of every month", MonthlyDay(26, before=False)),
    ("each month by the 26th", MonthlyDay(26, before=False)),
    ("by the 7th", MonthlyDay(7, before=False)),
    ("每月25日之前", MonthlyDay(25, before=False)),
    ("每月25日前", MonthlyDay(25, before=False)),
    ("每月25日以前", MonthlyDay(25, before=False)),
    ("每月 5 日之前", MonthlyDay(5, before=False)),
    ("每月25日零時前", MonthlyDay(25, before=True)),
    ("每月25日0点前", MonthlyDay(25, before=True)),
    ("每月26日", MonthlyDay(26, before=False)),
    ("每月二十六號", MonthlyDay(26, before=False)),
    ("before 30 December", YearlyDate(12, 30, before=True)),
    ("by 30 December", YearlyDate(12, 30, before=False)),
    ("by December 30th", YearlyDate(12, 30, before=False)),
    ("30 Dec each year", YearlyDate(12, 30, before=False)),
    ("12月30日之前", YearlyDate(12, 30, before=False)),
    ("12月30日零時之前", YearlyDate(12, 30, before=True)),
    ("每年12月30日", YearlyDate(12, 30, before=False)),
    ("1-15 January", Window(1, 1, 15)),
    ("1–15 January", Window(1, 1, 15)),
    ("1st - 15th of January", Window(1, 1, 15)),
    ("January 1-15", Window(1, 1, 15)),
    ("from 1 to 15 Jan", Window(1, 1, 15)),
    ("1月1日-15日", Window(1, 1, 15)),
    ("1月1日至15日", Window(1, 1, 15)),
    ("１月１日～１月１５日", Window(1, 1, 15)),
]


@pytest.mark.parametrize(("text", "spec"), PARSED, ids=[t for t, _ in PARSED])
def test_parse_deadline(text: str, spec: Deadline) -> None:
    assert parse_deadline(text) == spec


REJECTED = [
    ("", "empty", None, None),
    ("   ", "empty", None, None),
    ("3 days" + " " * 200, "longer than 200", 200, 206),
    ("0 days", "between 1 and 10000, not 0", 0, 1),
    ("-3 days", "not -3", 0, 2),
    ("10001 hours", "not 10001", 0, 5),
    ("零天", "not 0", 0, 1),
    ("by the 0th of each month", "no day 0", 7, 8),
    ("by the 32nd of each month", "no day 32", 7, 9),
    ("每月32日", "no day 32", 2, 4),
    ("13月1日", "no month 13", 0, 2),
    ("30 February", "February has no day 30", 0, 2),
    ("1-31 April", "April has no day 31", 2, 4),
    ("15-1 January", "ends (day 1) before it starts (day 15)", 0, 4),
    ("1月1日至2月15日", "same month", 5, 6),
    ("before 30 Decmber", "unknown month 'Decmber'", 10, 17),
    ("3 dayz", "unknown unit 'dayz'", 2, 6),
    ("1 week of publication", "unexpected 'of publication'", 7, 21),
    ("26日", "names a day but not which month", None, None),
    ("soon", "cannot read", None, None),
]


@pytest.mark.parametrize(
    ("text", "message", "start", "end"), REJECTED, ids=[r[0][:20] for r in REJECTED]
)
def test_parse_deadline_rejects(
    text: str, message: str, start: int | None, end: int | None
) -> None:
    with pytest.raises(DeadlineSyntaxError) as info:
        parse_deadline(text)
    assert message in info.value.message
    assert (info.value.start, info.value.end) == (start, end)
    assert info.value.text == text
    assert info.value.hint


def test_error_hints() -> None:
    with pytest.raises(DeadlineSyntaxError) as info:
        parse_deadline("by 30 Decmber")
    assert info.value.hint == "did you mean 'December'?"
    with pytest.raises(DeadlineSyntaxError) as info:
        parse_deadline("3 wroking days")
    assert info.value.hint == "did you mean 'working days'?"
    with pytest.raises(DeadlineSyntaxError) as info:
        parse_deadline("soon")
    assert (
        info.value.hint
        == 'write it like "3 working days", "before the 25th of each month" or "1-15 January"'
    )


def test_error_is_a_value_error_and_a_diagnostic() -> None:
    with pytest.raises(ValueError, match="unknown month") as info:
        parse_deadline("by 30 Decmber")
    assert isinstance(info.value, DeadlineSyntaxError)
    diagnostic = info.value.to_diagnostic(file="hr.yaml", line=12, column=15, pointer="/deadline")
    assert str(diagnostic) == (
        "hr.yaml:12:21: error PF410: unknown month 'Decmber' (did you mean 'December'?)"
    )
    assert diagnostic.to_dict()["end_column"] == 28


OFFSETS = [
    ("2 days before", Offset(2, "days", "before")),
    ("1 day after", Offset(1, "days", "after")),
    ("at due", AT_DUE),
    ("due", AT_DUE),
    ("1 working day before", Offset(1, "working_days", "before")),
    ("3 hours before the deadline", Offset(3, "hours", "before")),
    ("到期前2天", Offset(2, "days", "before")),
    ("提前1個工作日", Offset(1, "working_days", "before")),
    ("到期後3天", Offset(3, "days", "after")),
    ("2日前", Offset(2, "days", "before")),
    ("到期時", AT_DUE),
]


@pytest.mark.parametrize(("text", "offset"), OFFSETS, ids=[t for t, _ in OFFSETS])
def test_parse_offset(text: str, offset: Offset) -> None:
    assert parse_offset(text) == offset


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 days before", "'at due'"),
        ("-1 day after", "not -1"),
        ("2 days", "cannot read"),
        ("", "empty"),
    ],
)
def test_parse_offset_rejects(text: str, message: str) -> None:
    with pytest.raises(DeadlineSyntaxError, match=message) as info:
        parse_offset(text)
    assert "at due" in info.value.hint


def test_values_check_themselves() -> None:
    for make in (
        lambda: Relative(0, "days"),
        lambda: Relative(1, "fortnights"),  # type: ignore[arg-type]
        lambda: MonthlyDay(32, before=True),
        lambda: YearlyDate(2, 30, before=True),
        lambda: Window(1, 16, 15),
        lambda: Offset(1, "days", "during"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError):
            make()


def test_describe() -> None:
    assert describe(Relative(1, "hours")) == "1 hour"
    assert describe(Relative(3, "working_days")) == "3 working days"
    assert describe(MonthlyDay(25, before=True)) == "before the 25th of each month"
    assert describe(MonthlyDay(22, before=False)) == "by the 22nd of each month"
    assert describe(MonthlyDay(11, before=False)) == "by the 11th of each month"
    assert describe(YearlyDate(12, 30, before=False)) == "by 30 December"
    assert describe(Window(1, 1, 15)) == "1–15 January"
    assert describe(Offset(1, "working_days", "before")) == "1 working day before"
    assert describe(AT_DUE) == "at due"
    assert describe_zh(MonthlyDay(26, before=True)) == "每月26日零時前"
    assert describe_zh(MonthlyDay(26, before=False)) == "每月26日"
    assert describe_zh(Relative(1, "hours")) == "1小時內"
    assert describe_zh(Relative(3, "working_days")) == "3個工作日內"
    assert describe_zh(YearlyDate(12, 30, before=True)) == "12月30日零時前"
    assert describe_zh(Window(1, 1, 15)) == "1月1日至15日"
    assert describe_zh(Offset(2, "days", "after")) == "到期後2天"
    assert describe_zh(AT_DUE) == "到期時"


# ---------------------------------------------------------------- the inventory's deadlines


def test_sc004_sales_plan_by_the_26th() -> None:
    assert due("by the 26th of each month", datetime(2026, 3, 10, 9)) == datetime(2026, 3, 27)
    assert due("by the 26th of each month", datetime(2026, 3, 26, 17)) == datetime(2026, 3, 27)
    assert due("by the 26th of each month", datetime(2026, 3, 27, 8)) == datetime(2026, 4, 27)


def test_cin01_plan_by_the_25th_then_3_working_days() -> None:
    # 每月25日之前 (line 250): the 25th itself is on time, so it is due when the 25th ends.
    assert due("每月25日之前", datetime(2026, 3, 24, 23)) == datetime(2026, 3, 26)
    assert due("每月25日之前", datetime(2026, 3, 25, 17)) == datetime(2026, 3, 26)
    assert due("每月25日之前", datetime(2026, 3, 26, 9)) == datetime(2026, 4, 26)
    # English "before" leaves the day out: due when the 25th begins.
    assert due("before the 25th of each month", datetime(2026, 3, 24, 23)) == datetime(2026, 3, 25)
    assert due("before the 25th of each month", datetime(2026, 3, 25, 9)) == datetime(2026, 4, 25)
    # Approved on Tuesday 29 September: 30 September, 8 and 9 October are the working days.
    assert due("3 working days", datetime(2026, 9, 29, 14)) == datetime(2026, 10, 9, 14)
    assert due("三個工作日內", datetime(2026, 9, 29, 14)) == datetime(2026, 10, 9, 14)


def test_cin02_summary_by_the_10th() -> None:
    assert due("每月10日前", datetime(2026, 10, 1)) == datetime(2026, 10, 11)
    # 10 October 2026 is a make-up working Saturday, so postponing changes nothing.
    assert due("每月10日前", datetime(2026, 10, 1), postpone=True) == datetime(2026, 10, 11)


def test_cin03_signage_by_the_3rd() -> None:
    assert due("每月3日前", datetime(2026, 9, 20, 10)) == datetime(2026, 10, 4)
    # Postponed: the 3rd is a holiday, so the deadline is the end of 8 October.
    assert due("每月3日前", datetime(2026, 9, 20, 10), postpone=True) == datetime(2026, 10, 9)
    # Only "before" in English, or 零時前, leaves the day out.
    assert due(
        "before the 3rd of each month", datetime(2026, 9, 20, 10), postpone=True
    ) == datetime(2026, 10, 8)
    assert due("每月3日零時前", datetime(2026, 9, 20, 10)) == datetime(2026, 10, 3)


def test_edu01_enrolment_target_by_30_december() -> None:
    assert due("by 30 December", datetime(2026, 6, 1)) == datetime(2026, 12, 31)
    assert due("by 30 December", datetime(2026, 12, 31, 1)) == datetime(2027, 12, 31)
    assert due("12月30日之前", datetime(2026, 6, 1)) == datetime(2026, 12, 31)
    assert due("12月30日之前", datetime(2026, 12, 30, 17)) == datetime(2026, 12, 31)


def test_edu02_monthly_target_by_the_30th_clamps_in_february() -> None:
    assert due("by the 30th of each month", datetime(2026, 2, 10)) == datetime(2026, 3, 1)
    assert due("by the 30th of each month", datetime(2026, 2, 28, 23)) == datetime(2026, 3, 1)
    assert due("by the 30th of each month", datetime(2028, 2, 29, 23)) == datetime(2028, 3, 1)
    assert due("每月30日之前", datetime(2026, 2, 10)) == datetime(2026, 3, 1)
    assert due("每月30日之前", datetime(2026, 2, 28, 17)) == datetime(2026, 3, 1)
    assert due("before the 30th of each month", datetime(2026, 2, 10)) == datetime(2026, 2, 28)
    assert due("before the 30th of each month", datetime(2028, 2, 10)) == datetime(2028, 2, 29)
    assert due("by the 31st of each month", datetime(2026, 4, 10)) == datetime(2026, 5, 1)


def test_hr01_appraisal_by_the_5th_and_7th_postponed_past_national_day() -> None:
    opened = datetime(2026, 10, 1, 9)
    assert due("by the 5th of each month", opened) == datetime(2026, 10, 6)
    assert due("每月5日之前", opened) == datetime(2026, 10, 6)
    assert due("每月7日之前", opened, postpone=True) == datetime(2026, 10, 9)
    assert due("by the 7th", opened) == datetime(2026, 10, 8)
    # 5 and 7 October 2026 are days off: both move to the end of 8 October.
    assert due("by the 5th of each month", opened, postpone=True) == datetime(2026, 10, 9)
    assert due("by the 7th", opened, postpone=True) == datetime(2026, 10, 9)
    # Opened during the holiday, after the 5th: still this month's postponed deadline.
    assert due("by the 5th of each month", datetime(2026, 10, 6, 10), postpone=True) == datetime(
        2026, 10, 9
    )
    assert due("by the 5th of each month", datetime(2026, 10, 6, 10)) == datetime(2026, 11, 6)


def test_hr02_annual_appraisal_1_to_15_january() -> None:
    window = parse_deadline("1-15 January")
    assert isinstance(window, Window)
    for opened in (datetime(2026, 12, 20), datetime(2027, 1, 5, 10)):
        assert due_at(window, start=opened, calendar=CN) == datetime(2027, 1, 16)
        assert window_opens(window, start=opened, calendar=CN) == datetime(2027, 1, 1)
    dec = Window(12, 20, 31)
    assert due_at(dec, start=datetime(2026, 12, 25), calendar=CN) == datetime(2027, 1, 1)
    assert window_opens(dec, start=datetime(2026, 12, 25), calendar=CN) == datetime(2026, 12, 20)


def test_hr03_probation_extension_30_days() -> None:
    assert due("30 days", datetime(2026, 9, 10, 9)) == datetime(2026, 10, 10, 9)
    # 10 October 2026 is a make-up working Saturday: no postponement.
    assert due("30 days", datetime(2026, 9, 10, 9), postpone=True) == datetime(2026, 10, 10, 9)
    assert due("30 days", datetime(2026, 9, 5, 9), postpone=True) == datetime(2026, 10, 8, 9)


def test_hr04_appeal_within_1_week() -> None:
    assert due("1 week", datetime(2026, 3, 2, 10)) == datetime(2026, 3, 9, 10)
    assert due("一周內", datetime(2026, 3, 2, 10)) == datetime(2026, 3, 9, 10)


def test_md06_feedback_within_1_hour() -> None:
    assert due("1 hour", datetime(2026, 3, 2, 10, 30)) == datetime(2026, 3, 2, 11, 30)
    # Elapsed time across a daylight-saving change: 01:30 CET + 1 hour is 03:30 CEST.
    berlin = ZoneInfo("Europe/Berlin")
    assert due("1 hour", datetime(2026, 3, 29, 1, 30, tzinfo=berlin)) == datetime(
        2026, 3, 29, 3, 30, tzinfo=berlin
    )


def test_months_clamp_to_the_month_end() -> None:
    assert due("1 month", datetime(2026, 1, 31, 9)) == datetime(2026, 2, 28, 9)
    assert due("13 months", datetime(2026, 1, 31, 9)) == datetime(2027, 2, 28, 9)


def test_calendar_deadlines_keep_the_time_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    result = due("by the 26th of each month", datetime(2026, 3, 10, 9, tzinfo=shanghai))
    assert result == datetime(2026, 3, 27, tzinfo=shanghai)


def test_apply_offset() -> None:
    monday = datetime(2026, 10, 12)
    assert apply_offset(monday, parse_offset("1 working day before"), CN) == datetime(2026, 10, 10)
    assert apply_offset(monday, parse_offset("2 days before"), CN) == datetime(2026, 10, 10)
    assert apply_offset(monday, parse_offset("1 day after"), CN) == datetime(2026, 10, 13)
    assert apply_offset(monday, parse_offset("2 working days after"), CN) == datetime(2026, 10, 14)
    assert apply_offset(monday, parse_offset("1 month before"), CN) == datetime(2026, 9, 12)
    assert apply_offset(monday, AT_DUE, CN) == monday


def test_any_calendar_works() -> None:
    simple = SimpleCalendar()
    spec = Relative(1, "working_days")
    assert due_at(spec, start=datetime(2026, 9, 30, 9), calendar=simple) == datetime(2026, 10, 1, 9)


# ---------------------------------------------------------------- properties

amounts = st.integers(min_value=1, max_value=MAX_AMOUNT)
relatives = st.builds(Relative, amounts, st.sampled_from(UNITS))
small_relatives = st.builds(Relative, st.integers(1, 400), st.sampled_from(UNITS))
monthlies = st.builds(MonthlyDay, st.integers(1, 31), st.booleans())
yearlies = st.integers(1, 12).flatmap(
    lambda m: st.builds(
        YearlyDate,
        st.just(m),
        st.integers(1, 29 if m == 2 else 30 if m in (4, 6, 9, 11) else 31),
        st.booleans(),
    )
)
windows = st.integers(1, 12).flatmap(
    lambda m: st.lists(
        st.integers(1, 29 if m == 2 else 30 if m in (4, 6, 9, 11) else 31), min_size=2, max_size=2
    ).map(lambda days: Window(m, min(days), max(days)))
)
specs = st.one_of(relatives, monthlies, yearlies, windows)
offsets = st.one_of(
    st.just(AT_DUE),
    st.builds(Offset, amounts, st.sampled_from(UNITS), st.sampled_from(["before", "after"])),
)
starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31))


@settings(deadline=None, max_examples=200)
@given(
    spec=st.one_of(small_relatives, monthlies, yearlies, windows),
    start=starts,
    postpone=st.booleans(),
)
def test_due_is_never_before_start(spec: Deadline, start: datetime, postpone: bool) -> None:
    result = due_at(spec, start=start, calendar=CN, postpone_past_holidays=postpone)
    assert result >= start
    if postpone and not isinstance(spec, Relative):
        end_of_day = not getattr(spec, "before", False)
        assert CN.is_working_day(result.date() - timedelta(days=end_of_day))


@settings(deadline=None, max_examples=25)
@given(spec=relatives, start=starts)
def test_large_relative_deadlines(spec: Relative, start: datetime) -> None:
    assert due_at(spec, start=start, calendar=CN) > start


@given(spec=monthlies, start=starts)
def test_monthly_due_lands_on_the_day_or_the_month_end(spec: MonthlyDay, start: datetime) -> None:
    result = due_at(spec, start=start, calendar=CN)
    assert result.time() == datetime.min.time()
    day = result.date() if spec.before else result.date() - timedelta(days=1)
    month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    assert day.day == min(spec.day, month_end.day)
    assert result - start <= timedelta(days=32)


@settings(deadline=None)
@given(amount=st.integers(1, 300), start=starts)
def test_working_day_deadlines_land_on_working_days(amount: int, start: datetime) -> None:
    result = due_at(Relative(amount, "working_days"), start=start, calendar=CN)
    assert CN.is_working_day(result)
    assert result.time() == start.time()


@given(spec=specs)
def test_describe_round_trips(spec: Deadline) -> None:
    assert parse_deadline(describe(spec)) == spec
    assert parse_deadline(describe_zh(spec)) == spec


@given(offset=offsets)
def test_describe_offset_round_trips(offset: Offset) -> None:
    assert parse_offset(describe(offset)) == offset
    assert parse_offset(describe_zh(offset)) == offset


@pytest.mark.slow
@given(text=st.text(max_size=60))
def test_any_text_parses_or_raises_a_syntax_error(text: str) -> None:
    for parse in (parse_deadline, parse_offset):
        try:
            parse(text)
        except DeadlineSyntaxError as exc:
            assert exc.start is None or 0 <= exc.start <= (exc.end or 0) <= len(text)


@given(
    text=st.from_regex(
        r"(before|by|on) (the )?[0-9]{1,3}(st|nd|rd|th)?( of each month)?"
        r"|[0-9]{1,3}[-–][0-9]{1,3} [A-Za-z]{3,9}"
        r"|每月[0-9]{1,2}日前?|[0-9]{1,2}月[0-9]{1,2}日(至[0-9]{1,2}日)?"
        r"|[0-9]{1,5} (days|working days|hours)",
        fullmatch=True,
    )
)
def test_near_miss_texts_parse_or_raise_a_syntax_error(text: str) -> None:
    try:
        parse_deadline(text)
    except DeadlineSyntaxError as exc:
        assert exc.message


def test_round_trip_examples_from_the_brief() -> None:
    for spec in (
        Relative(1, "hours"),
        MonthlyDay(26, True),
        Window(1, 1, 15),
        YearlyDate(2, 29, False),
    ):
        assert parse_deadline(describe_zh(spec)) == spec
    assert due_at(YearlyDate(2, 29, False), start=datetime(2027, 1, 1), calendar=CN) == datetime(
        2027, 3, 1
    )
    assert (
        date(2028, 3, 1)
        == due_at(YearlyDate(2, 29, False), start=datetime(2028, 1, 1), calendar=CN).date()
    )


@pytest.mark.parametrize(
    ("as_written", "same_as"),
    [
        # the customer's text as it is written (spaces of its PDF included)
        ("當月 7 日之前", "每月7日之前"),  # 當月 7 日之前公布考核結果
        ("本月10日前", "每月10日前"),
        ("每年 1 月 1 日-15 日內", "1-15 January"),  # 每年 1 月 1 日-15 日內對員工舉行年終考評
        ("每年 12 月 30 日之前", "每年12月30日之前"),
        ("每月 30日之前", "每月30日之前"),
    ],
)
def test_the_customers_deadlines_read_as_written(as_written: str, same_as: str) -> None:
    assert parse_deadline(as_written) == parse_deadline(same_as)
