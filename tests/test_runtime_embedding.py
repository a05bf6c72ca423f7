"""What a web application needs of the Engine API: JSON forms, task forms, reassigning,
comments and attachments (issue 15, part 0)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

import procflow
from procflow import (
    Attachment,
    BlobNotFound,
    Engine,
    FileBlobStore,
    InvalidArgument,
    InvalidSubmission,
    ManualClock,
    MemoryStore,
    NotAllowed,
    Notification,
    StaticDirectory,
    Task,
    User,
    from_json,
    to_json,
)
from procflow.runtime import MemoryBlobStore, replay
from procflow.runtime.codec import decode

ROOT = Path(__file__).parent.parent
CATALOG = procflow.load_dir(ROOT / "processes")

LI = User("li", {"market_manager"})
WANG = User("wang", {"pmm"})
BOSS = User("boss", {"process_admin"})
STRANGER = User("x", {"cinema_manager"})
PROPOSAL = {"plan_type": "annual", "content": "調研", "method": "問卷", "budget": "86000.50"}


@pytest.fixture
def engine() -> Engine:
    return Engine(
        CATALOG,
        store=MemoryStore(strict=True),
        clock=ManualClock(datetime(2026, 3, 2, 9, 0)),
        administrators={"process_admin"},
        blobs=MemoryBlobStore(),
        directory=StaticDirectory({"market_manager": ["li"], "pmm": ["wang"]}),
    )


def drafted(engine: Engine) -> procflow.Instance:
    inst = engine.start("SC-001", by=LI)
    return engine.complete(inst.tasks[0].id, by=LI, data={"proposal": PROPOSAL})


# -- one JSON form for every result ---------------------------------------------------------


def test_every_result_has_a_json_form_that_round_trips(engine: Engine) -> None:
    inst = drafted(engine)
    [task] = engine.tasks(user=WANG)
    history = engine.history(inst.id)
    notice = Notification(
        "i", "P", "tell", ("gm",), ("chen",), "看看", "知會", datetime(2026, 1, 2)
    )
    engine.comment(inst.id, "請看預算", by=WANG)
    attached = engine.attach(inst.id, "預算.txt", b"86000.50", by=LI)
    for value in (task, *history, notice, attached):
        data = to_json(value)
        assert json.loads(json.dumps(data)) == data
        back = from_json(type(value), data)
        assert back == value
        assert to_json(back) == data
    shown = to_json(inst)
    assert json.loads(json.dumps(shown, ensure_ascii=False)) == shown
    assert shown["documents"]["proposal"]["budget"] == "86000.50"  # decimal text: exact
    assert shown["tasks"] == [to_json(task)]
    assert shown["started_at"] == "2026-03-02T09:00:00"
    assert to_json([task, task]) == [to_json(task)] * 2
    assert to_json({"a": Decimal("1.10"), "d": datetime(2026, 1, 2)}) == {
        "a": "1.10",
        "d": "2026-01-02T00:00:00",
    }


def test_json_forms_refuse_what_they_cannot_read(engine: Engine) -> None:
    inst = drafted(engine)
    with pytest.raises(InvalidArgument, match=r"engine\.instance"):
        from_json(procflow.Instance, to_json(inst))  # type: ignore[type-var]
    with pytest.raises(InvalidArgument, match="not the JSON form of a Task"):
        from_json(Task, {"id": "x"})
    with pytest.raises(InvalidArgument, match="set has no JSON form"):
        to_json({1, 2})


# -- the form of a task ---------------------------------------------------------------------


def test_form_of_a_task_whose_documents_come_from_the_organisation_file(engine: Engine) -> None:
    assert "proposal" not in CATALOG["SC-001"].documents  # it is the organisation file's
    inst = engine.start("SC-001", by=LI)
    form = engine.form(inst.tasks[0].id)
    jsonschema.Draft202012Validator.check_schema(form)
    proposal = form["properties"]["data"]["properties"]["proposal"]
    assert proposal["title"] == "市場調研策劃書"
    assert proposal["required"] == ["plan_type", "content", "method", "budget"]
    budget = proposal["properties"]["budget"]
    assert budget["title"] == "預算" and budget["x-procflow-type"] == "money"
    assert budget["x-procflow-minimum"] == "0" and budget["x-procflow-decimals"] == 2
    assert proposal["properties"]["plan_type"]["enum"] == [
        "annual", "monthly", "major_special", "routine"
    ]  # fmt: skip
    assert "outcome" not in form["properties"]  # drafting has no outcomes
    valid = {"data": {"proposal": PROPOSAL}}
    jsonschema.validate(valid, form)
    for bad in ("86,000", "1.234", "1e5", 12.5):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"data": {"proposal": {**PROPOSAL, "budget": bad}}}, form)
        with pytest.raises(InvalidSubmission) as refused:
            engine.complete(inst.tasks[0].id, by=LI, data={"proposal": {**PROPOSAL, "budget": bad}})
        assert list(refused.value.problems) == ["proposal.budget"]
    engine.complete(inst.tasks[0].id, by=LI, **valid)  # what the schema allows, the engine takes


def test_form_shows_outcomes_and_read_only_context(engine: Engine) -> None:
    drafted(engine)
    [task] = engine.tasks(user=WANG)
    form = engine.form(task.id)
    assert form["properties"]["outcome"]["enum"] == ["approve", "revise"]
    assert form["required"] == ["outcome"]
    context = form["properties"]["context"]
    assert context["readOnly"] is True
    shown = context["properties"]["proposal"]["properties"]
    assert shown["budget"]["default"] == "86000.50" and shown["content"]["default"] == "調研"
    assert form["properties"]["data"]["properties"] == {}
    assert form["x-procflow-step"] == "review" and form["title"] == "方案審批"


def test_form_of_line_items_dates_and_yes_no(engine: Engine) -> None:
    process = procflow.loads(
        """procflow: 1
