"""The loop that fires deadlines and scheduled starts: what ``procflow worker`` runs.

Owns `Worker`: it calls `Engine.tick` every ``every`` seconds until told to
stop, and logs what each tick fired on the ``procflow.worker`` logger (one
line per event: reminders, overdue marks, escalations, expiries, scheduled
starts). Several workers may run at once on one store: the store shares the
due timers out (`Store.claim_due_timers`), and a scheduled start is one
command id per period, so each fires once.

- **Stopping.** `Worker.stop` may be called from a signal handler or another
  thread. The tick in hand stops at its next command (`Engine.tick`'s
  ``stop``): the command being stored finishes, the timers claimed and not
  fired are given back for the next worker, and `run` returns.
- **Failures.** A tick that fails (the store unreachable, say) is logged and
  tried again at the next round; the loop never dies of it.

An application that needs its `Hooks` (notifications, reminders sent by mail)
or a `Directory` runs this loop over its own `Engine`; ``procflow worker``
runs it over an engine with neither.

Imports `engine` and `errors` only.
"""

from __future__ import annotations

import logging
import threading

from procflow.errors import ProcflowError, StoreError
from procflow.runtime.engine import Engine
from procflow.store import Event

__all__ = ["Worker"]

log = logging.getLogger("procflow.worker")


def describe(event: Event) -> str:
    """One line for what a tick fired."""
    data = event.data
    where = event.instance_id
    if event.type == "started":
        schedule = data.get("schedule") or {}
        return f"started {data.get('process')} for {schedule.get('period')}: instance {where}"
    task = data.get("task")
    if event.type == "task_completed":
        return f"expired task {where}.{task} ({data.get('outcome')})"
    if event.type == "escalated":
        return f"escalated task {where}.{task} to {data.get('to')} ({data.get('mode')})"
    return f"{event.type} task {where}.{task}"


class Worker:
    """Calls `Engine.tick` every ``every`` seconds until `stop` (see the module docstring).

    Args:
        engine: The engine whose store and catalog it works on.
        every: Seconds between the start of one tick and the next.
    """

    def __init__(self, engine: Engine, *, every: float = 30.0) -> None:
        if every <= 0:
            raise ValueError(f"every must be positive, got {every}")
        self.engine = engine
        self.every = every
        self.ticks = 0
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Stop after the command in hand (safe from a signal handler or another thread)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def tick(self) -> list[Event]:
        """One round: fire what is due, log it; failures are logged, not raised."""
        try:
            fired = self.engine.tick(stop=self._stopping.is_set)
        except StoreError as exc:
            log.error("tick failed, trying again in %g s: %s", self.every, exc)
            return []
        except ProcflowError as exc:  # pragma: no cover - a tick logs its own failures
            log.error("tick failed: %s", exc)
            return []
        self.ticks += 1
        for event in fired:
            if event.type in ("started", "task_completed", "escalated", "reminded", "overdue"):
                log.info("%s", describe(event))
        return fired

    def run(self) -> None:
        """Tick until `stop`; return once the tick in hand has stopped."""
        log.info("working on %r every %g s", self.engine.store, self.every)
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self.every)
        log.info("stopped after %d ticks", self.ticks)
