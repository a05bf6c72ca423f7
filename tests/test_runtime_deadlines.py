"""Deadlines: due times from the injected clock and calendar; reminders, escalation and
expiry fired by `Engine.tick`, which is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from procflow import Engine, ManualClock, MemoryStore, NotAllowed, SQLiteStore, TaskNotOpen, User
from procflow.runtime import SimpleCalendar, WorkingCalendar
from procflow.store import Store
from tests.test_runtime_helpers import (
    CHEN,
    SUN,
    WANG,
    Recorder,
    assert_replays,
    engine,
    only,
    process,
)

DEADLINE = """
procflow: 1
id: DL
title: deadlines
{org}
steps:
  - id: ask
    actor: pmm
    decide: {ok: next, timeout: late}
    deadline:
      due: 3 working days
      remind: [1 day before, at due]
      escalate: {to: gm, after: 1 day after, mode: MODE}
      expire: {outcome: timeout, after: 2 working days after}
  - {id: fine, end: done}
  - {id: late, end: expired}
"""


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db") as s:
        yield s


def test_remind_escalate_expire_through_tick(store: Store) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))  # Monday
    hooks = Recorder()
    eng = engine(DEADLINE.replace("MODE", "offer"), store=store, clock=clock, hooks=hooks)
    inst = eng.start("DL", by=WANG)
    task = only(inst.tasks)
    assert task.due == datetime(2026, 3, 5, 9)  # 3 working days
    assert [t.fire_at for t in store.due_timers("9999")] == [
        "2026-03-04T09:00:00",
        "2026-03-05T09:00:00",
        "2026-03-05T09:00:00",
        "2026-03-06T09:00:00",
        "2026-03-09T09:00:00",
    ]
    assert eng.tick() == []
    clock.set(datetime(2026, 3, 4, 9))
    assert [e.type for e in eng.tick()] == ["reminded"]
    assert eng.tick() == []  # idempotent
    assert hooks.kinds("remind") == ["ask"]

    clock.set(datetime(2026, 3, 5, 12))
    assert sorted(e.type for e in eng.tick()) == ["overdue", "reminded"]
    assert eng.tick() == []
    assert eng.task(task.id).overdue
    assert hooks.kinds("due") == ["ask"]
    assert eng.tasks(user=CHEN) == []

    clock.set(datetime(2026, 3, 6, 9))
    [escalated] = eng.tick()
    assert (escalated.type, escalated.data["to"], escalated.by) == ("escalated", "gm", None)
    assert [t.id for t in eng.tasks(user=CHEN)] == [task.id]  # offered to the GM
    assert [t.id for t in eng.tasks(user=WANG)] == [task.id]  # and still the PMM's

    clock.set(datetime(2026, 3, 9, 9))
    fired = eng.tick()
    assert [e.type for e in fired] == ["task_completed", "finished"]
    assert fired[0].data == {"task": int(task.id.rpartition(".")[2]), "outcome": "timeout",
                             "timer": "exp"}  # fmt: skip
    assert fired[0].by is None
    inst = eng.instance(inst.id)
    assert (inst.status, inst.result) == ("completed", "expired")
    assert eng.tick() == [] and store.due_timers("9999") == []
    assert hooks.kinds("expire") == ["ask"]
    assert_replays(eng, inst.id)


def test_escalation_by_move_takes_it_away() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(DEADLINE.replace("MODE", "move"), clock=clock)
    inst = eng.start("DL", by=WANG)
    clock.set(datetime(2026, 3, 6, 9))
    eng.tick()
    assert eng.tasks(user=WANG) == []
    [task] = eng.tasks(user=CHEN)
    assert task.actor == ("gm",)
    assert eng.complete(task.id, by=CHEN, outcome="ok").result == "done"
    assert_replays(eng, inst.id)


def test_a_completed_task_fires_nothing() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(DEADLINE.replace("MODE", "offer"), clock=clock)
    inst = eng.start("DL", by=WANG)
    eng.complete(only(inst.tasks).id, by=WANG, outcome="ok")
    clock.set(datetime(2026, 4, 1))
    assert eng.tick() == []


def test_escalation_offer_reaches_members_of_a_claimed_task() -> None:
    from procflow.runtime import StaticDirectory

    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(
        DEADLINE.replace("MODE", "offer"),
        clock=clock,
        directory=StaticDirectory({"gm": ["chen"]}),
    )
    inst = eng.start("DL", by=WANG)
    eng.claim(only(inst.tasks).id, by=WANG)
    clock.set(datetime(2026, 3, 6, 9))
    eng.tick()
    assert [t.candidates for t in eng.tasks(user=CHEN)] == [("chen",)]


CALENDAR = """
procflow: 1
id: CAL
title: calendar
{org}
steps:
  - {id: first, actor: pmm}
  - id: report
    actor: pmm
    deadline: {due: DUE, holidays: postpone, from: FROM}
