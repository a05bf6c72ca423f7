"""Calls, hand-offs and versions: instances linked across processes, pinned to their definition."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import procflow
from procflow import Engine, ManualClock, NotAllowed, SQLiteStore
from tests.test_runtime_helpers import (
    CHEN,
    LI,
    T0,
    WANG,
    assert_replays,
    engine,
    only,
    process,
    steps,
    types,
)

PARENT = """
procflow: 1
id: PARENT
title: parent
{org}
documents:
  plan: {title: 計劃, fields: {budget: money}}
  report: {title: 報告, fields: {summary: text}}
steps:
  - {id: draft, actor: market_manager, fills: plan}
  - id: research
    call: CHILD
    carry: {brief: plan}
    returns: {report: findings}
  - {id: decide, actor: gm, reads: report}
  - handoff: NEXT
    carry: [plan]
"""
CHILD = """
procflow: 1
id: CHILD
title: child
{org}
documents:
  brief: {title: 簡報, fields: {budget: money}}
  findings: {title: 調研結果, fields: {summary: text}}
steps:
  - {id: study, actor: pmm, reads: brief, fills: findings}
"""
NEXT = """
procflow: 1
id: NEXT
title: next
{org}
documents:
  plan: {title: 計劃, fields: {budget: money}}
steps:
  - {id: execute, actor: market_manager, reads: plan}
"""


def test_call_waits_and_maps_documents_in_and_out() -> None:
    eng = engine(PARENT, CHILD, NEXT)
    inst = eng.start("PARENT", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"plan": {"budget": "900"}})
    assert inst.tasks == () and inst.status == "running"
    [child_id] = inst.waiting_on
    child = eng.instance(child_id)
    assert child.parent_id == inst.id
    assert child.documents == {"brief": {"budget": Decimal(900)}}
    child = eng.complete(only(child.tasks).id, by=WANG, data={"findings": {"summary": "市場很大"}})
    assert child.status == "completed"
    inst = eng.instance(inst.id)
    assert inst.waiting_on == ()
    assert inst.documents["report"] == {"summary": "市場很大"}
    assert steps(inst.tasks) == ["decide"]
    finished = [e.data for e in eng.history(inst.id) if e.type == "child_finished"]
    assert finished == [
        {
            "child": child.id,
            "token": 1,
            "result": "completed",
            "docs": {"report": {"summary": "市場很大"}},
        }
    ]
    inst = eng.complete(only(inst.tasks).id, by=CHEN)
    assert (inst.status, inst.result) == ("completed", "completed")
    [nxt] = inst.handed_off_to
    nxt_inst = eng.instance(nxt)
    assert (nxt_inst.process_id, nxt_inst.parent_id, nxt_inst.status) == (
        "NEXT",
        inst.id,
        "running",
    )
    assert nxt_inst.documents == {"plan": {"budget": Decimal(900)}}
    assert [t.step_id for t in eng.tasks(user=LI)] == ["execute"]
    assert_replays(eng)


def test_call_of_a_process_that_finishes_at_once() -> None:
    instant = """
    procflow: 1
    id: CHILD
    title: instant
    {org}
    documents:
      findings: {title: 調研結果, fields: {summary: {type: text, default: 無}}}
    steps:
      - {id: tell, notify: gm, message: done}
    """
    eng = engine(PARENT, instant, NEXT)
    inst = eng.start("PARENT", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"plan": {"budget": "1"}})
    assert steps(inst.tasks) == ["decide"]
    assert inst.documents["report"] == {"summary": "無"}
    assert "child_finished" in types(eng, inst.id)
    assert_replays(eng)


def test_cancel_cascades_to_the_called_instance_and_not_back() -> None:
    eng = engine(PARENT, CHILD, NEXT)
    inst = eng.start("PARENT", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"plan": {"budget": "900"}})
    [child_id] = inst.waiting_on
    with pytest.raises(NotAllowed, match="called by"):
        eng.cancel(child_id, by=LI, reason="x")
    eng.cancel(inst.id, by=LI, reason="stop")
    assert eng.instance(child_id).status == "cancelled"
    assert eng.store.open_tasks() == []
    assert_replays(eng)


def test_nested_calls_resume_each_parent() -> None:
    top = PARENT.replace("id: PARENT", "id: TOP").replace("call: CHILD", "call: PARENT")
    top = top.replace("carry: {brief: plan}", "carry: [plan]").replace(
        "returns: {report: findings}", "returns: [report]"
    )
    eng = engine(top, PARENT, CHILD, NEXT)
    inst = eng.start("TOP", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=LI, data={"plan": {"budget": "5"}})
    middle = eng.instance(inst.waiting_on[0])
    assert middle.documents["plan"] == {"budget": Decimal(5)}
    middle = eng.complete(only(middle.tasks).id, by=LI, data={"plan": {"budget": "6"}})
    child = eng.instance(middle.waiting_on[0])
    eng.complete(only(child.tasks).id, by=WANG, data={"findings": {"summary": "ok"}})
    middle = eng.instance(middle.id)
    eng.complete(only(middle.tasks).id, by=CHEN)
    inst = eng.instance(inst.id)
    assert inst.documents["report"] == {"summary": "ok"}
    assert steps(inst.tasks) == ["decide"]
    assert_replays(eng)


V1 = """
procflow: 1
id: VER
title: versions
version: "1"
{org}
steps:
  - {id: draft, actor: market_manager}
  - {id: review, actor: pmm}
"""
V2 = """
procflow: 1
id: VER
title: versions
version: "2"
{org}
steps:
  - {id: draft, actor: market_manager}
  - {id: extra, actor: gm}
  - {id: review, actor: pmm}
"""


def test_running_instances_keep_their_version(tmp_path: Path) -> None:
    path = tmp_path / "flows.db"
    with SQLiteStore(path) as store:
        eng = Engine({"VER": process(V1)}, store=store, clock=ManualClock(T0))
        old = eng.start("VER", by=LI)
        old_hash = old.definition_hash
    with SQLiteStore(path) as store:  # a new engine, after the YAML changed
        eng = Engine({"VER": process(V2)}, store=store, clock=ManualClock(T0))
        new = eng.start("VER", by=LI)
        assert new.definition_hash != old_hash and new.process_version == "2"
        old = eng.complete(only(eng.instance(old.id).tasks).id, by=LI)
        assert steps(old.tasks) == ["review"] and old.process_version == "1"
        new = eng.complete(only(new.tasks).id, by=LI)
        assert steps(new.tasks) == ["extra"]
        assert store.definitions("VER") == [old_hash, new.definition_hash]
        stored = json.loads(store.definition(old_hash))
        assert [s["id"] for s in stored["steps"]] == ["draft", "review"]
        assert eng.complete(only(old.tasks).id, by=WANG).status == "completed"
    # the rebuilt definition has the same hash
    rebuilt = procflow.flow.load.load_definition(stored)
    assert rebuilt.flow.definition_hash == old_hash


def test_update_catalog_switches_new_instances_only() -> None:
    eng = engine(V1)
    old = eng.start("VER", by=LI)
    eng.update_catalog({"VER": process(V2)})
    new = eng.start("VER", by=LI)
    assert steps(eng.complete(only(old.tasks).id, by=LI).tasks) == ["review"]
    assert steps(eng.complete(only(new.tasks).id, by=LI).tasks) == ["extra"]
