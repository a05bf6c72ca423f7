"""Every construct of the language runs, with the behaviour users of BPMN engines expect."""

from __future__ import annotations

import copy
import pathlib
from decimal import Decimal

import pytest

import procflow
from procflow import Engine, EvaluationError, MemoryStore, SQLiteStore, User
from procflow.runtime import StaticDirectory
from tests.test_runtime_helpers import (
    CHEN,
    FIXTURES,
    LI,
    QIAN,
    SEQUENCE,
    SUN,
    T0,
    WANG,
    ZHAO,
    Recorder,
    assert_replays,
    engine,
    only,
    steps,
    stored,
    types,
)

PROPOSAL = {"proposal": {"plan_type": "special", "budget": "1200.50"}}


def test_sequence_decision_loop_and_end_result() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
    inst = eng.complete(only(inst.tasks, "review").id, by=WANG, outcome="revise")
    assert steps(inst.tasks) == ["draft"]
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"proposal": {"budget": 1300}})
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="approve")
    inst = eng.complete(only(inst.tasks, "gm_review").id, by=CHEN)
    assert (inst.status, inst.result, inst.tasks) == ("completed", "approved", ())
    assert inst.documents == {"proposal": {"plan_type": "special", "budget": Decimal(1300)}}
    assert isinstance(inst.documents["proposal"]["budget"], Decimal)
    assert_replays(eng, inst.id)


def test_other_outcome_goes_to_its_end() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="stop")
    assert (inst.status, inst.result) == ("completed", "rejected")


def test_skip_rule_is_recorded_with_its_condition() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    routine = {"proposal": {"plan_type": "routine", "budget": "10"}}
    inst = eng.complete(only(inst.tasks).id, by=LI, data=routine)
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="approve")
    assert inst.status == "completed"
    [skip] = [e for e in eng.history(inst.id) if e.type == "step_skipped"]
    assert skip.data == {"step": "gm_review", "when": 'proposal.plan_type != "routine"'}


def test_falling_off_the_end_completes() -> None:
    eng = engine(
        """
        procflow: 1
        id: ONE
        title: one
        {org}
        steps:
          - {id: a, actor: pmm}
        """
    )
    inst = eng.start("ONE", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert (inst.status, inst.result) == ("completed", "completed")


BRANCH = """
procflow: 1
id: BR
title: branch
{org}
documents:
  pay: {title: 付款, fields: {amount: money, kind: {type: choice, of: [a, b]}}}
steps:
  - {id: ask, actor: pmm, fills: pay}
  - id: route
    branch:
      - {if: pay.amount > 2000, goto: big}
      - {if: 'pay.kind == "a"', goto: small}
      - otherwise: other
  - {id: big, actor: gm, next: finish}
  - {id: small, actor: cto, next: finish}
  - {id: other, actor: ka_head}
  - {id: finish, end: done}
"""


@pytest.mark.parametrize(
    ("amount", "kind", "step"),
    [("3000", "a", "big"), ("100", "a", "small"), ("100", "b", "other"), ("2000", "b", "other")],
)
def test_branch_takes_the_first_arm_that_holds(amount: str, kind: str, step: str) -> None:
    eng = engine(BRANCH)
    inst = eng.start("BR", by=WANG)
    inst = eng.complete(
        only(inst.tasks).id, by=WANG, data={"pay": {"amount": amount, "kind": kind}}
    )
    assert steps(inst.tasks) == [step]
    [taken] = [e.data for e in eng.history(inst.id) if e.type == "branched"]
    assert taken["to"] == step


def test_missing_value_at_run_time_fails_cleanly() -> None:
    eng = engine(
        """
        procflow: 1
        id: MISS
        title: missing
        {org}
        documents:
          pay: {title: 付款, fields: {amount: {type: money, required: false}}}
        steps:
          - {id: ask, actor: pmm, fills: pay}
          - id: route
            branch:
              - {if: pay.amount > 2000, goto: big}
              - otherwise: next
          - {id: small, actor: cto}
          - {id: big, actor: gm}
        """
    )
    inst = eng.start("MISS", by=WANG)
    task = only(inst.tasks)
    before = (copy.deepcopy(stored(eng.store, inst.id)), eng.history(inst.id))
    with pytest.raises(EvaluationError, match=r"pay\.amount"):
        eng.complete(task.id, by=WANG, data={"pay": {}})
    assert (stored(eng.store, inst.id), eng.history(inst.id)) == before
    assert only(eng.tasks(user=WANG)).id == task.id
    inst = eng.complete(task.id, by=WANG, data={"pay": {"amount": "5000"}})
    assert steps(inst.tasks) == ["big"]


PARALLEL = """
procflow: 1
id: PAR
title: parallel
{org}
documents:
  brief: {title: 簡報, fields: {own: yesno}}
steps:
  - {id: start, actor: pmm, fills: brief}
  - id: research
    parallel:
      - title: one
        steps:
          - {id: a1, actor: gm}
          - {id: a2, actor: cto}
      - title: two
        steps:
          - {id: b1, actor: ka_head}
      - title: three
        when: brief.own
        steps:
          - {id: c1, actor: market_manager}
    join: JOIN
  - {id: after, actor: pmm}
"""


def test_parallel_join_all_waits_for_every_live_branch() -> None:
    eng = engine(PARALLEL.replace("JOIN", "all"))
    inst = eng.start("PAR", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"brief": {"own": True}})
    assert steps(inst.tasks) == ["a1", "b1", "c1"]
    inst = eng.complete(only(inst.tasks, "b1").id, by=QIAN)
    inst = eng.complete(only(inst.tasks, "a1").id, by=CHEN)
    inst = eng.complete(only(inst.tasks, "c1").id, by=LI)
    assert steps(inst.tasks) == ["a2"]
    inst = eng.complete(only(inst.tasks, "a2").id, by=SUN)
    assert steps(inst.tasks) == ["after"]
    assert inst.status == "running"
    assert_replays(eng, inst.id)


