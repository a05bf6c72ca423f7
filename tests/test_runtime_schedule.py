"""Scheduled starts: `Engine.tick` starts a recurring process once per period, by the
system on behalf of the schedule's role, never back-dated."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from procflow import Engine, ManualClock, MemoryStore, SQLiteStore, User
from procflow.errors import NotAllowed
from procflow.runtime import SimpleCalendar, StaticDirectory
from procflow.store import Store
from tests.test_runtime_helpers import QIAN, assert_replays, engine, process

MONTHLY = """
procflow: 1
id: PLAN
title: 月度計劃
{org}
schedule: {every: month, day: 20, by: ka_head, holidays: postpone}
steps:
  - id: draft
    actor: market_manager
  - id: review
    actor: pmm
"""

YEARLY = """
procflow: 1
id: YEAR
title: 年度考核
{org}
schedule: {every: year, month: 12, day: 1, by: gm}
steps:
  - id: appraise
    actor: gm
"""

EACH = """
procflow: 1
id: EACH
title: 每位大客戶經理
{org}
schedule: {every: working day, by: ka_head}
steps:
  - id: report
    actor: ka_manager
    for_each: member
"""

LI = User("li", {"market_manager"})


def scheduled(eng: Engine, process_id: str) -> list[str]:
    """The periods of the scheduled instances of a process, oldest first."""
    out = []
    for inst in eng.instances(process_id=process_id):
        started = eng.history(inst.id)[0]
        assert started.type == "started"
        if "schedule" in started.data:
            out.append(started.data["schedule"]["period"])
    return out


def test_a_period_starts_once_when_its_moment_comes() -> None:
    clock = ManualClock(datetime(2026, 5, 4, 9))
    eng = engine(MONTHLY, clock=clock)
    assert eng.tick() == []  # April's moment came before the engine saw the schedule
    clock.set(datetime(2026, 5, 20, 0, 0))
    [started, opened] = eng.tick()
    assert (started.type, started.by) == ("started", None)
    assert started.data["schedule"] == {
        "by": "ka_head",
        "period": "2026-05",
        "at": "2026-05-20T00:00:00",
    }
    assert opened.type == "task_opened"
    assert eng.tick() == []  # once per period, however often tick runs
    clock.set(datetime(2026, 6, 2, 9))
    assert eng.tick() == []
    [inst] = eng.instances(process_id="PLAN")
    assert inst.started_by is None and [t.step_id for t in inst.tasks] == ["draft"]
    clock.set(datetime(2026, 6, 22, 9))  # 20 June 2026 is a Saturday: postponed to Monday
    assert eng.tick(datetime(2026, 6, 21, 9)) == []
    assert next(e.type for e in eng.tick()) == "started"
    assert scheduled(eng, "PLAN") == ["2026-05", "2026-06"]
    assert_replays(eng)


def test_the_role_it_acts_for_may_start_by_hand_and_cancel() -> None:
    clock = ManualClock(datetime(2026, 5, 1))
    eng = engine(MONTHLY, clock=clock)
    clock.set(datetime(2026, 5, 20, 8))
    eng.tick()
    [inst] = eng.instances(process_id="PLAN")
    with pytest.raises(NotAllowed):
        eng.cancel(inst.id, by=User("x", {"cto"}), reason="no")
    assert eng.cancel(inst.id, by=QIAN, reason="not this month").status == "cancelled"
    assert eng.start("PLAN", by=QIAN).status == "running"  # a start by hand
    assert eng.start("PLAN", by=LI).status == "running"  # the first step's role too
    assert eng.tick() == []  # by-hand starts do not count: May was already started
    assert scheduled(eng, "PLAN") == ["2026-05"]


def test_no_back_dated_starts_for_a_yearly_schedule() -> None:
    clock = ManualClock(datetime(2026, 6, 15, 9))
    eng = engine(YEARLY, clock=clock)
    assert eng.tick() == []  # 1 December 2025 is before the engine saw the schedule
    clock.set(datetime(2026, 11, 30, 23, 59))
    assert eng.tick() == []
    clock.set(datetime(2027, 1, 10))  # the tick was late: December 2026 still starts
    assert next(e.type for e in eng.tick()) == "started"
    assert scheduled(eng, "YEAR") == ["2026"]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db") as s:
        yield s


def test_two_engines_sharing_a_store_start_a_period_once(tmp_path: Path) -> None:
    path = tmp_path / "flows.db"
    clock = ManualClock(datetime(2026, 5, 1))
    with (
        engine(MONTHLY, store=SQLiteStore(path), clock=clock) as one,
        engine(MONTHLY, store=SQLiteStore(path), clock=clock) as two,
    ):
        clock.set(datetime(2026, 5, 20, 1))
        made = one.tick() + two.tick() + one.tick()
        assert [e.type for e in made].count("started") == 1
        assert scheduled(two, "PLAN") == ["2026-05"]


def test_a_restarted_engine_catches_up_one_period(store: Store) -> None:
    clock = ManualClock(datetime(2026, 4, 1))
    first = engine(MONTHLY, store=store, clock=clock)
    clock.set(datetime(2026, 4, 20, 9))
    first.tick()
    # down from 19 May to 21 May: the restarted engine first sees the schedule after
    # May's moment, but April was started by the schedule, so May still starts
    clock.set(datetime(2026, 5, 21, 10))
    restarted = engine(MONTHLY, store=store, clock=clock)
    assert next(e.type for e in restarted.tick()) == "started"
    assert scheduled(restarted, "PLAN") == ["2026-04", "2026-05"]
    # down from 1 June to 10 August: the latest period, July, follows one that the
    # schedule did not start (June), so nothing is made up; August starts on time
    clock.set(datetime(2026, 8, 10))
    again = engine(MONTHLY, store=store, clock=clock)
    assert again.tick() == []
    clock.set(datetime(2026, 8, 20))
    again.tick()
    assert scheduled(again, "PLAN") == ["2026-04", "2026-05", "2026-08"]


def test_a_failing_start_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    holidays = SimpleCalendar(holidays=[date(2026, 5, 1)])
    clock = ManualClock(datetime(2026, 4, 29, 12))
    catalog = {"EACH": process(EACH)}
    eng = Engine(catalog, store=MemoryStore(), clock=clock, calendar=holidays)
    clock.set(datetime(2026, 4, 30, 8))
    with caplog.at_level(logging.ERROR, logger="procflow.runtime"):
        assert eng.tick() == []  # for_each: member needs a directory
    assert "schedule:EACH:2026-04-30" in caplog.text
    eng.directory = StaticDirectory({"ka_manager": ["wu", "zheng"]})
    assert [e.type for e in eng.tick()] == ["started", "task_opened", "task_opened"]
    clock.set(datetime(2026, 5, 1, 9))  # a holiday: no working-day period
    assert eng.tick() == []
    clock.set(datetime(2026, 5, 4, 0, 0, 1))
    eng.tick()
    assert scheduled(eng, "EACH") == ["2026-04-30", "2026-05-04"]
