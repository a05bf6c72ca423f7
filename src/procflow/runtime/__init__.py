"""The runtime: run process instances, persist them as events, let only the right people act.

`Engine` is the entry point; see docs/runtime.md. Modules, each importing
only the ones before it: `clock`, `people`, `values` (document values),
`state` (events and the fold), `program` (a flow made ready to run),
`views` (`Task`, `Instance`), `hooks`, `guards` (who may act, what may be
submitted), `interpreter` (token moves, tasks, sign-offs, deadlines),
`records` (store records, hook calls), `core` (caches, storing, queries),
`engine` (the commands).

Imports `flow.load`, `flow.build`, `flow.checks`, `expr`, `deadlines`, `workcalendar`,
`store` and `errors`; never `cli` or `render`.
"""

from procflow.language.workcalendar import SimpleCalendar, WorkingCalendar
from procflow.runtime.clock import Clock, ManualClock, SystemClock
from procflow.runtime.engine import Engine
from procflow.runtime.hooks import DeadlineKind, Hooks, Notification
from procflow.runtime.people import Directory, StaticDirectory, User
from procflow.runtime.state import EVENT_TYPES, apply, replay
from procflow.runtime.views import FormCopy, Instance, Task

__all__ = [
    "EVENT_TYPES",
    "Clock",
    "DeadlineKind",
    "Directory",
    "Engine",
    "FormCopy",
    "Hooks",
    "Instance",
    "ManualClock",
    "Notification",
    "SimpleCalendar",
    "StaticDirectory",
    "SystemClock",
    "Task",
    "User",
    "WorkingCalendar",
    "apply",
    "replay",
]
