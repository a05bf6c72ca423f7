"""Every shared store under concurrency: threads and OS processes racing on one store,
a writer killed mid-stream, and due timers claimed by many workers at once."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from typing import Any

import pytest

import procflow
from procflow.errors import Conflict
from procflow.store import Store, TimerRow
from tests.conftest import Backend
from tests.test_runtime_helpers import acknowledged_then_killed
from tests.test_store_contract import commit as plain_commit
from tests.test_store_sqlite import commit

# -- claims ---------------------------------------------------------------------------------


def test_claims_share_due_timers_out(store: Store) -> None:
    x, y, z = (TimerRow("a", "x", "2024-03-01"), TimerRow("a", "y", "2024-03-05"),
               TimerRow("b", "x", "2024-03-02"))  # fmt: skip
    store.commit([plain_commit("a", timers=(x, y))])
    store.commit([plain_commit("b", timers=(z,))])
    now, until = "2024-03-03", "2024-03-04"
    assert store.claim_due_timers(now, until_iso=until, claimant="w1", limit=1) == [x]
    assert store.claim_due_timers(now, until_iso=until, claimant="w2") == [z]
    assert store.claim_due_timers(now, until_iso=until, claimant="w3") == []
    assert store.due_timers(now) == [x, z]  # a claim hides nothing from queries
    # the claims run out at their moment
    assert store.claim_due_timers(until, until_iso="2024-03-09", claimant="w3") == [x, z]
    store.release_timers([x, z], claimant="w1")  # not w1's any more: nothing happens
    assert store.claim_due_timers(until, until_iso="2024-03-09", claimant="w4") == []
    store.release_timers([x], claimant="w3")
    assert store.claim_due_timers(until, until_iso="2024-03-09", claimant="w4") == [x]
    # y falls due; a commit that removes a timer removes its claim with it
    assert store.claim_due_timers("2024-03-05", until_iso="2024-03-09", claimant="w5") == [y]
    store.commit([plain_commit("a", 1, timers=(x,))])
    assert store.due_timers("2024-03-06") == [x, z]
    store.commit([plain_commit("a", 2, timers=(x._replace(fire_at="2024-03-06"),))])
    moved = TimerRow("a", "x", "2024-03-06")
    assert store.claim_due_timers("2024-03-06", until_iso="2024-03-09", claimant="w6") == [moved]
    with pytest.raises(ValueError, match="at least 1"):
        store.claim_due_timers(now, until_iso=until, claimant="w1", limit=0)


def test_a_claim_reads_only_due_timers(store: Store) -> None:
    """Many pending timers, a few due: claiming and listing return the due ones only."""
    pending = tuple(TimerRow("far", f"t{k:04}", f"2030-01-01T{k % 24:02}:00") for k in range(300))
    store.commit([plain_commit("far", timers=pending)])
    soon = tuple(TimerRow("soon", f"t{k}", f"2024-03-0{k + 1}") for k in range(3))
    store.commit([plain_commit("soon", timers=soon)])
    assert store.claim_due_timers("2024-03-09", until_iso="2024-03-10", claimant="w") == list(soon)
    assert store.due_timers("2024-03-09") == list(soon)


def _claimer(url: str, barrier: Any, out: Any) -> None:
    """Runs in a spawned process: claim batches of 7 until nothing is left; the first
    batch at the same moment as the others, then each as fast as it can."""
    taken: list[tuple[str, str]] = []
    with procflow.open_store(url) as store:
        me = str(os.getpid())
        barrier.wait(timeout=60)
        first = store.claim_due_timers("2024-03-09", until_iso="2024-03-10", claimant=me, limit=7)
        barrier.wait(timeout=60)
        batch = first
        while batch:
            taken += [(t.instance_id, t.timer_id) for t in batch]
            batch = store.claim_due_timers(
                "2024-03-09", until_iso="2024-03-10", claimant=me, limit=7
            )
    out.put(taken)


@pytest.mark.slow  # several OS processes
def test_processes_claiming_at_once_never_share_a_timer(shared_backend: Backend) -> None:
    with shared_backend.open() as store:
        for k in range(40):
            timers = tuple(TimerRow(f"i{k}", f"t{j}", f"2024-03-0{1 + j}") for j in range(5))
            store.commit([plain_commit(f"i{k}", timers=timers)])
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    workers = [
        ctx.Process(target=_claimer, args=(shared_backend.url, barrier, out)) for _ in range(4)
    ]
    for w in workers:
        w.start()
    got = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    every = [t for taken in got for t in taken]
    assert len(every) == len(set(every)) == 200  # each timer claimed once, none left out
    assert all(len(taken) >= 7 for taken in got)  # each claimed a batch at the same moment


# -- races --------------------------------------------------------------------------------------


def test_threads_share_one_store(shared_backend: Backend) -> None:
    errors: list[BaseException] = []

    with shared_backend.open() as store:

        def work(name: str) -> None:
            versions: dict[str, int] = {}
            try:
                for k in range(20):
                    iid = f"{name}-{k % 4}"
                    version = versions.get(iid, 0)
                    store.commit([commit(iid, version)], command_id=f"{name}-{k}")
                    versions[iid] = version + 1
                    assert store.load(iid)[0] == version + 1
                    store.open_tasks(user="bob", roles=["pmm"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert [r.version for r in store.instances()] == [5] * 16


def test_racing_threads_exactly_one_wins(store: Store) -> None:
    rounds = 15
    for k in range(rounds):
        store.commit([plain_commit(f"r{k}")])
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, str]] = []

    def racer(name: str) -> None:
        for k in range(rounds):
            barrier.wait(timeout=10)
            try:
                store.commit([plain_commit(f"r{k}", 1, state={"winner": name})])
                outcomes.append((k, name))
            except Conflict:
                outcomes.append((k, "conflict"))

    threads = [threading.Thread(target=racer, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for k in range(rounds):
        names = [name for i, name in outcomes if i == k]
        assert sorted(names) in (["conflict", "x"], ["conflict", "y"])
        winner = next(name for name in names if name != "conflict")
        assert store.load(f"r{k}") == (2, {"winner": winner})


def _race_worker(url: str, rounds: int, barrier: Any, results: Any) -> None:
    """Runs in a spawned process: race the other workers on every instance."""
    outcomes = []
    with procflow.open_store(url) as store:
        for k in range(rounds):
            barrier.wait(timeout=20)
            try:
                store.commit([commit(f"r{k}", 1, winner=os.getpid())])
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")
    results.put((os.getpid(), outcomes))


@pytest.mark.slow  # several OS processes
def test_racing_processes_exactly_one_wins(shared_backend: Backend) -> None:
    rounds, racers = 20, 3
    with shared_backend.open() as store:
        for k in range(rounds):
            store.commit([commit(f"r{k}")])
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(racers), ctx.Queue()
    workers = [
        ctx.Process(target=_race_worker, args=(shared_backend.url, rounds, barrier, results))
        for _ in range(racers)
    ]
    for w in workers:
        w.start()
    got = dict(results.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    with shared_backend.open() as store:
        for k in range(rounds):
            outcomes = sorted(outcome[k] for outcome in got.values())
            assert outcomes == ["conflict"] * (racers - 1) + ["ok"]
            winner = next(pid for pid, outcome in got.items() if outcome[k] == "ok")
            assert store.load(f"r{k}") == (2, {"winner": winner})


def _same_command_worker(url: str, barrier: Any, results: Any) -> None:
    with procflow.open_store(url) as store:
        barrier.wait(timeout=20)
        first = store.commit([commit("once")], command_id="c-once", result={"by": os.getpid()})
    results.put((os.getpid(), first))


@pytest.mark.slow  # several OS processes
def test_one_command_id_from_several_processes_is_stored_once(shared_backend: Backend) -> None:
    """`command_id` idempotency holds across processes: one stores, the others get its result."""
    shared_backend.open().close()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    workers = [
        ctx.Process(target=_same_command_worker, args=(shared_backend.url, barrier, results))
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    got = dict(results.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    winners = [pid for pid, first in got.items() if first is None]
    assert len(winners) == 1
    assert all(first == {"by": winners[0]} for pid, first in got.items() if pid != winners[0])
    with shared_backend.open() as store:
        assert store.load("once")[0] == 1
        assert store.command_result("c-once") == {"by": winners[0]}


# -- crash ------------------------------------------------------------------------------------

_WRITER = """
import sys
import procflow
from procflow.store import Commit, NewEvent, TaskRow, TimerRow

