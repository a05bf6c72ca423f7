"""The runtime: run process instances, persist them as events, let only the right people act.

`Engine` is the entry point; see docs/runtime.md. Modules, each importing
only the ones before it: `clock`, `people`, `values` (document values),
`state` (events and the fold), `program` (a flow made ready to run),
`views` (`Task`, `Instance`), `hooks`, `guards` (who may act, what may be
submitted), `interpreter` (token moves, tasks, sign-offs, deadlines),
`records` (store records, hook calls), `core` (caches, storing, queries),
`forms` (a task's form as JSON Schema), `blobs` (attachments' bytes),
`supervision` (reassigning, comments, attachments), `engine` (the façade),
`export` (the JSON form of every result).

Imports `flow.load`, `flow.build`, `flow.checks`, `expr`, `deadlines`, `workcalendar`,
`store` and `errors`; never `cli` or `render`.
"""

from procflow.language.workcalendar import SimpleCalendar, WorkingCalendar
from procflow.runtime.blobs import BlobStore, FileBlobStore, MemoryBlobStore
from procflow.runtime.clock import Clock, ManualClock, SystemClock
from procflow.runtime.engine import Engine
from procflow.runtime.export import from_json, to_json
from procflow.runtime.hooks import DeadlineKind, Hooks, Notification
from procflow.runtime.people import Directory, StaticDirectory, User
from procflow.runtime.state import EVENT_TYPES, apply, replay
from procflow.runtime.supervision import Attachment
from procflow.runtime.views import FormCopy, Instance, Task

__all__ = [
    "EVENT_TYPES",
    "Attachment",
    "BlobStore",
    "Clock",
    "DeadlineKind",
    "Directory",
    "Engine",
    "FileBlobStore",
    "FormCopy",
    "Hooks",
    "Instance",
    "ManualClock",
    "MemoryBlobStore",
    "Notification",
    "SimpleCalendar",
    "StaticDirectory",
    "SystemClock",
    "Task",
    "User",
    "WorkingCalendar",
    "apply",
    "from_json",
    "replay",
    "to_json",
]