id: F
title: 表單
actors: {clerk: 文員}
documents:
  order:
    title: 訂單
    fields:
      when: {type: date, title: 日期}
      rush: {type: yesno, title: 加急, required: false, default: false}
      who: {type: user, title: 經辦, required: false}
      tags: {type: list, of: text, required: false}
      items:
        type: list
        title: 明細
        fields:
          name: {type: text, title: 品名}
          price: {type: money, title: 單價, min: 0}
steps:
  - {id: fill, actor: clerk, fills: order}
"""
    )
    e = Engine({"F": process}, store=MemoryStore(strict=True))
    clerk = User("c", {"clerk"})
    inst = e.start("F", by=clerk)
    form = e.form(inst.tasks[0].id)
    order = form["properties"]["data"]["properties"]["order"]
    props = order["properties"]
    assert props["when"]["format"] == "date"
    assert props["rush"] == {
        "type": "boolean", "x-procflow-type": "yesno", "title": "加急", "default": False
    }  # fmt: skip
    items = props["items"]
    assert items["type"] == "array" and items["maxItems"] == 1000
    assert items["items"]["required"] == ["name", "price"]
    assert items["items"]["properties"]["price"]["x-procflow-type"] == "money"
    assert props["tags"]["items"]["type"] == "string"
    assert order["required"] == ["when", "items"]
    good = {"when": "2026-01-02", "items": [{"name": "筆", "price": "3.50"}]}
    jsonschema.validate({"data": {"order": good}}, form)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"data": {"order": {**good, "items": [{"name": "筆"}]}}}, form)
    assert e.complete(inst.tasks[0].id, by=clerk, data={"order": good}).status == "completed"


# -- reassigning ----------------------------------------------------------------------------


def test_an_administrator_reassigns_a_task_and_four_eyes_still_holds(engine: Engine) -> None:
    inst = drafted(engine)
    [task] = engine.tasks(user=WANG)
    with pytest.raises(NotAllowed, match="needs the role process_admin"):
        engine.reassign(task.id, to="zhang", by=WANG)
    with pytest.raises(NotAllowed, match="four-eyes"):
        engine.reassign(task.id, to=LI, by=BOSS)  # li drafted it
    moved = engine.reassign(task.id, to="zhang", by=BOSS)
    assert moved.assignee == "zhang"
    assert engine.tasks(user=WANG) == []
    assert [t.id for t in engine.tasks(user=User("zhang"))] == [task.id]
    last = engine.history(inst.id)[-1]
    assert (last.type, last.by, last.data) == (
        "task_reassigned", "boss", {"task": int(task.id.rsplit(".", 1)[1]), "to": "zhang",
                                    "from": None},
    )  # fmt: skip
    plain = Engine(CATALOG, store=engine.store)
    with pytest.raises(NotAllowed, match="names none"):
        plain.reassign(task.id, to="zhao", by=BOSS)


# -- comments and attachments ---------------------------------------------------------------


def test_comments_and_attachments_are_kept_in_history_and_replay(
    engine: Engine, tmp_path: Path
) -> None:
    inst = drafted(engine)
    engine.comment(inst.id, "  預算偏高  ", by=WANG)
    with pytest.raises(NotAllowed, match="not theirs to see"):
        engine.comment(inst.id, "hello", by=STRANGER)
    with pytest.raises(InvalidArgument, match="empty"):
        engine.comment(inst.id, "   ", by=WANG)
    a = engine.attach(inst.id, "報價.pdf", b"%PDF-1.4", by=LI, media_type="application/pdf")
    assert isinstance(a, Attachment) and a.size == 8 and a.blob.startswith("sha256-")
    assert engine.attachments(inst.id) == [a]
    assert engine.attachment(inst.id, a.blob, by=WANG) == b"%PDF-1.4"
    with pytest.raises(NotAllowed):
        engine.attachment(inst.id, a.blob, by=STRANGER)
    other = engine.start("SC-001", by=LI)
    with pytest.raises(BlobNotFound):
        engine.attachment(other.id, a.blob, by=LI)  # not this instance's file
    history = engine.history(inst.id)
    comment, attached = history[-2:]
    assert (comment.type, comment.by, comment.data) == ("commented", "wang", {"text": "預算偏高"})
    assert attached.type == "attached" and attached.data["name"] == "報價.pdf"
    assert attached.data["sha256"] == a.blob[7:]
    stored = decode(engine.store.load(inst.id)[1])
    assert (
        replay(history) == stored == engine.instance(inst.id).snapshot
    )  # the new events replay to the stored snapshot
    assert engine.instance(inst.id).tasks == inst.tasks  # and change no task


def test_attachments_have_a_size_limit_and_a_file_blob_store(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    e = Engine(CATALOG, store=MemoryStore(strict=True), blobs=blobs, max_attachment=4)
    inst = e.start("SC-001", by=LI)
    with pytest.raises(InvalidArgument, match="more than the 4 allowed"):
        e.attach(inst.id, "a.bin", b"12345", by=LI)
    with pytest.raises(InvalidArgument, match="bytes"):
        e.attach(inst.id, "a.bin", "text", by=LI)  # type: ignore[arg-type]
    a = e.attach(inst.id, "a.bin", b"1234", by=LI)
    assert blobs.get(a.blob) == b"1234" and blobs.put(b"1234") == a.blob
    assert list((tmp_path / "blobs").rglob("sha256-*")) == [
        tmp_path / "blobs" / a.blob[7:9] / a.blob
    ]
    with pytest.raises(BlobNotFound):
        blobs.get("../../etc/passwd")
    with pytest.raises(BlobNotFound):
        blobs.get("sha256-" + "0" * 64)


def test_a_store_passed_where_the_processes_go_is_named() -> None:
    with pytest.raises(InvalidArgument, match=r"not MemoryStore.*store="):
        Engine(MemoryStore())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("store", "memory:", r"store= takes a store, not str: pass procflow.open_store"),
        ("clock", 5, r"clock= takes an object with a now\(\) method, not int"),
        ("calendar", "cn", r"calendar= takes an object with a is_working_day\(\) method"),
        ("directory", {"pmm": ["wang"]}, r"directory= takes an object with a members\(\)"),
        ("hooks", print, r"hooks= takes an object with a task_opened\(\) method"),
    ],
)
def test_a_part_of_the_wrong_kind_is_named_when_the_engine_is_made(
    option: str, value: object, message: str
) -> None:
    processes = procflow.load_dir(Path(__file__).parent / "fixtures" / "valid")
    with pytest.raises(InvalidArgument, match=message):  # was an AttributeError at first use
        Engine(processes, **{option: value})  # type: ignore[arg-type]
