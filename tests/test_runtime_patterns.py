"""Workflow and resource patterns (workflowpatterns.com) that the language writes and the
engine runs, each driven through the public API; docs/language.md lists them with the test
that proves each."""

from __future__ import annotations

import pytest

import procflow
from procflow import ExecutionError, NotAllowed, User
from procflow.runtime import StaticDirectory
from tests.test_runtime_helpers import (
    CHEN,
    LI,
    QIAN,
    SUN,
    WANG,
    assert_replays,
    engine,
    only,
    steps,
    types,
)

BOARD = StaticDirectory({"ka_manager": ["wu", "zheng", "zhou"], "gm": ["chen"]})
MEMBERS = [User(u, {"ka_manager"}) for u in ("wu", "zheng", "zhou")]

SIGNED_BY_MEMBERS = """
procflow: 1
id: MEMBERS
title: 成員簽準
{org}
steps:
  - {id: propose, actor: pmm}
  - id: board
    sign: RULE
    reject: propose
  - {id: after, actor: pmm}
"""


def _to_board(rule: str) -> tuple[procflow.Engine, procflow.Instance]:
    eng = engine(SIGNED_BY_MEMBERS.replace("RULE", rule), directory=BOARD)
    inst = eng.start("MEMBERS", by=WANG)
    return eng, eng.complete(only(inst.tasks).id, by=WANG)


def test_wcp34_n_of_the_members_of_one_role() -> None:
    eng, inst = _to_board("{n_of: {members: ka_manager}, n: 2}")
    assert [t.candidates for t in inst.tasks] == [("wu",), ("zheng",), ("zhou",)]
    [opened] = [e.data for e in eng.history(inst.id) if e.type == "task_opened"][1:2]
    assert opened["people"] == ["wu", "zheng", "zhou"]  # resolved when it opened, recorded
    inst = eng.complete(inst.tasks[2].id, by=MEMBERS[2])
    assert len(inst.tasks) == 2
    inst = eng.complete(inst.tasks[0].id, by=MEMBERS[0])
    assert steps(inst.tasks) == ["after"]
    withdrawn = [e.data["why"] for e in eng.history(inst.id) if e.type == "task_withdrawn"]
    assert withdrawn == ["signed"]
    assert_replays(eng, inst.id)


@pytest.mark.parametrize(("rule", "signatures"), [("all_of", 3), ("any_of", 1)])
def test_all_of_and_any_of_the_members(rule: str, signatures: int) -> None:
    eng, inst = _to_board(f"{{{rule}: {{members: ka_manager}}}}")
    for member in MEMBERS[:signatures]:
        assert "after" not in steps(inst.tasks)
        inst = eng.complete(only(eng.tasks(user=member)).id, by=member)
    assert steps(inst.tasks) == ["after"]


def test_wcp17_40_members_sign_in_turn_in_the_set_order() -> None:
    eng, inst = _to_board("{in_turn: {members: ka_manager}}")
    for member in MEMBERS:
        task = only(inst.tasks)
        assert task.candidates == (member.id,)
        inst = eng.complete(task.id, by=member)
    assert steps(inst.tasks) == ["after"]
    # the directory changing later does not change who signs an open sign-off
    eng, inst = _to_board("{in_turn: {members: ka_manager}}")
    eng.directory = StaticDirectory({"ka_manager": ["someone_else"]})
    inst = eng.complete(only(inst.tasks).id, by=MEMBERS[0])
    assert only(inst.tasks).candidates == ("zheng",)
    assert_replays(eng, inst.id)


def test_wcp17_members_sign_one_at_a_time_in_any_order() -> None:
    eng, inst = _to_board("{in_turn: {members: ka_manager, order: any}}")
    assert only(inst.tasks).candidates == ("wu", "zheng", "zhou")
    inst = eng.complete(only(inst.tasks).id, by=MEMBERS[1])  # whoever comes first
    assert only(inst.tasks).candidates == ("wu", "zhou")  # one task at a time
    with pytest.raises(NotAllowed):
        eng.complete(only(inst.tasks).id, by=MEMBERS[1])
    inst = eng.complete(only(inst.tasks).id, by=MEMBERS[2])
    inst = eng.complete(only(inst.tasks).id, by=MEMBERS[0])
    assert steps(inst.tasks) == ["after"]
    assert_replays(eng, inst.id)


FAMILIAR = """
procflow: 1
id: FAMILIAR
title: 原經辦人
{org}
steps:
  - {id: draft, actor: market_manager}
  - {id: review, actor: pmm, not_by: draft, decide: {ok: next, revise: draft}}
  - {id: revise_budget, actor: {same_as: draft}}
  - {id: sign_off, actor: gm, not_by: [draft, review]}
"""


