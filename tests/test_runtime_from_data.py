"""Constructs that take people, dates and documents from the data: ``deadline.due_on``,
``for_each`` over a list of users, ``notify_users`` and optional carried documents."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from procflow import EvaluationError, NotAllowed, User
from procflow.runtime import SimpleCalendar, StaticDirectory
from tests.test_runtime_helpers import (
    LI,
    QIAN,
    WANG,
    Recorder,
    assert_replays,
    engine,
    only,
    types,
)

DUE_ON = """
procflow: 1
id: PROBATION
title: 試用考核
{org}
documents:
  probation:
    title: 試用考核表
    fields:
      end_date: {type: date, required: false}
      meeting: {type: datetime, required: false}
steps:
  - id: set_period
    actor: pmm
    fills: probation
  - id: appraise
    actor: gm
    decide: {pass: next, fail: next}
    deadline: {due_on: probation.end_date, holidays: postpone, remind: 1 day before, expire: fail}
  - id: meet
    actor: gm
    deadline: {due_on: probation.meeting}
"""


def test_due_on_a_date_is_the_end_of_that_day() -> None:
    calendar = SimpleCalendar(holidays=[date(2026, 6, 1)])  # a Monday off
    eng = engine(DUE_ON, calendar=calendar)
    inst = eng.start("PROBATION", by=WANG)
    data = {"probation": {"end_date": "2026-05-30", "meeting": "2026-06-03T15:00:00"}}
    inst = eng.complete(only(inst.tasks).id, by=WANG, data=data)
    # Saturday 30 May, postponed past the weekend and the holiday: the end of 2 June
    task = only(inst.tasks)
    assert task.due == datetime(2026, 6, 3)
    assert [e.type for e in eng.tick(datetime(2026, 6, 2, 0, 0))] == ["reminded"]
    expired = [e.type for e in eng.tick(datetime(2026, 6, 3))]
    assert expired == ["overdue", "task_completed", "task_opened"]
    inst = eng.instance(inst.id)
    assert only(inst.tasks).due == datetime(2026, 6, 3, 15)  # a date and time: that moment
    assert_replays(eng)


def test_due_on_a_missing_date_changes_nothing() -> None:
    eng = engine(DUE_ON)
    inst = eng.start("PROBATION", by=WANG)
    with pytest.raises(EvaluationError, match="end_date"):
        eng.complete(only(inst.tasks).id, by=WANG, data={"probation": {}})
    assert eng.instance(inst.id).version == inst.version
    assert [t.step_id for t in eng.instance(inst.id).tasks] == ["set_period"]


ATTENDEES = """
procflow: 1
id: TRAINING
title: 培訓
{org}
documents:
  sign_in:
    title: 培訓簽到表
    fields:
      attendees: {type: list, of: user, required: false}
  survey:
    title: 培訓調查表
    fields:
      rating: {type: number, min: 1, max: 5}
steps:
  - id: deliver
    actor: market_manager
    fills: sign_in
  - id: feedback
    actor: ka_manager
    for_each: sign_in.attendees
    fills: survey
  - id: summary
    actor: market_manager
"""


def test_for_each_user_gives_each_listed_person_a_task_whatever_their_roles() -> None:
    eng = engine(ATTENDEES)
    inst = eng.start("TRAINING", by=LI)
    data = {"sign_in": {"attendees": ["xiao", "tian", "xiao"]}}
    inst = eng.complete(only(inst.tasks).id, by=LI, data=data)
    tasks = sorted(inst.tasks, key=lambda t: t.item)
    assert [(t.item, t.candidates) for t in tasks] == [("tian", ("tian",)), ("xiao", ("xiao",))]
    outsider = User("xiao", set())  # no role at all: listed, so it is hers
    assert [t.item for t in eng.tasks(user=outsider)] == ["xiao"]
    with pytest.raises(NotAllowed):  # the role alone is not enough
        eng.complete(tasks[0].id, by=User("wu", {"ka_manager"}), data={"survey": {"rating": 4}})
    with pytest.raises(NotAllowed):  # nor another listed person
        eng.complete(tasks[0].id, by=outsider, data={"survey": {"rating": 4}})
    eng.complete(tasks[1].id, by=outsider, data={"survey": {"rating": 5}})
    inst = eng.complete(tasks[0].id, by=User("tian"), data={"survey": {"rating": 4}})
    assert [t.step_id for t in inst.tasks] == ["summary"]
    assert_replays(eng)


def test_for_each_user_over_an_empty_list_is_skipped() -> None:
    eng = engine(ATTENDEES)
    inst = eng.start("TRAINING", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"sign_in": {"attendees": []}})
    assert [t.step_id for t in inst.tasks] == ["summary"]
    assert "step_skipped" in types(eng, inst.id)


NOTIFY = """
procflow: 1
id: TELL
title: 告知
{org}
documents:
  appraisal:
    title: 考核表
    fields:
      employee: {type: user, required: false}
      panel: {type: list, of: user, required: false}
