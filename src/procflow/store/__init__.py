"""Persistence: events, snapshots and the projections queries need.

`MemoryStore` is for tests; `SQLiteStore` is the default for one machine;
`PostgresStore` (``procflow[postgres]``) is shared by many workers. All
implement `Store`, and `open_store` opens one from a URL. The engine hands
each command over as `Commit` records in one atomic call.

`PostgresStore` is imported on first use: the core does not need psycopg.

Must not import anything from procflow but `errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from procflow.errors import DefinitionNotFound
from procflow.store.base import (
    Changes,
    Checkpoint,
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
from procflow.store.urls import open_store

if TYPE_CHECKING:
    from procflow.store.postgres import PostgresStore

__all__ = [
    "Changes",
    "Checkpoint",
    "Commit",
    "DefinitionNotFound",
    "Event",
    "InstanceRow",
    "MemoryStore",
    "NewEvent",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "TaskRow",
    "TimerRow",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        value = importlib.import_module("procflow.store.postgres").PostgresStore
        globals()[name] = value
        return value
    raise AttributeError(f"module 'procflow.store' has no attribute {name!r}")