def test_wrp7_retain_familiar_is_enforced_across_send_back_loops() -> None:
    other = User("liu", {"market_manager"})
    eng = engine(FAMILIAR)
    inst = eng.start("FAMILIAR", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI)
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="revise")
    inst = eng.complete(only(inst.tasks).id, by=other)  # another drafter, the second round
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="ok")
    task = only(inst.tasks)
    assert (task.actor, task.assignee) == (("market_manager",), "liu")
    assert eng.tasks(user=LI) == []
    with pytest.raises(NotAllowed, match="assigned to liu"):
        eng.complete(task.id, by=LI)
    with pytest.raises(NotAllowed, match="whoever did 'draft'"):
        eng.delegate(task.id, by=other, to="li")
    inst = eng.complete(task.id, by=other)
    # not_by over several steps: neither drafter nor the reviewer may sign off
    boss = User("boss", {"gm", "pmm", "market_manager"})
    for user in (User("li", {"gm"}), User("liu", {"gm"}), User("wang", {"gm"})):
        with pytest.raises(NotAllowed, match="four-eyes"):
            eng.complete(only(inst.tasks).id, by=user)
    inst = eng.complete(only(inst.tasks).id, by=boss)
    assert inst.status == "completed"
    assert_replays(eng, inst.id)


QUOTES = """
procflow: 1
id: QUOTES
title: 報價
{org}
steps:
  - id: both
    parallel:
      - steps:
          - id: design_quote
            actor: ka_head
            withdraw_by: pmm
      - steps:
          - {id: budget, actor: gm, title: 預算審核}
          - id: cut
            title: 預算削減，不再等報價
            actor: pmm
            cancels: design_quote
  - {id: decide, actor: pmm}
"""


def test_wcp19_a_step_cancels_another_steps_open_tasks() -> None:
    eng = engine(QUOTES)
    inst = eng.start("QUOTES", by=QIAN)
    inst = eng.complete(only(inst.tasks, "budget").id, by=CHEN)
    inst = eng.complete(only(inst.tasks, "cut").id, by=WANG)  # stop waiting for the quote
    assert steps(inst.tasks) == ["decide"]
    [withdrawn] = [e for e in eng.history(inst.id) if e.type == "task_withdrawn"]
    assert withdrawn.data["why"] == "cancelled" and withdrawn.data["step"] == "cut"
    assert withdrawn.by == "wang"
    assert_replays(eng, inst.id)


def test_wcp19_withdraw_by_a_named_role_or_an_administrator() -> None:
    eng = engine(QUOTES, administrators={"procflow_admin"})
    inst = eng.start("QUOTES", by=QIAN)
    quote = only(inst.tasks, "design_quote")
    with pytest.raises(NotAllowed, match="pmm or procflow_admin"):
        eng.withdraw(quote.id, by=QIAN, reason="no longer needed")
    inst = eng.withdraw(quote.id, by=WANG, reason="the budget is cut")
    assert steps(inst.tasks) == ["budget"]
    [event] = [e for e in eng.history(inst.id) if e.type == "task_withdrawn"]
    assert (event.by, event.data) == (
        "wang",
        {
            "task": int(quote.id.rpartition(".")[2]),
            "why": "withdrawn",
            "reason": "the budget is cut",
        },
    )
    admin = User("root", {"procflow_admin"})
    inst = eng.withdraw(only(inst.tasks, "budget").id, by=admin, reason="test")
    assert steps(inst.tasks) == ["cut"]  # the branch went on along next
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert steps(inst.tasks) == ["decide"]  # both branches joined
    with pytest.raises(procflow.TaskNotOpen):
        eng.withdraw(quote.id, by=admin, reason="again")
    assert_replays(eng, inst.id)


ASK_ALL = """
procflow: 1
id: ASK
title: 徵詢
{org}
steps:
  - {id: announce, actor: pmm}
  - {id: answer, actor: ka_manager, for_each: member, wait: false}
  - {id: go_on, actor: pmm}
  - {id: close, actor: pmm}
"""


