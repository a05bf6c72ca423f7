"""Stores written by procflow 0.1 still open, read and replay, and their instances go on.

``fixtures/stores/procflow-0.1.sqlite`` was written by procflow 0.1 (commit
c34773e) running thirteen of the customer's scenarios on SQLite stores;
``procflow-0.1.json`` is what 0.1's engine said of every instance in it
(status, documents, open tasks...), and ``processes-0.1/`` the definitions
they ran. The snapshots in it are of form 1 (`procflow.runtime.codec`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import procflow
from procflow import Engine, SQLiteStore, User
from procflow.runtime import replay
from procflow.runtime.codec import FORM, decode

FIXTURES = Path(__file__).parent / "fixtures" / "stores"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "procflow-0.1.json").read_text(encoding="utf-8")
)


def plain(value: Any) -> Any:
    """The JSON form the fixture's expectations were written in."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    return value


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    copy = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "procflow-0.1.sqlite", copy)
    catalog = procflow.load_dir(FIXTURES / "processes-0.1")
    with Engine(catalog, store=SQLiteStore(copy)) as eng:
        yield eng


def test_the_fixture_holds_old_snapshots() -> None:
    assert len(EXPECTED) >= 20
    assert {"running", "completed"} <= {v["status"] for v in EXPECTED.values()}
    assert sum(len(v["tasks"]) for v in EXPECTED.values()) >= 5


def test_every_instance_reads_as_it_did(engine: Engine) -> None:
    for iid, want in EXPECTED.items():
        _, stored = engine.store.load(iid)
        assert "v" not in stored  # form 1, as 0.1 wrote it
        inst = engine.instance(iid)
        got = {
            "process": inst.process_id,
            "status": inst.status,
            "result": inst.result,
            "version": inst.version,
            "started_by": inst.started_by,
            "parent": inst.parent_id,
            "handed_off_to": list(inst.handed_off_to),
            "waiting_on": list(inst.waiting_on),
            "documents": plain(inst.documents),
            "tasks": [
                plain(
                    {
                        "id": t.id,
                        "step": t.step_id,
                        "kind": t.kind,
                        "actor": t.actor,
                        "outcomes": t.outcomes,
                        # in the order of the fields; a definition read back from the
                        # store (per-person forms changed the hash of the files with
                        # for-each forms) lists them sorted, as its JSON keeps them
                        "fills": {d: sorted(f) for d, f in t.fills.items()},
                        "due": t.due,
                        "assignee": t.assignee,
                        "candidates": t.candidates,
                        "item": t.item,
                        "opened_at": t.opened_at,
                        "overdue": t.overdue,
                    }
                )
                for t in inst.tasks
            ],
        }
        tasks = [
            {**t, "fills": {d: sorted(f) for d, f in t["fills"].items()}} for t in want["tasks"]
        ]
        assert got == {**want, "tasks": tasks}, iid


def test_old_histories_replay_to_their_snapshots(engine: Engine) -> None:
    for iid in EXPECTED:
        version, stored = engine.store.load(iid)
        events = engine.history(iid)
        assert len(events) == version
        assert replay(events) == decode(stored), iid


def test_old_instances_go_on_and_are_stored_in_the_new_form(engine: Engine) -> None:
    moved = 0
    for iid, want in EXPECTED.items():
        for task in want["tasks"]:
            if task["fills"] or task["candidates"] or task["assignee"]:
                continue
            user = User("tester", roles={task["actor"][0]})
            outcome = task["outcomes"][0] if task["outcomes"] else None
            after = engine.complete(task["id"], by=user, outcome=outcome)
            assert after.version > want["version"]
            version, stored = engine.store.load(iid)
            assert stored["v"] == FORM
            assert replay(engine.history(iid)) == decode(stored)
            assert version == after.version
            moved += 1
    assert moved >= 2
