"""procflow: documented business processes as YAML that validates, compiles, runs and renders.

The public surface is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from procflow.decisions.result import Decision
from procflow.decisions.table import DecisionTable, decide
from procflow.errors import (
    Conflict,
    DefinitionError,
    EvaluationError,
    ExecutionError,
    InstanceNotFound,
    InvalidSubmission,
    NotAllowed,
    ProcessNotFound,
    ProcflowError,
    RenderError,
    StoreError,
    TaskNotOpen,
)
from procflow.loader import Catalog, load, load_dir, loads
from procflow.model import Organisation, Process
from procflow.problems import Diagnostic, Severity
from procflow.runtime import (
    Directory,
    Engine,
    Hooks,
    Instance,
    ManualClock,
    Notification,
    StaticDirectory,
    SystemClock,
    Task,
    User,
)
from procflow.store import Event, MemoryStore, SQLiteStore

__all__ = [
    "Catalog",
    "Conflict",
    "Decision",
    "DecisionTable",
    "DefinitionError",
    "Diagnostic",
    "Directory",
    "Engine",
    "EvaluationError",
    "Event",
    "ExecutionError",
    "Hooks",
    "Instance",
    "InstanceNotFound",
    "InvalidSubmission",
    "ManualClock",
    "MemoryStore",
    "NotAllowed",
    "Notification",
    "Organisation",
    "Process",
    "ProcessNotFound",
    "ProcflowError",
    "RenderError",
    "SQLiteStore",
    "Severity",
    "StaticDirectory",
    "StoreError",
    "SystemClock",
    "Task",
    "TaskNotOpen",
    "User",
    "decide",
    "load",
    "load_dir",
    "loads",
]
