"""Bounded loops: a way back taken at most N times, then somewhere else, with no copied steps.

A limit is written where the way is (a decision's outcome, ``next:``, a
sign-off's ``reject:``, a branch arm): ``{to: draft, at_most: 3, end:
refused}``. The count is in the instance's state and history (``looped``,
``loop_exhausted``), the diagram labels the way and the way past it, and
scenario coverage asks to see the limit reached.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from procflow import User, to_json
from procflow.flow.load import check_paths
from procflow.render import build_diagram
from procflow.runtime.codec import decode, encode
from procflow.testing.coverage import measure, required
from tests.test_runtime_helpers import assert_replays, engine, only, process, types

SENT_BACK = """
procflow: 1
id: BACK
title: 退回最多三次
actors: {clerk: 文員, boss: 主管}
documents: {req: {title: 申請, fields: {text: text}}}
steps:
  - id: draft
    actor: clerk
    fills: req
  - id: review
    actor: boss
    decide:
      approve: next
      revise: {to: draft, at_most: 3, end: refused}
  - id: countersign
    sign: {all_of: [boss]}
    reject: {to: review, at_most: 1, then: pay}
  - id: visit
    actor: clerk
  - id: more
    branch:
      - if: req.text == "again"
        goto: {to: visit, at_most: 2, then: pay}
      - otherwise: next
  - id: note
    actor: clerk
    next: {to: visit, at_most: 1, then: pay}
  - id: pay
    actor: boss
