"""Per-person forms: a for-each step keeps one copy of its form per member or item.

Each copy is kept with who filled it and when; later steps read them all (in
conditions: size, all, exists, count, sum, first, last); reading one as if it
were a single form is a load-time error (PF408); the runtime, the snapshot's
JSON form (form 3), the history and the diagrams show them as copies.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import procflow
from procflow import FormCopy, InvalidSubmission, SQLiteStore, User
from procflow.flow.load import check_paths
from procflow.language.expr import (
    DATETIME,
    MONEY,
    NUMBER,
    TEXT,
    CollectionType,
    ListType,
    RecordType,
    Type,
    compile_expression,
)
from procflow.render import build_diagram
from procflow.runtime import StaticDirectory
from procflow.runtime.codec import FORM, decode, encode
from procflow.runtime.state import Copy
from procflow.store.base import state_json
from tests.test_runtime_helpers import T0, assert_replays, engine, only, process, steps

PLANS = """
procflow: 1
id: PLANS
title: 每位大客戶經理編制銷售計劃，大客戶部經理匯總
actors: {ka_manager: 大客戶經理, ka_head: 大客戶部經理, pmm: 產品市場部經理}
documents:
  plan:
    title: 銷售計劃表
    fields:
      total: {type: money, min: 0}
      note: {type: text, required: false, default: 無}
  summary:
    title: 匯總
    fields: {total: money}
  report:
    title: 日報
    copies: each
    fields: {text: text}
steps:
  - id: draft
    actor: ka_manager
    for_each: member
    fills: plan
    requires:
      - that: plan.total > 0
        message: 金額須大於零
  - id: consolidate
    actor: ka_head
    reads: plan
    fills: summary
    requires:
      - that: summary.total == sum(plan, p, p.total) && all(plan, p.total > 0)
        message: 匯總須等於各人之和
  - id: review
    actor: pmm
    decide: {approve: next, reject: draft}
  - id: daily
    actor: ka_head
    fills: report
    decide: {again: daily, done: next}
