"""Scheduled starts: what `Engine.tick` does for processes with a ``schedule:``.

Owns `start_scheduled`. For every scheduled process of the catalog, the
latest period whose moment has come (`procflow.language.schedules.latest`) is started
once, by the system on behalf of the schedule's ``by`` role (the ``started``
event has ``by`` None and ``schedule: {by, period, at}``), with the command id
``schedule:<process id>:<period>``: repeated ticks, and several engines
sharing one store, start it exactly once.

No back-dated starts: a period is started only if its moment is at or after
the moment this engine first saw the schedule (when the process entered its
catalog), or if the schedule already started the period before it in this
store (an engine restarted after the moment came catches up that one
period). Earlier periods are never started.

Imports `language.schedules`, `errors`, `store`; `core.EngineCore` for types only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from procflow.errors import ProcflowError
from procflow.language.schedules import Occurrence, latest, previous_key
from procflow.runtime.clock import iso
from procflow.store import Event

if TYPE_CHECKING:
    from procflow.runtime.core import EngineCore
    from procflow.runtime.program import Program

__all__ = ["command_id", "start_scheduled"]

log = logging.getLogger("procflow.runtime")


def command_id(process_id: str, period: str) -> str:
    """The command id of a scheduled start: ``schedule:SC-004:2026-05``."""
    return f"schedule:{process_id}:{period}"


def start_scheduled(engine: EngineCore, moment: datetime) -> list[Event]:
    """Start every scheduled process whose period has come; the events stored.

    A start that fails (no directory for a for-each, a condition that meets a
    missing value) is logged and tried again at the next tick.
    """
    made: list[Event] = []
    for process_id in sorted(engine._seen):
        process = engine.catalog.get(process_id)
        if process is None or process.schedule is None:
            continue
        program = engine.program_of(process_id)
        if program.recurrence is None:  # pragma: no cover - a schedule is always read
            continue
        occ = latest(program.recurrence, moment, engine.calendar)
        if occ is None:
            continue
        key = command_id(process_id, occ.key)
        if key in engine._decided:
            continue
        if occ.moment < engine._seen[process_id]:
            before = previous_key(program.recurrence, occ, engine.calendar)
            if (
                before is None
                or engine.store.command_result(command_id(process_id, before)) is None
            ):
                engine._decided.add(key)  # before this engine saw the schedule: never
                continue
        if engine.store.command_result(key) is not None:
            engine._decided.add(key)  # another tick or engine started it
            continue
        try:
            made += _start(engine, program, occ, key, moment)
        except ProcflowError:
            log.exception("procflow: the scheduled start %s failed", key)
            continue
        engine._decided.add(key)
    return made


def _start(
    engine: EngineCore, program: Program, occ: Occurrence, key: str, moment: datetime
) -> list[Event]:
    by = program.process.schedule.by if program.process.schedule is not None else None
    cmd = engine._command(None, moment)
    run = cmd.spawn(
        program, {}, None, schedule={"by": by, "period": occ.key, "at": iso(occ.moment)}
    )
    cmd.settle()
    made = [
        Event(r.id, r.version + i, e.type, e.at, e.by, e.data)
        for r in cmd.runs.values()
        for i, e in enumerate(r.events, 1)
    ]
    inst = engine._store(cmd, key, run)
    return made if inst.id == run.id else []  # another engine won the race: it started it
