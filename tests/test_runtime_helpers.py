"""Shared helpers for the runtime tests (and a check that they work)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from textwrap import dedent
from typing import Any

import procflow
from procflow import Engine, ManualClock, MemoryStore, Task, User
from procflow.runtime import Hooks, Instance, Notification, SimpleCalendar, replay
from procflow.runtime.codec import decode, encode
from procflow.runtime.hooks import DeadlineKind
from procflow.store import Checkpoint, Store
from procflow.store.base import state_json

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday
FIXTURES = "tests/fixtures/valid"

ORG = """
actors:
  market_manager: 市場經理
  pmm: 產品市場部經理
  division_gm: 事業部總經理
  gm: 公司總經理
  cto: 技術總監
  ka_head: 大客戶部經理
  ka_manager: 大客戶經理
"""

LI = User("li", {"market_manager"})
WANG = User("wang", {"pmm"})
ZHAO = User("zhao", {"division_gm"})
CHEN = User("chen", {"gm"})
SUN = User("sun", {"cto"})
QIAN = User("qian", {"ka_head"})
USERS = {u.id: u for u in (LI, WANG, ZHAO, CHEN, SUN, QIAN)}


def process(text: str) -> procflow.Process:
    """A process from YAML text; ``{org}`` is replaced by the usual actors."""
    return procflow.loads(dedent(text).replace("{org}", dedent(ORG)))


def engine(
    *texts: str,
    store: Store | None = None,
    clock: ManualClock | None = None,
    **options: Any,
) -> Engine:
    catalog = {p.id: p for p in (process(t) for t in texts)}
    options.setdefault("calendar", SimpleCalendar())
    # strict: every snapshot the engine commits is checked to be exact JSON data
    store = store or MemoryStore(strict=True)
    return Engine(catalog, store=store, clock=clock or ManualClock(T0), **options)


def only(tasks: Iterable[Task], step: str | None = None) -> Task:
    found = [t for t in tasks if step is None or t.step_id == step]
    assert len(found) == 1, found
    return found[0]


def steps(tasks: Iterable[Task]) -> list[str]:
    return sorted(t.step_id for t in tasks)


def types(eng: Engine, instance_id: str) -> list[str]:
    return [e.type for e in eng.history(instance_id)]


def stored(store: Store, instance_id: str) -> tuple[int, Any]:
    """The version and the JSON form of an instance's stored snapshot."""
    version, state = store.load(instance_id)
    return version, state_json(state)


def assert_replays(eng: Engine, instance_id: str | None = None) -> None:
    """Replaying the stored events of each instance gives its stored snapshot."""
    ids = [instance_id] if instance_id else [r.instance_id for r in eng.store.instances()]
    for iid in ids:
        version, snapshot = eng.store.load(iid)
        events = eng.history(iid)
        assert len(events) == version
        replayed = replay(events)
        assert replayed == decode(snapshot)
        # the fold makes its records with tuple.__new__ (every field given): none is short
        for record in (replayed, *replayed.tasks.values(), *replayed.tokens.values()):
            assert len(record) == len(type(record)._fields)
        if isinstance(snapshot, Checkpoint):  # a snapshot of an earlier version, and the rest
            assert list(snapshot.events) == eng.store.events(iid, after=snapshot.version)
            assert encode(replay(events[: snapshot.version])) == snapshot.state
        else:
            assert encode(replayed) == state_json(snapshot)  # the stored form is the codec's


class Recorder(Hooks):
    """Hooks that remember what they were told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def task_opened(self, task: Task) -> None:
        self.calls.append(("opened", task.step_id))

    def notification(self, notice: Notification) -> None:
        self.calls.append(("notify", notice))

    def deadline_reached(self, task: Task, kind: DeadlineKind) -> None:
        self.calls.append((kind, task.step_id))

    def instance_finished(self, instance: Instance) -> None:
        self.calls.append(("finished", instance.status))

    def kinds(self, kind: str) -> list[Any]:
        return [v for k, v in self.calls if k == kind]


SEQUENCE = """
procflow: 1
id: SEQ
title: 順序
{org}
documents:
  proposal:
    title: 策劃書
    fields:
      plan_type: {type: choice, of: [annual, routine, special]}
      budget: {type: money, min: 0}
      content: {type: text, required: false}
steps:
  - id: draft
    actor: market_manager
    fills: proposal
  - id: review
    actor: pmm
    not_by: draft
    decide: {approve: next, revise: draft, stop: stopped}
  - id: gm_review
    actor: gm
    when: proposal.plan_type != "routine"
  - id: done
    end: approved
  - id: stopped
    end: rejected
"""


def test_helpers_run_a_sequence() -> None:
    eng = engine(SEQUENCE)
    inst = eng.start("SEQ", by=LI)
    assert steps(inst.tasks) == ["draft"]
    assert_replays(eng, inst.id)


def acknowledged_then_killed(script: str, *args: str, lines: int) -> list[str]:
    """Run ``script`` in a child Python on this procflow, read ``lines`` acknowledgements
    (one per stdout line) from it, then SIGKILL it mid-stream; the lines read."""
    src = Path(procflow.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    acked: list[str] = []
    for _ in range(lines):
        line = child.stdout.readline()
        assert line, child.communicate()[1]
        acked.append(line.strip())
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    return acked