url, first = sys.argv[1], int(sys.argv[2])
store = procflow.open_store(url)
n = first
while True:
    iid = f"i{n % 3}"
    try:
        version = store.load(iid)[0]
    except LookupError:
        version = 0
    events = tuple(
        NewEvent("step", "2024-03-01T09:00:00", "u", {"n": n, "k": k, "pad": "x" * 500})
        for k in range(3)
    )
    store.commit(
        [Commit(iid, version, events, {"version": version + 3, "n": n}, "SC-001", "h1",
                "running", "2024-03-01T09:00:00", None,
                (TaskRow(f"t{n}", iid, "s", ("pmm",), None, (), None),),
                (TimerRow(iid, "d", str(n)),))],
        command_id=f"c{n}",
        result={"n": n},
    )
    print(f"c{n}", flush=True)
    n += 1
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
@pytest.mark.slow  # several OS processes
def test_killed_writer_loses_no_acknowledged_command(shared_backend: Backend) -> None:
    shared_backend.open().close()
    acked: list[str] = []
    for round_, wait_for in enumerate([3, 11, 19, 29, 37]):
        acked += acknowledged_then_killed(
            _WRITER, shared_backend.url, str(round_ * 100_000), lines=wait_for
        )
        with shared_backend.open() as store:
            for command_id in acked:
                assert store.command_result(command_id) == {"n": int(command_id[1:])}
            total = 0
            for row in store.instances():
                version, state = store.load(row.instance_id)
                events = store.events(row.instance_id)
                assert version == row.version == state["version"] == len(events)
                assert [e.seq for e in events] == list(range(1, version + 1))
                assert version % 3 == 0
                for start in range(0, version, 3):  # each command's 3 events, in order
                    group = events[start : start + 3]
                    assert [e.data["k"] for e in group] == [0, 1, 2]
                    assert len({e.data["n"] for e in group}) == 1
                assert events[-1].data["n"] == state["n"]
                [open_task] = store.open_tasks(instance_id=row.instance_id)
                assert open_task.task_id == f"t{state['n']}"
                total += version // 3
            assert total == store.counts()["commands"] >= len(acked)
