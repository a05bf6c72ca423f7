"""Concurrency and crashes on one SQLiteStore, at the level of engine commands.

Two threads, and two OS processes, complete the same task: exactly one wins, the
other gets Conflict or TaskNotOpen, and the history shows one completion. A
process streaming commands is killed: every acknowledged command is there,
and every instance replays to its snapshot.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import procflow
from procflow import Conflict, Engine, ManualClock, SQLiteStore, TaskNotOpen
from procflow.runtime import replay
from procflow.runtime.codec import decode
from tests.test_runtime_helpers import (
    LI,
    ORG,
    SEQUENCE,
    T0,
    WANG,
    acknowledged_then_killed,
    assert_replays,
    engine,
    only,
)

ROUNDS = 8
PROPOSAL = {"proposal": {"plan_type": "special", "budget": "10"}}


def _at_review(path: Path, count: int) -> list[str]:
    """Instances waiting at the review step; their review task ids."""
    with SQLiteStore(path) as store:
        eng = engine(SEQUENCE, store=store)
        ids = []
        for _ in range(count):
            inst = eng.start("SEQ", by=LI)
            inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
            ids.append(only(inst.tasks).id)
        return ids


def _one_completion_each(path: Path, task_ids: list[str], outcomes: list[list[str]]) -> None:
    for k in range(len(task_ids)):
        assert sorted(o[k] for o in outcomes) in (["conflict", "ok"], ["not open", "ok"])
    with SQLiteStore(path) as store:
        eng = engine(SEQUENCE, store=store)
        for task_id in task_ids:
            iid = task_id.rpartition(".")[0]
            number = int(task_id.rpartition(".")[2])
            done = [
                e
                for e in eng.history(iid)
                if e.type == "task_completed" and e.data["task"] == number
            ]
            assert len(done) == 1
            assert_replays(eng, iid)


def _attempt(eng: Engine, task_id: str) -> str:
    try:
        eng.complete(task_id, by=WANG, outcome="approve")
    except Conflict:
        return "conflict"
    except TaskNotOpen:
        return "not open"
    return "ok"


@pytest.mark.parametrize("shared_engine", [True, False])
def test_racing_threads_exactly_one_wins(tmp_path: Path, shared_engine: bool) -> None:
    path = tmp_path / "flows.db"
    task_ids = _at_review(path, ROUNDS)
    store = SQLiteStore(path)
    engines = (
        [engine(SEQUENCE, store=store)] * 2
        if shared_engine
        else [engine(SEQUENCE, store=SQLiteStore(path)) for _ in range(2)]
    )
    for eng in engines:  # warm the caches: both start from the same snapshot
        for task_id in task_ids:
            eng.task(task_id)
    outcomes: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def worker(n: int) -> None:
        for task_id in task_ids:
            barrier.wait()
            outcomes[n].append(_attempt(engines[n], task_id))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    _one_completion_each(path, task_ids, outcomes)
    assert "conflict" in outcomes[0] + outcomes[1] or "not open" in outcomes[0] + outcomes[1]
    for eng in engines:
        eng.close()


def _race_worker(path: str, yaml_text: str, task_ids: list[str], barrier: Any, out: Any) -> None:
    store = SQLiteStore(path, timeout=30)
    eng = Engine({"SEQ": procflow.loads(yaml_text)}, store=store, clock=ManualClock(T0))
    for task_id in task_ids:
        eng.task(task_id)
    results = []
    for task_id in task_ids:
        barrier.wait()
        results.append(_attempt(eng, task_id))
    out.put((os.getpid(), results))


@pytest.mark.slow
def test_racing_processes_exactly_one_wins(tmp_path: Path) -> None:
    from textwrap import dedent

    path = tmp_path / "flows.db"
    task_ids = _at_review(path, ROUNDS)
    text = dedent(SEQUENCE).replace("{org}", dedent(ORG))
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_race_worker, args=(str(path), text, task_ids, barrier, out))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    got = [out.get(timeout=120)[1] for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    _one_completion_each(path, task_ids, got)


_STREAMER = """
import sys
import procflow
from procflow import Engine, ManualClock, SQLiteStore, User
from datetime import datetime

path, yaml_path, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
eng = Engine({"SEQ": procflow.load(yaml_path)}, store=SQLiteStore(path),
             clock=ManualClock(datetime(2026, 3, 2, 9)), new_id=lambda: f"i{n}")
li, wang = User("li", {"market_manager"}), User("wang", {"pmm"})
n = first
while True:
    inst = eng.start("SEQ", by=li, command_id=f"s{n}")
    print(f"s{n}", flush=True)
    inst = eng.complete(inst.tasks[0].id, by=li, command_id=f"d{n}",
                        data={"proposal": {"plan_type": "routine", "budget": "1"}})
    print(f"d{n}", flush=True)
    eng.complete(inst.tasks[0].id, by=wang, outcome="approve", command_id=f"r{n}")
    print(f"r{n}", flush=True)
    n += 1
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_killed_engine_loses_no_acknowledged_command(tmp_path: Path) -> None:
    from textwrap import dedent

    path = tmp_path / "flows.db"
    yaml_path = tmp_path / "seq.yaml"
    yaml_path.write_text(dedent(SEQUENCE).replace("{org}", dedent(ORG)), encoding="utf-8")
    acked: list[str] = []
    for round_, wait_for in enumerate([4, 11, 17]):
        args = (str(path), str(yaml_path), str(round_ * 1000))
        acked += acknowledged_then_killed(_STREAMER, *args, lines=wait_for)
        with SQLiteStore(path) as store:
            for command_id in acked:
                assert store.command_result(command_id) is not None, command_id
            eng = Engine({"SEQ": procflow.load(yaml_path)}, store=store, clock=ManualClock(T0))
            for row in store.instances():
                state = store.load(row.instance_id)[1]
                assert replay(store.events(row.instance_id)) == decode(state)
                rows = store.open_tasks(instance_id=row.instance_id)
                assert sorted(t.task_id for t in rows) == sorted(
                    t.id for t in eng.instance(row.instance_id).tasks
                )
            assert len(store.instances(status="completed")) >= sum(
                1 for c in acked if c.startswith("r")
            )