"""


@pytest.mark.parametrize(
    ("due", "count_from", "expected"),
    [
        ("by the 26th of each month", "open", datetime(2026, 3, 28)),  # 26th off, 27th ok
        ("before the 26th of each month", "open", datetime(2026, 3, 27)),
        ("2 days", "start", datetime(2026, 3, 3, 9)),
        ("2 days", "first", datetime(2026, 3, 4, 10)),
        ("1 hour", "open", datetime(2026, 3, 2, 11)),
    ],
)
def test_due_follows_calendar_and_from(due: str, count_from: str, expected: datetime) -> None:
    clock = ManualClock(datetime(2026, 3, 1, 9))  # Sunday
    calendar = SimpleCalendar(holidays=[date(2026, 3, 26)])
    eng = engine(
        CALENDAR.replace("DUE", due).replace("FROM", count_from), clock=clock, calendar=calendar
    )
    inst = eng.start("CAL", by=WANG)
    clock.set(datetime(2026, 3, 2, 10))
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert only(inst.tasks).due == expected


def test_default_calendar_knows_chinese_holidays() -> None:
    text = CALENDAR.replace("DUE", "3 working days").replace("FROM", "open")
    eng = Engine(
        {"CAL": process(text)}, clock=ManualClock(datetime(2026, 9, 30, 9))
    )  # WorkingCalendar by default
    assert isinstance(eng.calendar, WorkingCalendar)
    inst = eng.start("CAL", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    # National Day 1-7 October; Saturday 10 October 2026 is a make-up working day
    assert only(inst.tasks).due == datetime(2026, 10, 10, 9)


def test_aware_clock_timers_are_kept_in_utc() -> None:
    from datetime import timedelta, timezone

    cst = timezone(timedelta(hours=8))
    clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=cst))
    eng = engine(DEADLINE.replace("MODE", "offer"), clock=clock)
    inst = eng.start("DL", by=WANG)
    assert only(inst.tasks).due == datetime(2026, 3, 5, 9, tzinfo=cst)
    assert eng.store.due_timers("9999")[0].fire_at == "2026-03-04T01:00:00+00:00"
    assert eng.tick(datetime(2026, 3, 4, 8, 59, tzinfo=cst)) == []
    assert len(eng.tick(datetime(2026, 3, 4, 9, tzinfo=cst))) == 1
    assert User("x").roles == frozenset()


def test_a_failing_instance_does_not_stop_tick(caplog: pytest.LogCaptureFixture) -> None:
    broken = """
    procflow: 1
    id: BROKEN
    title: broken
    {org}
    documents:
      pay: {title: 付款, fields: {amount: {type: money, required: false}}}
    steps:
      - id: ask
        actor: pmm
        decide: {ok: next, late: next}
        deadline: {due: 1 day, expire: late}
      - id: route
        branch:
          - {if: pay.amount > 10, goto: big}
          - otherwise: next
      - {id: small, actor: cto}
      - {id: big, actor: gm}
    """
    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(broken, DEADLINE.replace("MODE", "offer"), clock=clock)
    bad = eng.start("BROKEN", by=WANG)
    good = eng.start("DL", by=WANG)
    clock.set(datetime(2026, 3, 20))
    fired = eng.tick()
    assert {e.instance_id for e in fired} == {good.id}
    assert "pay.amount" in caplog.text
    assert only(eng.instance(bad.id).tasks).step_id == "ask"  # its timer waits for the next tick
    assert [t.timer_id for t in eng.store.due_timers("9999")] == ["2:due", "2:exp"]


APPEAL = """
procflow: 1
id: APPEAL
title: 申訴期
{org}
steps:
  - id: publish
    actor: pmm
  - id: respond
    actor: gm
    decide: {accept: done, appeal: next}
    deadline:
      due: 1 week
      remind: 1 day before
      escalate: {to: cto, after: 1 day after, mode: move}
      expire: {outcome: accept, after: 2 days after}
  - {id: appealed, end: appealed}
  - {id: done, end: accepted}
