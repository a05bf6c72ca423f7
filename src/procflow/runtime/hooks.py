"""Embedder callbacks: what the engine tells the application after a command.

Owns `Hooks` (override what you need; every method does nothing by default),
`Notification` (what a notify step says, and to whom) and `call_hook`, which
runs a callback so that it can never break a command: hooks run after the
command is stored, and an exception in one is logged on the
``procflow.runtime`` logger and otherwise ignored.

Imports only the read models (`views`), for types.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from procflow.runtime.views import Instance, Task

__all__ = ["DeadlineKind", "Hooks", "Notification", "call_hook"]

log = logging.getLogger("procflow.runtime")

DeadlineKind = Literal["due", "remind", "escalate", "expire"]
"""What happened at a deadline: the task became overdue, a reminder, an escalation, an expiry."""


@dataclass(frozen=True, slots=True)
class Notification:
    """A notify step was passed.

    Attributes:
        instance_id: The instance.
        process_id: Its process.
        step_id: The notify step.
        roles: The roles to tell.
        recipients: The members of those roles (when a directory is configured), then
            the people its ``notify_users`` names.
        message: The step's message.
        title: The step's title.
        at: When it happened (the engine's clock).
    """

    instance_id: str
    process_id: str
    step_id: str
    roles: tuple[str, ...]
    recipients: tuple[str, ...]
    message: str
    title: str
    at: datetime


class Hooks:
    """Callbacks the engine runs after each command is stored.

    Subclass it and override the methods you need. A hook must not block for
    long: it runs in the thread of the command that caused it. A hook that
    raises is logged and ignored; the command has already succeeded.
    """

    def task_opened(self, task: Task) -> None:
        """A task was opened (put it in an inbox, send a message)."""

    def notification(self, notice: Notification) -> None:
        """A notify step was passed; deliver ``notice``."""

    def deadline_reached(self, task: Task, kind: DeadlineKind) -> None:
        """A deadline moment of ``task`` passed (fired by `Engine.tick`)."""

    def instance_finished(self, instance: Instance) -> None:
        """An instance completed or was cancelled."""


def call_hook(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)``; log and swallow any exception it raises."""
    try:
        fn(*args)
    except Exception:
        log.exception("procflow hook %s failed", getattr(fn, "__qualname__", fn))
