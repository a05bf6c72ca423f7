"""The engine's clock work: deadline timers and scheduled starts, what `Engine.tick` does.

Owns `Scheduler`, the part of `Engine` that acts on its own when time passes:

- **Deadlines.** The due timers are claimed from the store
  (`Store.claim_due_timers`), a batch at a time, so that several workers
  ticking at once share them out and each fires once; a timer whose firing
  failed is given back at the end, for the next tick. Every timer due fires: a reminder or an
  overdue mark (the hook `Hooks.deadline_reached`), an escalation (offers or
  moves the task), an expiry (completes it with its outcome, by the system).
  Firing is recorded, so ticking again fires nothing twice. Each instance is
  one command: one that fails (an expiry whose next step meets a missing
  value) is logged, keeps its timers for the next tick, and does not stop the
  others.
- **Scheduled starts.** For every process of the catalog with a
  ``schedule:``, the latest period whose moment has come
  (`procflow.language.schedules.latest`) is started once, by the system on
  behalf of the schedule's ``by`` role (the ``started`` event has ``by`` None
  and ``schedule: {by, period, at}``), under the command id
  ``schedule:<process id>:<period>``: repeated ticks, and several engines
  sharing one store, start it exactly once. No back-dated starts: a period is
  started only if its moment is at or after the moment this engine first saw
  the schedule (when the process entered its catalog), or if the schedule
  already started the period before it in this store (an engine restarted
  after the moment came catches up that one period). Earlier periods are never
  started.

Imports `core`, `language.schedules`, `errors`, `store` (records).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from procflow.errors import Conflict, InstanceNotFound, InvalidArgument, ProcflowError
from procflow.flow.catalog import Process
from procflow.language.schedules import Occurrence, latest, previous_key
from procflow.runtime.clock import iso, stamp
from procflow.runtime.core import Core
from procflow.runtime.interpreter import Command
from procflow.runtime.program import Program
from procflow.store import Event, TimerRow

__all__ = ["Scheduler", "command_id"]

log = logging.getLogger("procflow.runtime")

LEASE = timedelta(minutes=5)
"""How long a tick holds the due timers it claimed, on the engine's clock, before another
worker may take them (a worker that died while firing gives them back this way)."""


def command_id(process_id: str, period: str) -> str:
    """The command id of a scheduled start: ``schedule:SC-004:2026-05``."""
    return f"schedule:{process_id}:{period}"


def _made(cmd: Command) -> list[Event]:
    """The events a command is about to store, numbered as the store will number them."""
    return [
        Event(r.id, r.version + i, e.type, e.at, e.by, e.data)
        for r in cmd.runs.values()
        for i, e in enumerate(r.events, 1)
    ]


class Scheduler:
    """The clock work of an `Engine` (see the module docstring)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.seen: dict[str, datetime] = {}
        """Scheduled process id -> when this engine first saw its schedule."""
        self.decided: set[str] = set()
        """Scheduled starts (command ids) already made or refused."""

    def saw_catalog(self, catalog: Mapping[str, Process]) -> None:
        """Note when this engine first saw each scheduled process."""
        now = self.core.clock.now()
        for process_id, process in catalog.items():
            if process.schedule is not None and process_id not in self.seen:
                self.seen[process_id] = now

    def tick(self, now: datetime | None = None) -> list[Event]:
        if now is not None and not isinstance(now, datetime):
            raise InvalidArgument(f"now= takes a datetime, not {type(now).__name__}")
        core = self.core
        store = core.store
        moment = now if now is not None else core.clock.now()
        key = stamp(moment)
        # claim the due timers a batch at a time, so that workers ticking at once share
        # them out; what is left claimed (an instance that failed) is given back at the end
        me, until = secrets.token_hex(8), stamp(moment + LEASE)
        fired: list[Event] = []
        held: dict[TimerRow, None] = {}
        try:
            while batch := store.claim_due_timers(key, until_iso=until, claimant=me):
                if all(row in held for row in batch):
                    break  # rewritten by its own firing, yet still due: fired already
                held.update(dict.fromkeys(batch))
                for instance_id in dict.fromkeys(row.instance_id for row in batch):
                    try:
                        fired += self._fire(instance_id, moment, key)
                    except ProcflowError:
                        log.exception("procflow: deadlines of %s could not fire", instance_id)
        finally:
            if held:
                store.release_timers(held, claimant=me)
        return fired + self._start_scheduled(moment)

    def _fire(self, instance_id: str, moment: datetime, key: str) -> list[Event]:
        """Fire every timer of the instance due at ``key``, in one command.

        All of them, not only those this worker claimed: when workers share an
        instance's timers out, they fire as one worker alone would, in the order
        of `Store.due_timers`; the others then find them fired. Opening the
        instance fires them (`Command.open`), as for any other command.
        """
        core = self.core
        for _attempt in range(3):
            cmd = core.command(None, moment)
            try:
                run = cmd.open(instance_id)  # fires every timer due at the moment
            except InstanceNotFound:
                return []
            cmd.settle()
            made = _made(cmd)
            try:
                core.store_command(cmd, None, run)
            except Conflict:
                continue  # someone acted on the instance meanwhile: look again
            return made
        return []

    def _start_scheduled(self, moment: datetime) -> list[Event]:
        """Start every scheduled process whose period has come; the events stored.

        A start that fails (no directory for a for-each, a condition that meets a
        missing value) is logged and tried again at the next tick.
        """
        core = self.core
        made: list[Event] = []
        for process_id in sorted(self.seen):
            process = core.catalog.get(process_id)
            if process is None or process.schedule is None:
                continue
            program = core.program_of(process_id)
            if program.recurrence is None:  # pragma: no cover - a schedule is always read
                continue
            occ = latest(program.recurrence, moment, core.calendar)
            if occ is None:
                continue
            key = command_id(process_id, occ.key)
            if key in self.decided:
                continue
            if occ.moment < self.seen[process_id]:
                before = previous_key(program.recurrence, occ, core.calendar)
                if (
                    before is None
                    or core.store.command_result(command_id(process_id, before)) is None
                ):
                    self.decided.add(key)  # before this engine saw the schedule: never
                    continue
            if core.store.command_result(key) is not None:
                self.decided.add(key)  # another tick or engine started it
                continue
            try:
                made += self._start(program, occ, key, moment)
            except ProcflowError:
                log.exception("procflow: the scheduled start %s failed", key)
                continue
            self.decided.add(key)
        return made

    def _start(self, program: Program, occ: Occurrence, key: str, moment: datetime) -> list[Event]:
        schedule = program.process.schedule
        by = schedule.by if schedule is not None else None
        core = self.core
        cmd = core.command(None, moment)
        run = cmd.spawn(
            program, {}, None, schedule={"by": by, "period": occ.key, "at": iso(occ.moment)}
        )
        cmd.settle()
        made = _made(cmd)
        result = {
            "command": "start",
            "by": None,
            "process": program.process_id,
            "instance": run.id,
        }
        inst = core.store_command(cmd, key, run, result)
        return made if inst.id == run.id else []  # another engine won the race: it started it
