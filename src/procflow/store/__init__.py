"""Persistence: events, snapshots and the projections queries need.

`MemoryStore` is for tests; `SQLiteStore` is the default. Both implement `Store`.
The engine hands each command over as `Commit` records in one atomic call.

Must not import anything from procflow but `errors`.
"""

from procflow.errors import DefinitionNotFound
from procflow.store.base import (
    Commit,
    Event,
    InstanceRow,
    NewEvent,
    Store,
    TaskRow,
    TimerRow,
)
from procflow.store.memory import MemoryStore
from procflow.store.sqlite import SQLiteStore

__all__ = [
    "Commit",
    "DefinitionNotFound",
    "Event",
    "InstanceRow",
    "MemoryStore",
    "NewEvent",
    "SQLiteStore",
    "Store",
    "TaskRow",
    "TimerRow",
]