"""
CLERK, BOSS = User("li", {"clerk"}), User("wang", {"boss"})


def test_a_decision_sent_back_more_than_allowed_ends_with_the_result() -> None:
    eng = engine(SENT_BACK)
    inst = eng.start("BACK", by=CLERK)
    for round_ in range(1, 5):
        inst = eng.complete(only(inst.tasks).id, by=CLERK, data={"req": {"text": f"第{round_}稿"}})
        inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="revise")
        if round_ <= 3:
            assert [t.step_id for t in inst.tasks] == ["draft"]
            assert inst.loops == {"review>draft": round_}
    assert (inst.status, inst.result) == ("completed", "refused")
    history = eng.history(inst.id)
    assert types(eng, inst.id).count("looped") == 3
    exhausted = [e.data for e in history if e.type == "loop_exhausted"]
    assert exhausted == [{"step": "review", "to": "review@refused", "at_most": 3}]
    assert decode(encode(inst.snapshot)) == inst.snapshot
    assert encode(inst.snapshot)["loops"] == {"review>draft": 3}
    assert_replays(eng, inst.id)


def test_a_rejection_a_branch_arm_and_a_next_back_edge_are_limited_too() -> None:
    eng = engine(SENT_BACK)
    inst = eng.start("BACK", by=CLERK)
    inst = eng.complete(only(inst.tasks).id, by=CLERK, data={"req": {"text": "again"}})
    inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="approve")
    inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="reject")  # once: back
    assert [t.step_id for t in inst.tasks] == ["review"]
    inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="approve")
    inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="reject")  # twice: on to pay
    assert [t.step_id for t in inst.tasks] == ["pay"]
    assert inst.loops == {"countersign>review": 1}
    inst = eng.start("BACK", by=CLERK)
    inst = eng.complete(only(inst.tasks).id, by=CLERK, data={"req": {"text": "again"}})
    inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="approve")
    inst = eng.complete(only(inst.tasks).id, by=BOSS)
    for _ in range(2):  # the arm goes back twice
        inst = eng.complete(only(inst.tasks, "visit").id, by=CLERK)
    inst = eng.complete(only(inst.tasks, "visit").id, by=CLERK)  # the third time: on to pay
    assert [t.step_id for t in inst.tasks] == ["pay"]
    assert inst.loops == {"more>visit": 2}
    assert_replays(eng)


def test_a_next_back_edge_counts_its_way() -> None:
    eng = engine(SENT_BACK)
    inst = eng.start("BACK", by=CLERK)
    inst = eng.complete(only(inst.tasks).id, by=CLERK, data={"req": {"text": "once"}})
    inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="approve")
    inst = eng.complete(only(inst.tasks).id, by=BOSS)
    inst = eng.complete(only(inst.tasks).id, by=CLERK)  # visit; the arm says next: note
    inst = eng.complete(only(inst.tasks, "note").id, by=CLERK)  # back to visit, once
    inst = eng.complete(only(inst.tasks, "visit").id, by=CLERK)
    inst = eng.complete(only(inst.tasks, "note").id, by=CLERK)  # past the limit: pay
    assert [t.step_id for t in inst.tasks] == ["pay"]
    assert inst.loops == {"note>visit": 1}
    assert to_json(inst)["loops"] == {"note>visit": 1}  # the JSON form an embedder reads


def test_the_diagram_shows_each_limit_and_the_way_past_it() -> None:
    diagram = build_diagram(process(SENT_BACK))
    labels = {(e.src, e.dst): e.label for e in diagram.edges if e.label}
    assert labels[("review", "draft")] == "退回修改（至多3次）"  # the outcome in Chinese
    assert labels[("review", "review@refused")] == "退回修改超過3次"
    assert labels[("countersign@signed", "pay")] == "駁回超過1次"
    assert labels[("countersign@signed", "review")] == "駁回（退回，至多1次）"
    assert labels[("note", "visit")] == "退回，至多1次"  # one label, not two brackets in a row
    assert labels[("note", "pay")] == "超過1次"
    english = build_diagram(process(SENT_BACK), language="en")
    said = {(e.src, e.dst): e.label for e in english.edges if e.label}
    assert said[("review", "draft")] == "revise (sent back, at most 3 times)"
    assert said[("countersign@signed", "review")] == "reject (sent back, at most 1 time)"
    assert said[("note", "visit")] == "sent back, at most 1 time"
    assert said[("countersign@signed", "pay")] == "reject more than 1 time"
    assert any(n.id == "review@refused" and n.shape == "end" for n in diagram.nodes)


def test_coverage_asks_to_see_every_limit_reached() -> None:
    flow_process = process(SENT_BACK)
    items = [i for i in required(flow_process) if "limit reached" in i]
    assert items == [
        "review: limit reached, on to review@refused",
        "countersign: limit reached, on to pay",
        "more: limit reached, on to pay",
        "note: limit reached, on to pay",
    ]
    eng = engine(SENT_BACK)
    inst = eng.start("BACK", by=CLERK)
    for _ in range(4):
        inst = eng.complete(only(inst.tasks).id, by=CLERK, data={"req": {"text": "x"}})
        inst = eng.complete(only(inst.tasks).id, by=BOSS, outcome="revise")
    seen = measure({"BACK": flow_process}, {"BACK": [eng.history(inst.id)]})["BACK"]
    assert seen.items["review: limit reached, on to review@refused"]
    assert not seen.items["note: limit reached, on to pay"]


@pytest.mark.parametrize(
    ("step", "code", "message"),
    [
        (
            "decide: {approve: {to: next, at_most: 2, then: pay}, revise: draft}",
            "PF326",
            "never leads back",
        ),
        (
            "decide: {approve: next, redo: draft, revise: {to: draft, at_most: 2, end: x}}",
            "PF326",
            "written more than once",
        ),
        ("decide: {approve: next, revise: {to: draft, at_most: 2, then: nowhere}}", "PF301", ""),
        ("decide: {approve: next, revise: {to: draft, at_most: 2}}", "PF203", "past the limit"),
        ("decide: {approve: next, revise: {to: draft, at_most: 0, end: x}}", "PF203", ""),
    ],
)
def test_mistakes_in_limits(step: str, code: str, message: str, tmp_path: Path) -> None:
    text = (
        "procflow: 1\nid: L\ntitle: l\nactors: {a: a}\nsteps:\n"
        f"  - {{id: draft, actor: a}}\n  - {{id: review, actor: a, {step}}}\n"
        "  - {id: pay, actor: a}\n"
    )
    (tmp_path / "L.yaml").write_text(text, encoding="utf-8")
    _, problems = check_paths([tmp_path / "L.yaml"])
    assert [d.code for d in problems if d.is_error] == [code], problems
    assert message in problems[0].message