"""


def test_a_completion_after_the_expiry_is_refused_without_a_tick() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(APPEAL, clock=clock)
    inst = eng.start("APPEAL", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    respond = only(inst.tasks)
    before = eng.instance(inst.id).version
    clock.set(datetime(2026, 3, 16, 9))  # 14 days on; the window closed on the 11th
    with pytest.raises(TaskNotOpen, match=r"expired at 2026-03-11T09:00:00"):
        eng.complete(respond.id, by=CHEN, outcome="appeal")
    assert eng.instance(inst.id).version == before  # a refused command stores nothing
    # the next command on the instance, or a tick, applies the deadline: accepted
    assert [e.type for e in eng.tick()][-2:] == ["task_completed", "finished"]
    inst = eng.instance(inst.id)
    assert (inst.status, inst.result) == ("completed", "accepted")
    assert_replays(eng, inst.id)


def test_a_command_applies_due_timers_first_in_order() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))
    hooks = Recorder()
    eng = engine(APPEAL, clock=clock, hooks=hooks)
    inst = eng.start("APPEAL", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    respond = only(inst.tasks)
    clock.set(datetime(2026, 3, 10, 12))  # past the due moment and the escalation: no tick
    with pytest.raises(NotAllowed, match="cto"):  # moved to the CTO before the GM acts
        eng.complete(respond.id, by=CHEN, outcome="appeal")
    inst = eng.complete(respond.id, by=SUN, outcome="appeal")
    assert inst.result == "appealed"
    fired = [(e.type, e.by) for e in eng.history(inst.id)][-5:]
    assert fired == [
        ("reminded", None),
        ("overdue", None),
        ("escalated", None),
        ("task_completed", "sun"),
        ("finished", "sun"),
    ]
    assert hooks.kinds("escalate") == ["respond"] and hooks.kinds("due") == ["respond"]
    assert eng.tick() == []  # nothing left for the scheduler
    assert_replays(eng, inst.id)


def test_claim_and_delegate_see_the_clock_too() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(APPEAL, clock=clock)
    inst = eng.start("APPEAL", by=WANG)
    respond = only(eng.complete(only(inst.tasks).id, by=WANG).tasks)
    clock.set(datetime(2026, 3, 9, 10))  # overdue, not yet escalated
    task = eng.claim(respond.id, by=CHEN)
    assert task.overdue and task.assignee == "chen"
    clock.set(datetime(2026, 3, 12))
    with pytest.raises(TaskNotOpen, match="expired"):
        eng.delegate(respond.id, by=SUN, to="qian")


def test_tick_still_fires_timers_of_untouched_instances() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))
    eng = engine(APPEAL, clock=clock)
    inst = eng.start("APPEAL", by=WANG)
    eng.complete(only(inst.tasks).id, by=WANG)
    clock.set(datetime(2026, 3, 20))
    assert [e.type for e in eng.tick()] == [
        "reminded",
        "overdue",
        "escalated",
        "task_completed",
        "finished",
    ]
    assert eng.instance(inst.id).result == "accepted"