def test_skipped_branch_never_blocks_the_join() -> None:
    eng = engine(PARALLEL.replace("JOIN", "all"))
    inst = eng.start("PAR", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"brief": {"own": False}})
    assert steps(inst.tasks) == ["a1", "b1"]
    [fork] = [e.data for e in eng.history(inst.id) if e.type == "forked"]
    assert fork["skipped"] == [2]
    inst = eng.complete(only(inst.tasks, "a1").id, by=CHEN)
    inst = eng.complete(only(inst.tasks, "a2").id, by=SUN)
    inst = eng.complete(only(inst.tasks, "b1").id, by=QIAN)
    assert steps(inst.tasks) == ["after"]


def test_join_any_withdraws_the_other_branches() -> None:
    eng = engine(PARALLEL.replace("JOIN", "any"))
    inst = eng.start("PAR", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"brief": {"own": True}})
    inst = eng.complete(only(inst.tasks, "b1").id, by=QIAN)
    assert steps(inst.tasks) == ["after"]
    withdrawn = [e.data["why"] for e in eng.history(inst.id) if e.type == "task_withdrawn"]
    assert withdrawn == ["join", "join"]
    assert eng.tasks(user=CHEN) == []
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert inst.status == "completed"
    assert_replays(eng, inst.id)


def test_parallel_with_every_branch_skipped_goes_straight_on() -> None:
    eng = engine(
        """
        procflow: 1
        id: PSKIP
        title: p
        {org}
        documents:
          brief: {title: 簡報, fields: {own: yesno}}
        steps:
          - {id: s, actor: pmm, fills: brief}
          - id: p
            parallel:
              - {when: brief.own, steps: [{id: x, actor: gm}]}
              - {when: brief.own, steps: [{id: y, actor: cto}]}
          - {id: t, actor: pmm}
        """
    )
    inst = eng.start("PSKIP", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"brief": {"own": False}})
    assert steps(inst.tasks) == ["t"]


SIGN = """
procflow: 1
id: SIGN
title: sign
{org}
steps:
  - {id: draft, actor: market_manager}
  - id: countersign
    sign: RULE
    reject: draft
  - {id: after, actor: pmm}
"""
SIGNERS = {"gm": CHEN, "cto": SUN, "ka_head": QIAN, "pmm": WANG}


def _to_signoff(rule: str) -> tuple[Engine, procflow.Instance]:
    eng = engine(SIGN.replace("RULE", rule))
    inst = eng.start("SIGN", by=LI)
    return eng, eng.complete(only(inst.tasks).id, by=LI)


def test_all_of_needs_everyone() -> None:
    eng, inst = _to_signoff("{all_of: [gm, cto, ka_head]}")
    assert sorted(t.actor for t in inst.tasks) == [("cto",), ("gm",), ("ka_head",)]
    for task in inst.tasks[:2]:
        inst = eng.complete(task.id, by=SIGNERS[task.actor[0]])
        assert "after" not in steps(inst.tasks)
    inst = eng.complete(only(inst.tasks).id, by=QIAN, outcome="sign")
    assert steps(inst.tasks) == ["after"]


