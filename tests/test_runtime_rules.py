"""Who may do what, what data is accepted, and that a refused command changes nothing."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import procflow
from procflow import (
    Engine,
    InvalidSubmission,
    NotAllowed,
    ProcessNotFound,
    TaskNotOpen,
    User,
)
from procflow.store.base import state_json
from tests.test_runtime_helpers import (
    CHEN,
    LI,
    SEQUENCE,
    WANG,
    assert_replays,
    engine,
    only,
    steps,
    stored,
)

PROPOSAL = {"proposal": {"plan_type": "special", "budget": "1200.50"}}


def observable(eng: Engine) -> Any:
    """Everything a failed command must leave alone, copied (a MemoryStore shares snapshots)."""
    rows = eng.store.instances()
    return (
        rows,
        [copy.deepcopy(stored(eng.store, r.instance_id)) for r in rows],
        [eng.history(r.instance_id) for r in rows],
        eng.store.open_tasks(),
        eng.store.due_timers("9999"),
    )


def test_start_needs_the_first_steps_role_or_starts_by() -> None:
    eng = engine(SEQUENCE)
    with pytest.raises(NotAllowed, match="market_manager"):
        eng.start("SEQ", by=WANG)
    assert eng.store.instances() == []
    with pytest.raises(ProcessNotFound, match="SEQ"):
        eng.start("NOPE", by=LI)
    with pytest.raises(TypeError):
        eng.start("SEQ", by="li")  # type: ignore[arg-type]


def test_only_role_holders_complete() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    task = only(inst.tasks)
    before = observable(eng)
    with pytest.raises(NotAllowed, match="market_manager"):
        eng.complete(task.id, by=CHEN, data=PROPOSAL)
    assert observable(eng) == before
    assert eng.tasks(user=CHEN) == []
    assert [t.id for t in eng.tasks(user=LI)] == [task.id]


def test_four_eyes_refuses_the_drafter() -> None:
    eng = engine(SEQUENCE)
    both = User("li2", {"market_manager", "pmm"})
    inst = eng.start("SEQ", by=both)
    inst = eng.complete(only(inst.tasks).id, by=both, data=PROPOSAL)
    review = only(inst.tasks)
    assert eng.tasks(user=both) == []  # not in the drafter's inbox either
    before = observable(eng)
    with pytest.raises(NotAllowed, match="four-eyes"):
        eng.complete(review.id, by=both, outcome="approve")
    with pytest.raises(NotAllowed, match="four-eyes"):
        eng.delegate(review.id, by=WANG, to=both)
    assert observable(eng) == before
    assert eng.complete(review.id, by=WANG, outcome="approve").tasks[0].step_id == "gm_review"


def test_four_eyes_remembers_every_drafter_of_a_loop() -> None:
    eng = engine(SEQUENCE)
    other = User("liu", {"market_manager", "pmm"})
    inst = eng.start("SEQ", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=other, data=PROPOSAL)
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="revise")
    inst = eng.complete(only(inst.tasks).id, by=LI)
    with pytest.raises(NotAllowed, match="four-eyes"):
        eng.complete(only(inst.tasks).id, by=other, outcome="approve")


def test_invalid_submission_lists_every_bad_field_and_stores_nothing() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    task = only(inst.tasks)
    before = observable(eng)
    with pytest.raises(InvalidSubmission) as info:
        eng.complete(
            task.id,
            by=LI,
            data={
                "proposal": {"plan_type": "anual", "budget": -5, "colour": "red"},
                "memo": {"x": 1},
            },
        )
    problems = info.value.problems
    assert set(problems) == {"proposal.plan_type", "proposal.budget", "proposal.colour", "memo"}
    assert "annual" in problems["proposal.plan_type"]  # did you mean
    assert "at least 0" in problems["proposal.budget"]
    assert observable(eng) == before
    with pytest.raises(InvalidSubmission) as info:
        eng.complete(task.id, by=LI, data={"proposal": {"content": "x"}})
    assert info.value.problems == {
        "proposal.plan_type": "is required",
        "proposal.budget": "is required",
    }
    assert observable(eng) == before


@pytest.mark.parametrize(
    ("outcome", "message"),
    [(None, "choose one of: approve, revise, stop"), ("maybe", "is not an outcome")],
)
def test_outcome_is_checked(outcome: str | None, message: str) -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
    with pytest.raises(InvalidSubmission, match=message):
        eng.complete(only(inst.tasks).id, by=WANG, outcome=outcome)


def test_data_for_a_document_the_step_does_not_fill_is_refused() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
    with pytest.raises(InvalidSubmission, match="does not fill"):
        eng.complete(only(inst.tasks).id, by=WANG, outcome="approve", data=PROPOSAL)


TYPES = """
procflow: 1
id: TYPES
title: types
{org}
documents:
  form:
    title: 表
    fields:
      amount: {type: money, max: 1000}
      rate: {type: percent, required: false}
      count: {type: number, required: false}
      day: {type: date, required: false}
      at: {type: datetime, required: false}
      ok: {type: yesno, required: false}
      kind: {type: choice, of: [a, b], required: false}
      tags: {type: list, of: text, required: false}
      lines: {type: list, fields: {name: text, price: money}, required: false}
      who: {type: user, required: false}
