"""Four-eyes when a task opens: exclusions apply to whom a task goes, and a task that
nobody eligible can take is never silent (its escalation, or a clear error).

Also the person who started the instance: ``actor: starter``, ``assignee: starter``
and ``not_by: starter``.
"""

from __future__ import annotations

import pytest

from procflow import ExecutionError, InvalidSubmission, NotAllowed, User
from procflow.runtime import StaticDirectory
from tests.test_runtime_helpers import LI, WANG, assert_replays, engine, only, steps, types

APPRAISAL = """
procflow: 1
id: APPRAISE
title: 考核
{org}
documents:
  appraisal:
    title: 考核表
    fields:
      employee: user
      supervisor: user
      panel: {type: list, of: user, required: false}
steps:
  - {id: schedule, actor: pmm, fills: appraisal}
  - {id: self_assessment, actor: ka_manager, assignee: appraisal.employee}
  - id: interview
    actor: ka_head
    assignee: appraisal.supervisor
    not_by: self_assessment
  - id: panel_review
    actor: gm
    for_each: appraisal.panel
    not_by: self_assessment
"""


def test_naming_the_employee_as_their_own_supervisor_is_refused() -> None:
    eng = engine(APPRAISAL)
    inst = eng.start("APPRAISE", by=WANG)
    task = only(inst.tasks)
    data = {"appraisal": {"employee": "xiao", "supervisor": "xiao"}}
    with pytest.raises(InvalidSubmission) as info:
        eng.complete(task.id, by=WANG, data=data)
    assert list(info.value.problems) == ["appraisal.supervisor"]
    assert "xiao" in info.value.problems["appraisal.supervisor"]
    assert "self_assessment" in info.value.problems["appraisal.supervisor"]
    assert eng.instance(inst.id).version == inst.version
    # nor in a list of users that a for-each gives a task to each of
    data = {"appraisal": {"employee": "xiao", "supervisor": "lin", "panel": ["chen", "xiao"]}}
    with pytest.raises(InvalidSubmission) as info:
        eng.complete(task.id, by=WANG, data=data)
    assert list(info.value.problems) == ["appraisal.panel"]
    data["appraisal"]["panel"] = ["chen"]
    inst = eng.complete(task.id, by=WANG, data=data)
    inst = eng.complete(only(inst.tasks).id, by=User("xiao"))
    assert only(inst.tasks).assignee == "lin"
    assert_replays(eng, inst.id)


def test_the_start_data_is_checked_too() -> None:
    text = APPRAISAL.replace("  - {id: schedule, actor: pmm, fills: appraisal}\n", "")
    text = text.replace("steps:\n", "starts_by: pmm\nsteps:\n")
    eng = engine(text)
    with pytest.raises(InvalidSubmission, match="may not do 'interview'"):
        eng.start("APPRAISE", by=WANG, data={"appraisal": {"employee": "x", "supervisor": "x"}})
    assert eng.store.instances() == []


REPORTS = """
procflow: 1
id: REPORTS
title: 每人報告
{org}
steps:
  - {id: draft, actor: [market_manager, ka_manager]}
  - id: reports
    actor: ka_manager
    for_each: member
    not_by: draft
    DEADLINE
  - {id: sum, actor: pmm}
"""
WU, ZHENG = User("wu", {"ka_manager"}), User("zheng", {"ka_manager"})


def test_for_each_members_leaves_out_whom_four_eyes_excludes() -> None:
    eng = engine(
        REPORTS.replace("DEADLINE", ""), directory=StaticDirectory({"ka_manager": ["wu", "zheng"]})
    )
    inst = eng.start("REPORTS", by=WU)
    inst = eng.complete(only(inst.tasks).id, by=WU)
    assert [t.candidates for t in inst.tasks] == [("zheng",)]  # wu drafted: no task for wu
    [opened] = [e.data for e in eng.history(inst.id) if e.type == "task_opened"][-1:]
    assert opened["left_out"] == ["wu"]
    inst = eng.complete(only(inst.tasks).id, by=ZHENG)
    assert steps(inst.tasks) == ["sum"]
    assert_replays(eng, inst.id)