def test_any_of_completes_at_once_and_withdraws_the_rest() -> None:
    eng, inst = _to_signoff("{any_of: [gm, cto, ka_head]}")
    inst = eng.complete(inst.tasks[1].id, by=SUN)
    assert steps(inst.tasks) == ["after"]
    hist = eng.history(inst.id)
    assert [e.data["why"] for e in hist if e.type == "task_withdrawn"] == ["signed", "signed"]


def test_n_of_m_completes_when_enough_signed() -> None:
    eng, inst = _to_signoff("{n_of: [gm, cto, ka_head], n: 2}")
    inst = eng.complete(inst.tasks[0].id, by=CHEN)
    assert len(inst.tasks) == 2
    inst = eng.complete(inst.tasks[0].id, by=SUN)
    assert steps(inst.tasks) == ["after"]


def test_in_turn_asks_one_signer_at_a_time() -> None:
    eng, inst = _to_signoff("{in_turn: [gm, cto, ka_head]}")
    for user in (CHEN, SUN, QIAN):
        task = only(inst.tasks)
        assert task.actor == tuple(user.roles)
        inst = eng.complete(task.id, by=user)
    assert steps(inst.tasks) == ["after"]


def test_reject_withdraws_the_others_and_follows_reject() -> None:
    eng, inst = _to_signoff("{all_of: [gm, cto, ka_head]}")
    inst = eng.complete(inst.tasks[0].id, by=CHEN)
    inst = eng.complete(inst.tasks[0].id, by=SUN, outcome="reject")
    assert steps(inst.tasks) == ["draft"]
    hist = eng.history(inst.id)
    assert [e.data["why"] for e in hist if e.type == "task_withdrawn"] == ["rejected"]
    # the second round starts afresh
    inst = eng.complete(only(inst.tasks).id, by=LI)
    assert len(inst.tasks) == 3
    assert_replays(eng, inst.id)


def test_one_person_signs_once_even_with_two_roles() -> None:
    eng, inst = _to_signoff("{all_of: [gm, cto]}")
    both = User("boss", {"gm", "cto"})
    inst = eng.complete(inst.tasks[0].id, by=both)
    with pytest.raises(procflow.NotAllowed, match="already signed"):
        eng.complete(inst.tasks[0].id, by=both)
    assert eng.tasks(user=both) == []


FOR_EACH = """
procflow: 1
id: EACH
title: each
{org}
documents:
  survey:
    title: 調研
    fields:
      customers: {type: list, of: text}
      visits: {type: list, fields: {who: text, cost: money}, required: false}
steps:
  - {id: plan, actor: market_manager, fills: {survey: [customers]}}
  - {id: drafts, actor: ka_manager, for_each: member}
  - {id: visit, actor: market_manager, for_each: survey.customers}
  - {id: sum, actor: pmm}
"""


def test_for_each_member_and_list_item() -> None:
    directory = StaticDirectory({"ka_manager": ["wu", "zheng"]})
    eng = engine(FOR_EACH, directory=directory)
    inst = eng.start("EACH", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"survey": {"customers": ["甲", "乙"]}})
    assert sorted(t.candidates for t in inst.tasks) == [("wu",), ("zheng",)]
    wu, zheng = User("wu", {"ka_manager"}), User("zheng", {"ka_manager"})
    assert [t.candidates for t in eng.tasks(user=wu)] == [("wu",)]
    with pytest.raises(procflow.NotAllowed):
        eng.complete(eng.tasks(user=wu)[0].id, by=zheng)
    inst = eng.complete(eng.tasks(user=wu)[0].id, by=wu)
    assert steps(inst.tasks) == ["drafts"]
    inst = eng.complete(eng.tasks(user=zheng)[0].id, by=zheng)
    assert sorted(t.item for t in inst.tasks) == ["乙", "甲"]
    for task in inst.tasks:
        inst = eng.complete(task.id, by=LI)
    assert steps(inst.tasks) == ["sum"]
    assert_replays(eng, inst.id)


def test_for_each_with_nothing_to_do_is_skipped() -> None:
    eng = engine(FOR_EACH, directory=StaticDirectory())
    inst = eng.start("EACH", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"survey": {"customers": []}})
    assert steps(inst.tasks) == ["sum"]
    whys = [e.data["why"] for e in eng.history(inst.id) if e.type == "step_skipped"]
    assert whys == ["no one holds ka_manager", "survey.customers has no items"]


