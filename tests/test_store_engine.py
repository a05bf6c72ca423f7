"""Engine commands through every shared store: concurrency, crashes and deadlines.

Threads, and OS processes each with its own Engine, complete the same task:
exactly one wins, the others get Conflict or TaskNotOpen, and the history
shows one completion. A process streaming commands is killed: every
acknowledged command is there, and every instance replays to its snapshot.
Several processes tick at once: each due timer fires exactly once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

import procflow
from procflow import Conflict, Engine, ManualClock, TaskNotOpen
from procflow.errors import DamagedRecord
from procflow.runtime import replay
from procflow.runtime.codec import decode
from tests.conftest import Backend
from tests.test_runtime_deadlines import DEADLINE
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
RACERS = 3
PROPOSAL = {"proposal": {"plan_type": "special", "budget": "10"}}


def _at_review(backend: Backend, count: int) -> list[str]:
    """Instances waiting at the review step; their review task ids."""
    with backend.open() as store:
        eng = engine(SEQUENCE, store=store)
        ids = []
        for _ in range(count):
            inst = eng.start("SEQ", by=LI)
            inst = eng.complete(only(inst.tasks).id, by=LI, data=PROPOSAL)
            ids.append(only(inst.tasks).id)
        return ids


def _one_completion_each(backend: Backend, task_ids: list[str], outcomes: list[list[str]]) -> None:
    for k in range(len(task_ids)):
        mine = sorted(o[k] for o in outcomes)
        assert mine.count("ok") == 1
        assert set(mine) - {"ok"} <= {"conflict", "not open"}
    with backend.open() as store:
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
def test_racing_threads_exactly_one_wins(shared_backend: Backend, shared_engine: bool) -> None:
    task_ids = _at_review(shared_backend, ROUNDS)
    engines = (
        [engine(SEQUENCE, store=shared_backend.open())] * 2
        if shared_engine
        else [engine(SEQUENCE, store=shared_backend.open()) for _ in range(2)]
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
    _one_completion_each(shared_backend, task_ids, outcomes)
    assert "conflict" in outcomes[0] + outcomes[1] or "not open" in outcomes[0] + outcomes[1]
    for eng in engines:
        eng.close()


def _race_worker(url: str, yaml_text: str, task_ids: list[str], barrier: Any, out: Any) -> None:
    store = procflow.open_store(url, timeout=30)
    eng = Engine({"SEQ": procflow.loads(yaml_text)}, store=store, clock=ManualClock(T0))
    for task_id in task_ids:
        eng.task(task_id)
    results = []
    for task_id in task_ids:
        barrier.wait()
        results.append(_attempt(eng, task_id))
    out.put((os.getpid(), results))


@pytest.mark.slow  # several OS processes
def test_racing_processes_exactly_one_wins(shared_backend: Backend) -> None:
    task_ids = _at_review(shared_backend, ROUNDS)
    text = dedent(SEQUENCE).replace("{org}", dedent(ORG))
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(RACERS), ctx.Queue()
    args = (shared_backend.url, text, task_ids, barrier, out)
    workers = [ctx.Process(target=_race_worker, args=args) for _ in range(RACERS)]
    for w in workers:
        w.start()
    got = [out.get(timeout=120)[1] for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    _one_completion_each(shared_backend, task_ids, got)


_STREAMER = """
import sys
import procflow
from procflow import Engine, ManualClock, User
from datetime import datetime

url, yaml_path, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
eng = Engine({"SEQ": procflow.load(yaml_path)}, store=procflow.open_store(url),
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


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
@pytest.mark.slow  # several OS processes
def test_killed_engine_loses_no_acknowledged_command(
    shared_backend: Backend, tmp_path: Path
) -> None:
    yaml_path = tmp_path / "seq.yaml"
    yaml_path.write_text(dedent(SEQUENCE).replace("{org}", dedent(ORG)), encoding="utf-8")
    acked: list[str] = []
    for round_, wait_for in enumerate([4, 11, 17]):
        args = (shared_backend.url, str(yaml_path), str(round_ * 1000))
        acked += acknowledged_then_killed(_STREAMER, *args, lines=wait_for)
        with shared_backend.open() as store:
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


# -- deadlines fired by several workers ----------------------------------------------------

TICKERS = 4


def _ticker(url: str, yaml_text: str, barrier: Any, out: Any) -> None:
    """Runs in a spawned process: an Engine of its own ticks once, with the others."""
    eng = Engine(
        {"DL": procflow.loads(yaml_text)},
        store=procflow.open_store(url),
        clock=ManualClock(datetime(2026, 3, 20)),
    )
    barrier.wait(timeout=60)
    fired = eng.tick()
    eng.close()
    out.put([(e.instance_id, e.seq, e.type) for e in fired])


@pytest.mark.slow  # several OS processes
def test_workers_ticking_at_once_fire_each_timer_once(shared_backend: Backend) -> None:
    text = dedent(DEADLINE.replace("MODE", "offer")).replace("{org}", dedent(ORG))
    clock = ManualClock(datetime(2026, 3, 2, 9))
    with shared_backend.open() as store:
        eng = Engine({"DL": procflow.loads(text)}, store=store, clock=clock)
        ids = [eng.start("DL", by=WANG).id for _ in range(30)]
    # what one worker alone fires, as the reference
    alone = Engine({"DL": procflow.loads(text)}, clock=clock)
    alone.start("DL", by=WANG)
    expected = sorted(e.type for e in alone.tick(datetime(2026, 3, 20)))
    assert "reminded" in expected and len(expected) >= 3

    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(TICKERS), ctx.Queue()
    args = (shared_backend.url, text, barrier, out)
    workers = [ctx.Process(target=_ticker, args=args) for _ in range(TICKERS)]
    for w in workers:
        w.start()
    got = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    reported = [event for fired in got for event in fired]
    assert len(reported) == len(set(reported))  # no event reported by two workers
    with shared_backend.open() as store:
        eng = Engine({"DL": procflow.loads(text)}, store=store, clock=clock)
        for iid in ids:
            history = eng.history(iid)
            fired = sorted(e.type for e in history if e.seq > 2)  # after start and task_opened
            assert fired == expected, iid  # each timer once: as one worker alone fires them
            assert sorted((iid, e.seq, e.type) for e in history if e.seq > 2) == sorted(
                r for r in reported if r[0] == iid
            )
            assert_replays(eng, iid)
        assert store.due_timers("9999") == []
        assert eng.tick(datetime(2026, 3, 20)) == []


def test_a_damaged_instance_leaves_the_other_inboxes_answering(
    shared_backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    with shared_backend.open() as store:
        eng = engine(SEQUENCE, store=store)
        bad, good = (eng.start("SEQ", by=LI) for _ in range(2))
    shared_backend.sql("UPDATE snapshots SET state = ? WHERE instance_id = ?", ("{junk", bad.id))
    with shared_backend.open() as store, caplog.at_level(logging.ERROR, "procflow"):
        eng = engine(SEQUENCE, store=store)
        assert [t.instance_id for t in eng.tasks(user=LI)] == [good.id]
        assert [i.id for i in eng.instances()] == [good.id]
        with pytest.raises(DamagedRecord, match=bad.id) as caught:
            eng.instance(bad.id)
        assert caught.value.instance_id == bad.id
        assert bad.id in caplog.text
        # the good one goes on
        task = only(eng.tasks(user=LI))
        assert eng.complete(task.id, by=LI, data=PROPOSAL).version > good.version