def test_nobody_eligible_without_an_escalation_is_an_error_that_changes_nothing() -> None:
    eng = engine(REPORTS.replace("DEADLINE", ""), directory=StaticDirectory({"ka_manager": ["wu"]}))
    inst = eng.start("REPORTS", by=WU)
    with pytest.raises(ExecutionError, match=r"nobody may do 'reports'.*wu did 'draft'"):
        eng.complete(only(inst.tasks).id, by=WU)
    assert steps(eng.instance(inst.id).tasks) == ["draft"]
    assert types(eng, inst.id) == ["started", "task_opened"]


def test_nobody_eligible_follows_the_escalation() -> None:
    deadline = "deadline: {due: 3 days, escalate: {to: ka_head, mode: move}}"
    directory = StaticDirectory({"ka_manager": ["wu"], "ka_head": ["qian"]})
    eng = engine(REPORTS.replace("DEADLINE", deadline), directory=directory)
    inst = eng.start("REPORTS", by=WU)
    inst = eng.complete(only(inst.tasks).id, by=WU)
    task = only(inst.tasks)
    assert (task.actor, task.candidates) == (("ka_head",), ())
    [escalated] = [e for e in eng.history(inst.id) if e.type == "escalated"]
    assert escalated.by is None and escalated.data["why"].startswith("nobody eligible")
    assert eng.tasks(user=WU) == []
    inst = eng.complete(task.id, by=User("qian", {"ka_head"}))
    assert steps(inst.tasks) == ["sum"]
    assert_replays(eng, inst.id)


PAYMENT = """
procflow: 1
id: PAY
title: 付款
{org}
steps:
  - {id: apply, actor: market_manager}
  - id: approvals
    sign: RULE
    DEADLINE
  - {id: paid, actor: pmm}
"""
BOTH = User("boss", {"gm", "cto"})  # the only holder of cto, and a gm too


@pytest.mark.parametrize("rule", ["{all_of: [gm, cto]}", "{in_turn: [gm, cto]}"])
def test_one_person_in_two_signer_roles_cannot_deadlock_silently(rule: str) -> None:
    directory = StaticDirectory({"gm": ["boss", "chen"], "cto": ["boss"], "ka_head": ["qian"]})
    eng = engine(PAYMENT.replace("RULE", rule).replace("DEADLINE", ""), directory=directory)
    inst = eng.start("PAY", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI)
    gm_task = next(t for t in inst.tasks if t.actor == ("gm",))
    with pytest.raises(ExecutionError, match="cto is held by boss only, and boss has signed"):
        eng.complete(gm_task.id, by=BOTH)
    before = eng.instance(inst.id).version
    assert before == inst.version
    inst = eng.complete(gm_task.id, by=User("chen", {"gm"}))  # the other GM signs instead
    inst = eng.complete(only(inst.tasks, "approvals").id, by=BOTH)
    assert steps(inst.tasks) == ["paid"]

    deadline = "deadline: {due: 1 day, escalate: ka_head}"
    eng = engine(PAYMENT.replace("RULE", rule).replace("DEADLINE", deadline), directory=directory)
    inst = eng.start("PAY", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI)
    gm_task = next(t for t in inst.tasks if t.actor == ("gm",))
    inst = eng.complete(gm_task.id, by=BOTH)
    moved = only(inst.tasks)
    assert moved.actor == ("ka_head",)
    inst = eng.complete(moved.id, by=User("qian", {"ka_head"}))
    assert steps(inst.tasks) == ["paid"]
    assert_replays(eng, inst.id)