def test_for_each_member_needs_a_directory() -> None:
    eng = engine(FOR_EACH)
    inst = eng.start("EACH", by=LI)
    with pytest.raises(procflow.ExecutionError, match="directory"):
        eng.complete(only(inst.tasks).id, by=LI, data={"survey": {"customers": ["甲"]}})
    assert steps(eng.instance(inst.id).tasks) == ["plan"]


def test_optional_step_may_be_skipped() -> None:
    eng = engine(
        """
        procflow: 1
        id: OPT
        title: optional
        {org}
        documents:
          r: {title: 報告, fields: {text: text}}
        steps:
          - {id: training, actor: pmm, optional: true, fills: r}
          - {id: next_one, actor: gm}
        """
    )
    inst = eng.start("OPT", by=WANG)
    assert only(inst.tasks).outcomes == ("skip",) and only(inst.tasks).optional
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="skip")  # no data needed
    assert steps(inst.tasks) == ["next_one"]
    assert not only(inst.tasks).optional
    inst2 = eng.start("OPT", by=WANG)
    with pytest.raises(procflow.InvalidSubmission, match=r"r\.text"):
        eng.complete(only(inst2.tasks).id, by=WANG)


def test_notify_does_not_wait_and_reaches_the_hook() -> None:
    hooks = Recorder()
    eng = engine(
        """
        procflow: 1
        id: NOTE
        title: notify
        {org}
        steps:
          - {id: a, actor: pmm}
          - {id: tell, notify: [gm, cto], message: 服務已完成}
          - {id: b, actor: gm}
        """,
        hooks=hooks,
        directory=StaticDirectory({"gm": ["chen"], "cto": ["sun"]}),
    )
    inst = eng.start("NOTE", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG)
    assert steps(inst.tasks) == ["b"]
    [notice] = hooks.kinds("notify")
    assert (notice.roles, notice.recipients, notice.message) == (
        ("gm", "cto"),
        ("chen", "sun"),
        "服務已完成",
    )
    assert notice.at == T0
    assert hooks.kinds("opened") == ["a", "b"]
    eng.complete(only(inst.tasks).id, by=CHEN)
    assert hooks.kinds("finished") == ["completed"]


def test_a_failing_hook_does_not_break_the_command(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Recorder):
        def task_opened(self, task: procflow.Task) -> None:
            raise RuntimeError("mail server down")

    eng = engine(SEQUENCE, hooks=Broken())
    inst = eng.start("SEQ", by=LI)
    assert steps(inst.tasks) == ["draft"]
    assert "mail server down" in caplog.text
    assert eng.instance(inst.id).version == 2


def test_assignee_from_data() -> None:
    eng = engine(
        """
        procflow: 1
        id: ASG
        title: assignee
        {org}
        documents:
          req: {title: 申請, fields: {engineer: user}}
        steps:
          - {id: ask, actor: pmm, fills: req}
          - {id: fix, actor: ka_head, assignee: req.engineer}
        """
    )
    inst = eng.start("ASG", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"req": {"engineer": "zhou"}})
    task = only(inst.tasks)
    assert task.assignee == "zhou"
    assert eng.tasks(user=QIAN) == []  # the role alone no longer suffices
    zhou = User("zhou")
    assert [t.id for t in eng.tasks(user=zhou)] == [task.id]
    assert eng.complete(task.id, by=zhou).status == "completed"


def test_everything_fixture_runs_to_the_end() -> None:
    catalog = procflow.load_dir(FIXTURES)
    directory = StaticDirectory({"ka_manager": ["wu"]})
    eng = Engine(catalog, clock=procflow.ManualClock(T0), directory=directory)
    ask = User("ask", {"ka_head"})
    inst = eng.start("EVERYTHING", by=ask)
    data = {
        "request": {
            "kind": "service",
            "amount": "5000",
            "customers": ["甲"],
            "urgent": True,
            "engineer": "zhou",
            "due_on": "2026-03-31",
        }
    }
    inst = eng.complete(only(inst.tasks).id, by=ask, data=data)
    assert only(inst.tasks).due is not None
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="ok")
    for user in (ZHAO, User("fin", {"finance"}), CHEN):  # in turn
        inst = eng.complete(only(inst.tasks, "big").id, by=user)
    assert steps(inst.tasks) == ["each_ka", "visit"]
    inst = eng.complete(only(inst.tasks, "visit").id, by=LI)
    inst = eng.complete(only(inst.tasks, "each_ka").id, by=User("wu", {"ka_manager"}))
    inst = eng.complete(only(inst.tasks, "summary").id, by=User("zhou"))
    customer = User("cust", {"customer"})
    with pytest.raises(procflow.InvalidSubmission, match="必須由顧客簽字並評價"):
        eng.complete(
            only(inst.tasks).id, by=customer, data={"record": {"signed": False, "rating": 3}}
        )
    inst = eng.complete(
        only(inst.tasks).id, by=customer, data={"record": {"signed": True, "rating": 5}}
    )
    inst = eng.complete(inst.tasks[0].id, by=CHEN)  # board: 2 of 3
    inst = eng.complete(inst.tasks[0].id, by=SUN)
    inst = eng.complete(inst.tasks[0].id, by=CHEN)  # anyone: any of gm, cto
    # notify, then a call to NEXT: the parent waits for it
    assert inst.status == "running" and inst.tasks == ()
    [child_id] = inst.waiting_on
    child = eng.instance(child_id)
    assert (child.process_id, child.parent_id) == ("NEXT", inst.id)
    eng.complete(only(child.tasks).id, by=LI)
    inst = eng.instance(inst.id)
    assert (inst.status, inst.result) == ("completed", "approved")
    [handed] = inst.handed_off_to
    assert eng.instance(handed).parent_id == inst.id
    assert types(eng, inst.id).count("task_completed") == 12
    assert_replays(eng)