"""
WU, ZHENG = User("wu", {"ka_manager"}), User("zheng", {"ka_manager"})
ZHOU, WANG = User("zhou", {"ka_head"}), User("wang", {"pmm"})
MEMBERS = StaticDirectory({"ka_manager": ["wu", "zheng"]})


def draft(eng: procflow.Engine, user: User, total: str) -> procflow.Instance:
    task = only(eng.tasks(user=user), "draft")
    return eng.complete(task.id, by=user, data={"plan": {"total": total}})


def drafted(**options: Any) -> tuple[procflow.Engine, procflow.Instance]:
    """An instance where wu drafted 100 and zheng 200: at the consolidation."""
    eng = engine(PLANS, directory=MEMBERS, **options)
    eng.start("PLANS", by=WU)
    draft(eng, WU, "100")
    return eng, draft(eng, ZHENG, "200")


def test_each_member_fills_their_own_copy() -> None:
    eng = engine(PLANS, directory=MEMBERS)
    inst = eng.start("PLANS", by=WU)
    tasks = sorted(inst.tasks, key=lambda t: t.item)
    assert [(t.item, t.copies) for t in tasks] == [("wu", ("plan",)), ("zheng", ("plan",))]
    with pytest.raises(InvalidSubmission) as refused:  # requires reads the copy being filled
        draft(eng, WU, "0")
    assert refused.value.problems == {"requires[0]": "金額須大於零"}
    draft(eng, ZHENG, "160000")
    inst = draft(eng, WU, "30000.50")
    kept = inst.documents["plan"]
    assert [(c.of, c.by, c.step, c.values) for c in kept] == [
        ("zheng", "zheng", "draft", {"total": Decimal("160000.00"), "note": "無"}),
        ("wu", "wu", "draft", {"total": Decimal("30000.50"), "note": "無"}),
    ]
    assert all(isinstance(c, FormCopy) and isinstance(c.at, datetime) for c in kept)
    assert inst.copies("plan") == kept
    assert "plan" not in inst.snapshot.documents
    exported = procflow.to_json(inst)["copies"]["plan"]  # the JSON form shows them too
    assert [(c["of"], c["values"]["total"]) for c in exported] == [
        ("zheng", "160000"),  # the stored form, as for documents
        ("wu", "30000.50"),
    ]
    assert_replays(eng, inst.id)


def test_later_steps_read_every_copy_and_a_redraft_replaces_its_own() -> None:
    eng, inst = drafted()
    consolidate = only(inst.tasks)
    with pytest.raises(InvalidSubmission):
        eng.complete(consolidate.id, by=ZHOU, data={"summary": {"total": "200"}})  # only zheng's
    inst = eng.complete(consolidate.id, by=ZHOU, data={"summary": {"total": "300"}})
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="reject")
    assert steps(inst.tasks) == ["draft", "draft"]
    inst = draft(eng, WU, "150")
    assert [(c.of, c.values["total"]) for c in inst.documents["plan"]] == [
        ("wu", Decimal("150.00")),
        ("zheng", Decimal("200.00")),
    ]
    inst = draft(eng, ZHENG, "250")
    inst = eng.complete(only(inst.tasks).id, by=ZHOU, data={"summary": {"total": "400"}})
    assert steps(inst.tasks) == ["review"]
    assert_replays(eng, inst.id)


def _defaults(form: dict[str, Any], doc: str) -> dict[str, Any]:
    fields = form["properties"]["data"]["properties"][doc]["properties"]
    return {name: f.get("default") for name, f in fields.items()}


def test_a_redraft_opens_with_the_members_own_copy() -> None:
    eng, inst = drafted()
    inst = eng.complete(only(inst.tasks).id, by=ZHOU, data={"summary": {"total": "300"}})
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="reject")
    by_member = {t.item: t for t in inst.tasks}
    # each member's form shows what they drafted, not the other's, and not empty
    assert _defaults(eng.form(by_member["wu"].id), "plan") == {"total": "100", "note": "無"}
    assert _defaults(eng.form(by_member["zheng"].id), "plan") == {"total": "200", "note": "無"}
    # submitting only a change keeps the rest of the copy, as the form showed it
    inst = eng.complete(by_member["wu"].id, by=WU, data={"plan": {"note": "加推新品"}})
    wu = next(c for c in inst.documents["plan"] if c.of == "wu")
    assert wu.values == {"total": Decimal("100.00"), "note": "加推新品"}


def test_a_first_draft_and_a_new_submission_open_with_the_defaults() -> None:
    eng = engine(PLANS, directory=MEMBERS)
    inst = eng.start("PLANS", by=WU)
    assert _defaults(eng.form(inst.tasks[0].id), "plan") == {"total": None, "note": "無"}
    draft(eng, WU, "100")
    inst = draft(eng, ZHENG, "200")
    inst = eng.complete(only(inst.tasks).id, by=ZHOU, data={"summary": {"total": "300"}})
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="approve")
    inst = eng.complete(only(inst.tasks).id, by=ZHOU, data={"report": {"text": "一"}},
                        outcome="again")  # fmt: skip
    # `copies: each`: every submission is a new copy, so the form opens empty again
    assert _defaults(eng.form(only(inst.tasks).id), "report") == {"text": None}


def test_a_form_kept_per_submission_gets_a_new_copy_each_time() -> None:
    eng, inst = drafted()
    inst = eng.complete(only(inst.tasks).id, by=ZHOU, data={"summary": {"total": "300"}})
    inst = eng.complete(only(inst.tasks).id, by=WANG, outcome="approve")
    for text, outcome in (("週一", "again"), ("週二", "again"), ("週三", "done")):
        task = only(inst.tasks)
        assert task.copies == ("report",) and task.item is None
        inst = eng.complete(task.id, by=ZHOU, outcome=outcome, data={"report": {"text": text}})
    assert inst.status == "completed"
    assert [(c.of, c.by, c.values["text"]) for c in inst.documents["report"]] == [
        (None, "zhou", "週一"),
        (None, "zhou", "週二"),
        (None, "zhou", "週三"),
    ]
    completed = [e.data for e in eng.history(inst.id) if e.data.get("copies")]
    assert completed[-1] == {
        "task": completed[-1]["task"],
        "outcome": "done",
        "copies": {"report": {"text": "週三"}},
        "each": ["report"],
    }
    assert_replays(eng, inst.id)


def test_a_per_person_form_is_not_given_at_the_start() -> None:
    eng = engine(PLANS, directory=MEMBERS)
    with pytest.raises(InvalidSubmission) as refused:
        eng.start("PLANS", by=WU, data={"plan": {"total": "1"}})
    assert "per-person form" in refused.value.problems["plan"]


def test_copies_survive_a_sqlite_store(tmp_path: Path) -> None:
    first, inst = drafted(store=SQLiteStore(tmp_path / "s.db"))
    first.close()
    with engine(PLANS, directory=MEMBERS, store=SQLiteStore(tmp_path / "s.db")) as again:
        kept = again.instance(inst.id).documents["plan"]
        assert [(c.of, c.values["total"]) for c in kept] == [
            ("wu", Decimal("100.00")),
            ("zheng", Decimal("200.00")),
        ]
        assert state_json(again.store.load(inst.id)[1])["v"] == FORM == 3
        assert_replays(again, inst.id)


def test_the_codec_reads_form_2_without_copies_and_form_3_with_them() -> None:
    eng = engine(PLANS, directory=MEMBERS)
    inst = eng.start("PLANS", by=WU)
    inst = draft(eng, WU, "100")
    data = encode(inst.snapshot)
    assert data["copies"] == {
        "plan": [
            [
                "draft",
                "wu",
                "wu",
                inst.snapshot.copies["plan"][0].at,
                {"note": "無", "total": "100"},
            ]
        ]
    }
    assert decode(data) == inst.snapshot
    old = {k: v for k, v in data.items() if k != "copies"} | {"v": 2}
    assert decode(old).copies == {}
    assert decode(old)._replace(copies=inst.snapshot.copies) == inst.snapshot


def test_the_diagram_says_which_forms_are_kept_per_person() -> None:
    diagram = build_diagram(process(PLANS))
    notes = {n.beside: n.lines for n in diagram.nodes if n.shape == "docs"}
    assert notes["draft"] == ["填寫《銷售計劃表》（每人一份）"]
    assert notes["consolidate"] == ["填寫《匯總》", "參閱全部《銷售計劃表》（每人一份）"]
    assert notes["daily"] == ["填寫《日報》（每次一份）"]


# -- the expression language ---------------------------------------------------------

ITEM = RecordType(
    "plan",
    {
        "total": MONEY,
        "customers": ListType(TEXT),
        "filled_by": TEXT,
        "filled_at": DATETIME,
    },
)
ENV: dict[str, Type] = {"plan": CollectionType(ITEM), "summary": RecordType("summary", {})}
COPIES = (
    {"total": Decimal(100), "customers": ("甲", "乙"), "filled_by": "wu"},
    {"total": Decimal(250), "customers": (), "filled_by": "zheng"},
)


def value(text: str, copies: Any = COPIES) -> Any:
    compiled, issues = compile_expression(text, ENV, expect=None)
    assert compiled is not None, issues
    return compiled.evaluate({"plan": copies, "summary": {}})


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("size(plan)", 2),
        ("all(plan, p, p.total > 0)", True),
        ("all(plan, p.total > 100)", False),
        ("plan.all(p, p.total >= 100)", True),
        ("exists(plan, p, p.filled_by == 'zheng')", True),
        ("plan.exists(p, p.total > 300)", False),
        ("count(plan, p, size(p.customers) > 0)", 1),
        ("sum(plan, p, p.total)", Decimal(350)),
        ("sum(plan, p, sum(p.customers, c, 1))", 2),
        ("exists(plan, p, exists(p.customers, c, c == '乙'))", True),
        ("first(plan).filled_by", "wu"),
        ("last(plan).total", Decimal(250)),
        ("plan[1].filled_by", "zheng"),
    ],
)
def test_reading_the_copies(text: str, result: Any) -> None:
    assert value(text) == result


def test_the_macros_on_no_copies() -> None:
    assert value("all(plan, p, p.total > 0)", ()) is True
    assert value("exists(plan, p, p.total > 0)", ()) is False
    assert value("sum(plan, p, p.total)", ()) == 0
    with pytest.raises(procflow.EvaluationError, match="no item"):
        value("last(plan).total", ())


def test_sum_keeps_the_kind_of_money() -> None:
    compiled, _ = compile_expression("sum(plan, p, p.total)", ENV, expect=None)
    assert compiled is not None and compiled.type is MONEY
    compiled, _ = compile_expression("count(plan, p, true)", ENV, expect=None)
    assert compiled is not None and compiled.type is NUMBER


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("plan.total > 0", "PF408", "'plan' is a per-person form"),
        ("has(plan.total)", "PF408", "say which copy"),
        ("all(plan, p, p.total)", "PF403", "must be yes/no"),
        ("all(plan, p.total > q.total)", "PF403", "a name for each item"),
        ("all(plan, summary, true)", "PF407", "already names a document"),
        ("sum(plan, p, p.filled_by)", "PF403", "sum() adds numbers"),
        ("first(summary)", "PF403", "needs a list or a per-person form"),
        ("plan == plan", "PF403", "cannot be compared"),
    ],
)
def test_mistakes_are_located(text: str, code: str, message: str) -> None:
    compiled, issues = compile_expression(text, ENV, expect=None)
    assert compiled is None
    assert [i.code for i in issues] == [code]
    assert message in issues[0].message


def test_the_item_name_reads_no_document_and_is_not_recorded_as_one() -> None:
    compiled, _ = compile_expression("all(plan, p, p.total > 0)", ENV)
    assert compiled is not None
    assert compiled.names == frozenset({"plan"})


# -- load-time checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "why"),
    [
        (
            "- {id: grade, actor: ka_head, apply: [{table: T, inputs: {x: summary.total},"
            " outputs: {y: plan.total}}]}",
            "a decision table fills one form",
        ),
        ("- {call: OTHER, returns: {plan: plan}}", "the called process returns one"),
    ],
)
def test_a_per_person_form_where_one_form_is_needed(step: str, why: str, tmp_path: Path) -> None:
    text = PLANS.replace("  - id: daily\n", f"  {step}\n  - id: daily\n").replace(
        "steps:",
        "tables:\n  T: {title: t, inputs: {x: money}, outputs: {y: money},"
        " rules: [['-', '= x']]}\nsteps:",
    )
    other = "procflow: 1\nid: OTHER\ntitle: o\nactors: {a: a}\ndocuments: {plan: {title: p}}\n"
    (tmp_path / "PLANS.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "OTHER.yaml").write_text(other + "steps: [{actor: a}]\n", encoding="utf-8")
    _, problems = check_paths([tmp_path])
    assert any(d.code == "PF325" and why in d.message for d in problems), problems


def test_copy_records_in_order() -> None:
    copy = Copy("draft", "wu", "wu", T0.isoformat(), {"total": "1.00"})
    assert copy._fields == ("step", "of", "by", "at", "values")


def test_a_stored_definition_says_which_forms_are_per_person_ones() -> None:
    loaded = process(PLANS)
    assert set(loaded.flow.collections) == {"plan", "report"}
    assert loaded.flow.definition["documents"]["plan"]["copies"] == "per_task"
    again = procflow.flow.load.load_definition(loaded.flow.definition)
    assert again.flow.definition_hash == loaded.flow.definition_hash
    assert again.flow.collections == loaded.flow.collections
    # stored before per-person forms: the for-each step's form stays one shared form
    old = process(PLANS.replace("sum(plan, p, p.total) && all(plan, p.total > 0)", "1"))
    definition = dict(old.flow.definition)
    definition["documents"] = {
        **definition["documents"],
        "plan": {k: v for k, v in definition["documents"]["plan"].items() if k != "copies"},
    }
    assert set(procflow.flow.load.load_definition(definition).flow.collections) == {"report"}


GUARDED = """
procflow: 1
id: GUARDED
title: 簡報之後，其他大客戶經理各自編制計劃
actors: {ka_manager: 大客戶經理, ka_head: 大客戶部經理}
documents:
  plan:
    title: 銷售計劃表
    fields: {total: money}
  summary:
    title: 匯總
    fields: {total: money}