steps:
  - {id: fill, actor: pmm, fills: form}
"""


def test_values_are_coerced_by_type() -> None:
    eng = engine(TYPES)
    inst = eng.start("TYPES", by=WANG)
    data = {
        "form": {
            "amount": "0.10",
            "rate": 85,
            "count": Decimal("2.5"),
            "day": "2026-03-02",
            "at": "2026-03-02T10:30:00",
            "ok": True,
            "kind": "a",
            "tags": ["x", "y"],
            "lines": [{"name": "pen", "price": "1.20"}],
            "who": WANG,
        }
    }
    inst = eng.complete(only(inst.tasks).id, by=WANG, data=data)
    form = inst.documents["form"]
    assert form["amount"] + Decimal("0.20") == Decimal("0.30")
    assert form["rate"] == Decimal(85) and form["count"] == Decimal("2.5")
    assert form["day"] == date(2026, 3, 2)
    assert form["at"].hour == 10
    assert form["tags"] == ("x", "y")
    assert form["lines"] == ({"name": "pen", "price": Decimal("1.20")},)
    assert form["who"] == "wang"
    stored = state_json(eng.store.load(inst.id)[1])["documents"]["form"]
    assert stored["amount"] == "0.10" and stored["day"] == "2026-03-02"


def test_bad_values_are_all_reported() -> None:
    eng = engine(TYPES)
    inst = eng.start("TYPES", by=WANG)
    bad = {
        "form": {
            "amount": 0.1,
            "rate": "lots",
            "count": True,
            "day": "2026-02-30",
            "at": 5,
            "ok": "yes",
            "kind": "c",
            "tags": "x",
            "lines": [{"name": "pen"}, {"name": 3, "price": "1", "extra": 1}],
            "who": "",
        }
    }
    with pytest.raises(InvalidSubmission) as info:
        eng.complete(only(inst.tasks).id, by=WANG, data=bad)
    assert set(info.value.problems) == {
        "form.amount",
        "form.rate",
        "form.count",
        "form.day",
        "form.at",
        "form.ok",
        "form.kind",
        "form.tags",
        "form.lines[0].price",
        "form.lines[1].name",
        "form.lines[1].extra",
        "form.who",
    }
    assert "float" in info.value.problems["form.amount"]
    with pytest.raises(InvalidSubmission, match="at most 1000"):
        eng.complete(only(inst.tasks).id, by=WANG, data={"form": {"amount": "1000.01"}})
    with pytest.raises(InvalidSubmission, match="should map"):
        eng.complete(only(inst.tasks).id, by=WANG, data=["form"])  # type: ignore[arg-type]


def test_start_data_is_checked_and_defaults_apply() -> None:
    eng = engine(
        TYPES.replace("ok: {type: yesno, required: false}", "ok: {type: yesno, default: false}")
    )
    with pytest.raises(InvalidSubmission, match=r"form\.amount"):
        eng.start("TYPES", by=WANG, data={"form": {"amount": "x"}})
    inst = eng.start("TYPES", by=WANG, data={"form": {"amount": "5"}})
    assert inst.documents == {"form": {"ok": False, "amount": Decimal(5)}}


def test_done_or_unknown_tasks_are_not_open() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    task = only(inst.tasks)
    eng.complete(task.id, by=LI, data=PROPOSAL)
    for task_id in (task.id, "nope", "nope.1", f"{inst.id}.99", f"{inst.id}.x"):
        with pytest.raises(TaskNotOpen):
            eng.complete(task_id, by=LI, data=PROPOSAL)
        with pytest.raises(TaskNotOpen):
            eng.task(task_id)


def test_command_id_makes_retries_idempotent() -> None:
    eng = engine(SEQUENCE)
    first = eng.start("SEQ", by=LI, command_id="start-1")
    again = eng.start("SEQ", by=LI, command_id="start-1")
    assert again.id == first.id and len(eng.store.instances()) == 1
    task = only(first.tasks)
    done = eng.complete(task.id, by=LI, data=PROPOSAL, command_id="c-1")
    retried = eng.complete(task.id, by=LI, data=PROPOSAL, command_id="c-1")
    assert retried.id == done.id and retried.version == done.version
    assert [e.type for e in eng.history(done.id)].count("task_completed") == 1


def test_claim_takes_the_task_out_of_other_inboxes() -> None:
    eng = engine(SEQUENCE)
    other = User("liu", {"market_manager"})
    inst = eng.start("SEQ", by=LI)
    task = eng.claim(only(inst.tasks).id, by=LI)
    assert task.assignee == "li"
    assert eng.claim(task.id, by=LI) == task  # claiming again changes nothing
    assert eng.tasks(user=other) == []
    with pytest.raises(NotAllowed, match="assigned to li"):
        eng.claim(task.id, by=other)
    with pytest.raises(NotAllowed):
        eng.complete(task.id, by=other, data=PROPOSAL)
    eng.complete(task.id, by=LI, data=PROPOSAL)


def test_delegate_hands_the_task_to_one_person() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
    review = only(inst.tasks)
    with pytest.raises(NotAllowed):
        eng.delegate(review.id, by=CHEN, to="zhou")
    task = eng.delegate(review.id, by=WANG, to="zhou")
    assert task.assignee == "zhou"
    assert eng.tasks(user=WANG) == []
    zhou = User("zhou")  # holds no role: the delegate acts for the role holder
    assert [t.id for t in eng.tasks(user=zhou)] == [review.id]
    with pytest.raises(NotAllowed):
        eng.complete(review.id, by=WANG, outcome="approve")
    inst = eng.complete(review.id, by=zhou, outcome="approve")
    assert steps(inst.tasks) == ["gm_review"]
    assert_replays(eng, inst.id)


def test_cancel() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    with pytest.raises(NotAllowed):
        eng.cancel(inst.id, by=CHEN, reason="not mine")
    inst = eng.cancel(inst.id, by=LI, reason="plan dropped")
    assert (inst.status, inst.tasks) == ("cancelled", ())
    assert eng.store.open_tasks() == []
    assert eng.history(inst.id)[-1].data == {"reason": "plan dropped"}
    with pytest.raises(procflow.ExecutionError, match="already cancelled"):
        eng.cancel(inst.id, by=LI, reason="again")
    with pytest.raises(procflow.InstanceNotFound):
        eng.cancel("nope", by=LI, reason="x")
    assert_replays(eng, inst.id)


def test_history_says_who_did_what_when() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
    done = [e for e in eng.history(inst.id) if e.type == "task_completed"]
    assert [(e.by, e.at, e.data["data"]) for e in done] == [
        ("li", "2026-03-02T09:00:00", {"proposal": {"plan_type": "special", "budget": "1200.50"}})
    ]
    assert [e.seq for e in eng.history(inst.id)] == [1, 2, 3, 4]
