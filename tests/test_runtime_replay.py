"""Property tests: random acts on a few processes, and random processes run to the end.

Whatever happens, replaying an instance's stored events from nothing gives its
stored snapshot and the engine's live state.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import procflow
from procflow import Engine, ManualClock, MemoryStore, ProcflowError, Task, User
from procflow.language.model import FieldDef
from procflow.runtime import SimpleCalendar, StaticDirectory, replay
from procflow.runtime.codec import decode
from tests.strategies import processes
from tests.test_runtime_deadlines import DEADLINE
from tests.test_runtime_engine import FOR_EACH, PARALLEL, SIGN
from tests.test_runtime_helpers import SEQUENCE, T0, assert_replays, process
from tests.test_runtime_processes import CHILD, NEXT, PARENT

ROLES = ("market_manager", "pmm", "division_gm", "gm", "cto", "ka_head", "ka_manager")
POOL = [User(f"{r}{i}", {r}) for r in ROLES for i in (1, 2)] + [
    User("both", {"market_manager", "pmm"}),
    User("boss", {"gm", "cto"}),
    User("nobody"),
]
DIRECTORY = StaticDirectory.of(POOL)


def catalog() -> dict[str, procflow.Process]:
    texts = [
        SEQUENCE,
        PARALLEL.replace("JOIN", "any").replace("id: PAR", "id: PANY"),
        PARALLEL.replace("JOIN", "all"),
        SIGN.replace("RULE", "{n_of: [gm, cto, ka_head], n: 2}"),
        SIGN.replace("RULE", "{in_turn: [gm, cto]}").replace("id: SIGN", "id: TURN"),
        FOR_EACH,
        DEADLINE.replace("MODE", "offer"),
        PARENT,
        CHILD,
        NEXT,
    ]
    return {p.id: p for p in map(process, texts)}


CATALOG = catalog()


def value(f: FieldDef, draw: st.DrawFn) -> Any:
    """A valid value for a field."""
    kind = f.type
    if kind in ("money", "number", "percent"):
        low = int(f.min) if f.min is not None else 0
        high = int(f.max) if f.max is not None else 5000
        return str(draw(st.integers(low, high)))
    if kind == "choice":
        return draw(st.sampled_from(list(f.of or [])))
    if kind == "yesno":
        return draw(st.booleans())
    if kind == "date":
        return (date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 400)))).isoformat()
    if kind == "datetime":
        return datetime(2026, 1, 1, draw(st.integers(0, 23))).isoformat()
    if kind == "list":
        if f.fields is not None:
            return [
                {k: value(v, draw) for k, v in f.fields.items()}
                for _ in range(draw(st.integers(0, 2)))
            ]
        return [draw(st.sampled_from(["甲", "乙", "丙"])) for _ in range(draw(st.integers(0, 3)))]
    if kind == "user":
        return draw(st.sampled_from([u.id for u in POOL]))
    return draw(st.sampled_from(["好", "ok", ""]))


def fill(eng: Engine, task: Task, draw: st.DrawFn) -> dict[str, Any]:
    program = eng.core.program(eng.instance(task.instance_id).definition_hash)
    return {
        doc: {f: value(program.codecs[doc][f].field, draw) for f in fields}
        for doc, fields in task.fills.items()
    }


def actors(eng: Engine, task: Task) -> list[User]:
    return [u for u in POOL if any(t.id == task.id for t in eng.tasks(user=u))]


def check(eng: Engine) -> None:
    assert_replays(eng)
    for row in eng.store.instances():
        version, state = eng.core.load(row.instance_id)
        stored_version, stored = eng.store.load(row.instance_id)
        assert (version, state) == (stored_version, decode(stored))
        assert replay(eng.history(row.instance_id)) == state


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_replaying_events_rebuilds_the_live_state(data: st.DataObject) -> None:
    draw = data.draw
    clock = ManualClock(T0)
    ids = itertools.count(1)
    eng = Engine(
        CATALOG,
        store=MemoryStore(strict=True),  # snapshots checked to be exact JSON too
        clock=clock,
        calendar=SimpleCalendar(),
        directory=DIRECTORY,
        new_id=lambda: f"i{next(ids):03}",
    )
    for _ in range(draw(st.integers(1, 30))):
        act = draw(st.sampled_from(["start", "complete", "complete", "complete", "other"]))
        open_tasks = eng.tasks()
        try:
            if act == "start" or not open_tasks:
                pid = draw(st.sampled_from(["SEQ", "PANY", "PAR", "SIGN", "TURN", "EACH", "DL",
                                            "PARENT"]))  # fmt: skip
                eng.start(pid, by=draw(st.sampled_from(POOL)))
                continue
            task = draw(st.sampled_from(open_tasks))
            who = actors(eng, task) or [draw(st.sampled_from(POOL))]
            user = draw(st.sampled_from(who))
            if act == "complete":
                outcome = draw(st.sampled_from([None, *task.outcomes]))
                payload = fill(eng, task, draw) if draw(st.integers(0, 4)) else {"x": {}}
                eng.complete(task.id, by=user, outcome=outcome, data=payload)
                continue
            other = draw(st.sampled_from(["claim", "delegate", "tick", "cancel"]))
            if other == "claim":
                eng.claim(task.id, by=user)
            elif other == "delegate":
                eng.delegate(task.id, by=user, to=draw(st.sampled_from(POOL)))
            elif other == "tick":
                clock.advance(hours=draw(st.integers(1, 100)))
                eng.tick()
            else:
                eng.cancel(task.instance_id, by=user, reason="test")
        except ProcflowError:
            pass
        check(eng)
    check(eng)


def _document_values(docs: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, doc in docs.items():
        fields = {}
        for fname, spec in doc["fields"].items():
            fields[fname] = value(FieldDef.model_validate(spec), draw)
        out[name] = fields
    return out


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(processes(), st.data())
def test_random_processes_run_to_completion(spec: dict[str, Any], data: st.DataObject) -> None:
    draw = data.draw
    proc = procflow.loads(json.dumps(spec, ensure_ascii=False))
    users = {role: User(f"u_{role}", {role}) for role in spec["actors"]}
    ids = itertools.count(1)
    eng = Engine(
        {proc.id: proc},
        clock=ManualClock(T0),
        calendar=SimpleCalendar(),
        new_id=lambda: f"i{next(ids):03}",
    )
    starter = next(u for u in users.values() if eng.core.program_of(proc.id).starters is None
                   or u.roles & eng.core.program_of(proc.id).starters)  # fmt: skip
    inst = eng.start(proc.id, by=starter, data=_document_values(spec["documents"], draw))
    for acts in range(300):
        if inst.status != "running":
            break
        task = draw(st.sampled_from(inst.tasks))
        forward = acts > 20
        choices = [o for o in task.outcomes if o in ("approve", "sign", "skip")] if forward else []
        outcome = choices[0] if choices else draw(st.sampled_from([None, *task.outcomes]))
        if task.outcomes and outcome is None and task.outcomes != ("skip",):
            outcome = task.outcomes[0]
        user = users[task.actor[0]]
        inst = eng.complete(task.id, by=user, outcome=outcome, data=fill(eng, task, draw))
    assert inst.status == "completed", inst
    assert inst.tasks == ()
    assert_replays(eng)