steps:
  - {id: brief, actor: ka_manager}
  - id: draft
    actor: ka_manager
    for_each: member
    not_by: brief
    WAIT
    fills: plan
  - id: consolidate
    actor: ka_head
    reads: plan
    fills: summary
    requires:
      - that: summary.total == sum(plan, p, p.total)
        message: 匯總須等於各人之和
"""


def test_a_member_four_eyes_leaves_out_gets_no_task_and_no_copy() -> None:
    eng = engine(GUARDED.replace("WAIT", ""), directory=MEMBERS)
    inst = eng.start("GUARDED", by=WU)
    inst = eng.complete(only(inst.tasks).id, by=WU)  # wu briefed: wu may not draft
    task = only(inst.tasks)
    assert (task.candidates, task.item, task.copies) == (("zheng",), "zheng", ("plan",))
    assert eng.tasks(user=WU) == []
    opened = [e.data for e in eng.history(inst.id) if e.type == "task_opened"][-1]
    assert opened["left_out"] == ["wu"]
    inst = draft(eng, ZHENG, "200")
    assert [(c.of, c.by, c.values) for c in inst.documents["plan"]] == [
        ("zheng", "zheng", {"total": Decimal("200.00")})
    ]
    task = only(inst.tasks, "consolidate")
    with pytest.raises(InvalidSubmission):  # the sum is over zheng's copy only
        eng.complete(task.id, by=ZHOU, data={"summary": {"total": "300"}})
    inst = eng.complete(task.id, by=ZHOU, data={"summary": {"total": "200"}})
    assert inst.status == "completed"
    assert_replays(eng, inst.id)


def test_a_for_each_that_does_not_wait_still_keeps_a_copy_per_member() -> None:
    eng = engine(GUARDED.replace("WAIT", "wait: false"), directory=MEMBERS)
    inst = eng.start("GUARDED", by=User("qian", {"ka_manager"}))
    inst = eng.complete(only(inst.tasks).id, by=User("qian", {"ka_manager"}))
    assert steps(inst.tasks) == ["consolidate", "draft", "draft"]  # the flow went on
    draft(eng, WU, "100")
    inst = draft(eng, ZHENG, "200")
    assert sorted((c.of, c.values["total"]) for c in inst.documents["plan"]) == [
        ("wu", Decimal("100.00")),
        ("zheng", Decimal("200.00")),
    ]
    assert [e.type for e in eng.history(inst.id)][-1] == "thread_ended"
    inst = eng.complete(only(inst.tasks).id, by=ZHOU, data={"summary": {"total": "300"}})
    assert inst.status == "completed"
    assert_replays(eng, inst.id)