def test_a_role_task_is_checked_only_when_the_directory_names_its_holders() -> None:
    text = """
    procflow: 1
    id: SEQ2
    title: s
    {org}
    steps:
      - {id: draft, actor: [market_manager, pmm]}
      - {id: review, actor: pmm, not_by: draft}
    """
    both = User("li2", {"market_manager", "pmm"})
    eng = engine(text, directory=StaticDirectory({"pmm": ["li2"]}))
    inst = eng.start("SEQ2", by=both)
    with pytest.raises(ExecutionError, match="pmm is held by li2 only"):
        eng.complete(only(inst.tasks).id, by=both)
    eng = engine(text)  # no directory: the task opens; acting is still checked
    inst = eng.start("SEQ2", by=both)
    inst = eng.complete(only(inst.tasks).id, by=both)
    with pytest.raises(NotAllowed, match="four-eyes"):
        eng.complete(only(inst.tasks).id, by=both)


LEAVE = """
procflow: 1
id: LEAVE
title: 請假
{org}
starts_by: [ka_manager, market_manager]
documents:
  leave: {title: 請假單, fields: {days: number}}
steps:
  - {id: apply, actor: starter, fills: leave}
  - {id: approve, actor: ka_head, not_by: starter}
  - {id: confirm, actor: ka_manager, assignee: starter}
"""


def test_starter_gets_the_first_task_alone_and_is_kept_off_the_approval() -> None:
    eng = engine(LEAVE)
    inst = eng.start("LEAVE", by=WU)
    task = only(inst.tasks)
    assert (task.actor, task.assignee) == (("starter",), "wu")
    assert eng.tasks(user=ZHENG) == []  # another employee does not see wu's leave form
    assert [t.id for t in eng.tasks(user=WU)] == [task.id]
    with pytest.raises(NotAllowed):
        eng.complete(task.id, by=ZHENG, data={"leave": {"days": 2}})
    inst = eng.complete(task.id, by=WU, data={"leave": {"days": 2}})
    head = User("wu", {"ka_manager", "ka_head"})
    with pytest.raises(NotAllowed, match="started the instance"):
        eng.complete(only(inst.tasks).id, by=head)
    inst = eng.complete(only(inst.tasks).id, by=User("qian", {"ka_head"}))
    assert only(inst.tasks).assignee == "wu"
    inst = eng.complete(only(inst.tasks).id, by=WU)
    assert inst.status == "completed"
    assert_replays(eng, inst.id)


def test_starter_processes_may_be_started_by_anyone_without_starts_by() -> None:
    eng = engine(LEAVE.replace("starts_by: [ka_manager, market_manager]\n", ""))
    inst = eng.start("LEAVE", by=User("anyone"))
    assert only(inst.tasks).assignee == "anyone"


def test_who_did_the_step_before_a_sign_off_may_sign_it() -> None:
    text = """
    procflow: 1
    id: REVIEWED
    title: r
    {org}
    steps:
      - {id: review, actor: pmm}
      - id: countersign
        sign: {all_of: [pmm, gm]}
    """
    eng = engine(text, directory=StaticDirectory({"pmm": ["wang"], "gm": ["chen"]}))
    inst = eng.start("REVIEWED", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)  # wang, the only pmm, may sign next
    inst = eng.complete(inst.tasks[0].id, by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=User("chen", {"gm"}))
    assert inst.status == "completed"


def test_a_sign_off_task_is_not_delegated_to_someone_who_has_another() -> None:
    text = """
    procflow: 1
    id: TWO
    title: t
    {org}
    steps:
      - {id: apply, actor: market_manager}
      - id: approvals
        sign: {all_of: [gm, cto]}
    """
    eng = engine(text)
    inst = eng.start("TWO", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI)
    gm_task, cto_task = inst.tasks
    eng.delegate(gm_task.id, by=User("chen", {"gm"}), to="zhou")
    with pytest.raises(NotAllowed, match="zhou already has a task of the sign-off"):
        eng.delegate(cto_task.id, by=User("sun", {"cto"}), to="zhou")