GRADED = """
procflow: 1
id: GRADED
title: graded
{org}
documents:
  appraisal:
    title: 考核
    fields:
      score: {type: number, min: 0, max: 100}
      grade: {type: choice, of: [A, B, C], required: false}
tables:
  GRADE:
    title: 評定
    hit: first
    inputs:
      score: {type: number, min: 0, max: 100}
    outputs:
      grade: {type: choice, of: [A, B, C]}
    rules:
      - [">= 90", A]
      - [">= 70", B]
      - ["< 70", C]
steps:
  - id: interview
    actor: pmm
    fills: {appraisal: [score]}
    apply:
      - table: GRADE
        inputs: {score: appraisal.score}
        outputs: {grade: appraisal.grade}
  - id: confirm
    actor: gm
    reads: appraisal
    when: appraisal.grade != "C"
"""


@pytest.mark.parametrize(("score", "grade", "next_steps"), [(95, "A", ["confirm"]), (50, "C", [])])
def test_apply_fills_fields_from_a_decision_table(
    score: int, grade: str, next_steps: list[str]
) -> None:
    eng = engine(GRADED)
    inst = eng.start("GRADED", by=WANG)
    inst = eng.complete(only(inst.tasks).id, by=WANG, data={"appraisal": {"score": score}})
    assert inst.documents["appraisal"] == {"score": Decimal(score), "grade": grade}
    [decided] = [e.data for e in eng.history(inst.id) if e.type == "decided"]
    assert decided == {
        "step": "interview",
        "table": "GRADE",
        "docs": {"appraisal": {"grade": grade}},
    }
    assert steps(inst.tasks) == next_steps
    assert_replays(eng, inst.id)


MANY = """
procflow: 1
id: MANY
title: many
{org}
steps:
  - {id: plan, actor: market_manager}
  - id: drafts
    actor: ka_manager
    for_each: member
    deadline: {due: 3 days, remind: 1 day before}
  - {id: sum, actor: pmm}
"""


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_for_each_with_many_members_keeps_order_and_replays(
    kind: str, tmp_path: pathlib.Path
) -> None:
    members = [f"k{i:03}" for i in range(300)]
    store = MemoryStore(strict=True) if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    with engine(MANY, store=store, directory=StaticDirectory({"ka_manager": members})) as eng:
        inst = eng.start("MANY", by=LI)
        inst = eng.complete(only(inst.tasks).id, by=LI)
        assert [t.candidates[0] for t in inst.tasks] == members  # in the order they opened
        assert len(eng.store.due_timers("9999")) == 600
        for i, member in enumerate(reversed(members)):
            task = only(eng.tasks(user=User(member, {"ka_manager"})))
            inst = eng.complete(task.id, by=User(member, {"ka_manager"}))
            if i in (0, 150):
                assert len(inst.tasks) == 299 - i
                assert [t.task_id for t in eng.store.open_tasks(instance_id=inst.id)] == [
                    t.id for t in inst.tasks
                ]
                assert len(eng.store.due_timers("9999")) == 2 * (299 - i)
        assert steps(inst.tasks) == ["sum"]
        assert eng.store.due_timers("9999") == []
        [token] = inst.snapshot.tokens.values()
        assert token.done_by == ()  # a for-each's completers are not kept with its token
        assert_replays(eng, inst.id)