def test_wcp12_for_each_without_waiting() -> None:
    eng = engine(ASK_ALL, directory=BOARD)
    inst = eng.start("ASK", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert steps(inst.tasks) == ["answer", "answer", "answer", "go_on"]  # the flow went on
    inst = eng.complete(only(inst.tasks, "go_on").id, by=WANG)
    for member in MEMBERS[:2]:
        inst = eng.complete(only(eng.tasks(user=member)).id, by=member)
    inst = eng.complete(only(inst.tasks, "answer").id, by=MEMBERS[2])
    assert steps(inst.tasks) == ["close"]
    assert "thread_ended" in types(eng, inst.id)
    assert len(inst.snapshot.tokens) == 1  # the answers' thread ended
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert inst.status == "completed"
    assert_replays(eng, inst.id)


def test_wcp12_tasks_still_open_end_with_the_instance_and_say_so() -> None:
    eng = engine(ASK_ALL, directory=BOARD)
    inst = eng.start("ASK", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    inst = eng.complete(only(inst.tasks, "go_on").id, by=WANG)
    inst = eng.complete(only(inst.tasks, "close").id, by=WANG)
    assert (inst.status, inst.tasks) == ("completed", ())
    whys = [e.data["why"] for e in eng.history(inst.id) if e.type == "task_withdrawn"]
    assert whys == ["finished"] * 3
    assert_replays(eng, inst.id)


FIRST = """
procflow: 1
id: FIRST
title: 先到先行
{org}
steps:
  - id: quotes
    parallel:
      - steps: [{id: q1, actor: gm}, {id: q1b, actor: gm}]
      - steps: [{id: q2, actor: cto}]
      - steps: [{id: q3, actor: ka_head}]
    join: first
  - {id: choose, actor: pmm}
"""


def test_wcp8_9_join_first_goes_on_and_leaves_the_others_running() -> None:
    eng = engine(FIRST)
    inst = eng.start("FIRST", by=CHEN)
    inst = eng.complete(only(inst.tasks, "q2").id, by=SUN)
    assert steps(inst.tasks) == ["choose", "q1", "q3"]  # on at once, nothing withdrawn
    assert "task_withdrawn" not in types(eng, inst.id)
    inst = eng.complete(only(inst.tasks, "q3").id, by=QIAN)  # ends at the join
    inst = eng.complete(only(inst.tasks, "q1").id, by=CHEN)
    inst = eng.complete(only(inst.tasks, "q1b").id, by=CHEN)
    assert steps(inst.tasks) == ["choose"]  # no second continuation
    assert inst.snapshot.joins == {}  # the join ended with its last branch
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert inst.status == "completed"
    assert_replays(eng, inst.id)


def test_join_any_still_withdraws_the_others() -> None:
    eng = engine(FIRST.replace("join: first", "join: any"))
    inst = eng.start("FIRST", by=CHEN)
    inst = eng.complete(only(inst.tasks, "q2").id, by=SUN)
    assert steps(inst.tasks) == ["choose"]


PLAN = """
procflow: 1
id: PLAN
title: 部門計劃
{org}
documents:
  plan: {title: 計劃, fields: {level: number, sub: yesno}}
steps:
  - {id: write, actor: pmm, fills: plan}
  - id: sub_plan
    call: PLAN
    when: plan.sub
    carry: plan
  - {id: approve, actor: gm}
"""


def test_wcp22_a_process_calls_itself_while_a_condition_holds() -> None:
    eng = engine(PLAN)
    inst = eng.start("PLAN", by=WANG)
    ids = [inst.id]
    for level in (1, 2):
        inst = eng.complete(
            only(inst.tasks).id, by=WANG, data={"plan": {"level": level, "sub": True}}
        )
        [child] = inst.waiting_on
        ids.append(child)
        inst = eng.instance(child)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"plan": {"level": 3, "sub": False}})
    for iid in reversed(ids):
        inst = eng.complete(only(eng.instance(iid).tasks).id, by=CHEN)
    assert [eng.instance(i).status for i in ids] == ["completed"] * 3
    assert eng.instance(ids[2]).snapshot.parent.depth == 2  # type: ignore[union-attr]
    assert_replays(eng)


def test_wcp22_the_engine_stops_recursion_at_its_depth_limit() -> None:
    eng = engine(PLAN, max_depth=2)
    inst = eng.start("PLAN", by=WANG)
    deep = {"plan": {"level": 1, "sub": True}}
    for _ in range(2):
        inst = eng.instance(eng.complete(only(inst.tasks).id, by=WANG, data=deep).waiting_on[0])
    with pytest.raises(ExecutionError, match="3 calls deep, beyond the engine's limit of 2"):
        eng.complete(only(inst.tasks).id, by=WANG, data=deep)
    assert steps(eng.instance(inst.id).tasks) == ["write"]  # nothing changed


def test_n_of_members_with_too_few_members_is_an_error_that_changes_nothing() -> None:
    text = SIGNED_BY_MEMBERS.replace("RULE", "{n_of: {members: gm}, n: 2}")
    eng = engine(text, directory=BOARD)
    inst = eng.start("MEMBERS", by=WANG)
    with pytest.raises(ExecutionError, match="needs 2 signatures, but only chen"):
        eng.complete(only(inst.tasks).id, by=WANG)
    assert steps(eng.instance(inst.id).tasks) == ["propose"]