steps:
  - id: fill
    actor: pmm
    fills: appraisal
  - id: tell
    notify: ka_head
    notify_users: appraisal.employee
    message: 考核結果已公布
  - id: tell_panel
    notify_users: appraisal.panel
  - id: ack
    actor: pmm
"""


def test_notify_users_tells_the_people_named_in_the_form() -> None:
    hooks = Recorder()
    eng = engine(NOTIFY, hooks=hooks, directory=StaticDirectory({"ka_head": [QIAN.id]}))
    inst = eng.start("TELL", by=WANG)
    data = {"appraisal": {"employee": "xiao", "panel": ["chen", "xiao", "chen"]}}
    inst = eng.complete(only(inst.tasks).id, by=WANG, data=data)
    told = [e.data for e in eng.history(inst.id) if e.type == "notified"]
    assert [(d["roles"], d["users"]) for d in told] == [
        (["ka_head"], ["xiao"]),
        ([], ["chen", "xiao"]),
    ]
    notices = hooks.kinds("notify")
    assert [n.recipients for n in notices] == [(QIAN.id, "xiao"), ("chen", "xiao")]
    assert_replays(eng)


def test_notify_users_with_nobody_named_changes_nothing() -> None:
    eng = engine(NOTIFY)
    inst = eng.start("TELL", by=WANG)
    with pytest.raises(EvaluationError, match="employee"):
        eng.complete(only(inst.tasks).id, by=WANG, data={"appraisal": {"panel": ["chen"]}})
    assert eng.instance(inst.id).version == inst.version


SENDER = """
procflow: 1
id: SEND
title: 轉出
{org}
documents:
  report:
    title: 可行性分析報告
    fields: {content: text}
  plan:
    title: 調研計劃
    fields: {content: text}
steps:
  - id: write
    actor: market_manager
    fills: report
  - handoff: RECEIVE
    carry:
      report: report
      plan: {optional: true}
"""

RECEIVER = """
procflow: 1
id: RECEIVE
title: 轉入
{org}
documents:
  report:
    title: 可行性分析報告
    fields: {content: text}
  plan:
    title: 調研計劃
    fields: {content: text}
steps:
  - id: read
    actor: market_manager
    reads: [report, plan]
"""


@pytest.mark.parametrize("with_plan", [False, True])
def test_an_optional_document_is_carried_only_when_it_is_there(with_plan: bool) -> None:
    eng = engine(SENDER, RECEIVER)
    start = {"plan": {"content": "MD-01 的調研計劃"}} if with_plan else None
    inst = eng.start("SEND", by=LI, data=start)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"report": {"content": "可行"}})
    [child_id] = inst.handed_off_to
    docs = eng.instance(child_id).documents
    assert docs["report"] == {"content": "可行"}
    assert ("plan" in docs) is with_plan


BLANKED = """
procflow: 1
id: BLANK
title: 由子流程清空
{org}
documents:
  plan:
    title: 計劃
    fields: {content: text}
steps:
  - id: write
    actor: market_manager
    fills: plan
  - call: WIPE
    returns: {plan: plan}
  - handoff: RECEIVE2
    carry: plan
"""

WIPE = """
procflow: 1
id: WIPE
title: 清空
{org}
documents:
  plan:
    title: 計劃
    fields: {content: {type: text, required: false}}
steps:
  - id: wipe
    actor: market_manager
    fills: plan
"""

RECEIVE2 = RECEIVER.replace("id: RECEIVE", "id: RECEIVE2")


def test_a_required_document_that_is_missing_at_run_time_changes_nothing() -> None:
    eng = engine(BLANKED, WIPE, RECEIVE2)
    inst = eng.start("BLANK", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"plan": {"content": "初稿"}})
    [child] = eng.instances(process_id="WIPE")
    before = {i.id: i.version for i in eng.instances()}
    with pytest.raises(EvaluationError, match="carries 'plan' to RECEIVE2"):
        eng.complete(only(child.tasks).id, by=LI, data={"plan": {"content": None}})
    assert {i.id: i.version for i in eng.instances()} == before
