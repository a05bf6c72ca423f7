"""procflow: documented business processes as YAML that validates, compiles, runs and renders.

The public surface is listed in ``__all__``; everything else is internal. Only the
exception tree and `Diagnostic` are imported with the package: every other name (the
loader, the models, the engine, the stores) is imported on first use (PEP 562), so that
``import procflow`` and ``procflow validate`` start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from procflow import _moved
from procflow.errors import (
    BlobNotFound,
    Conflict,
    DefinitionError,
    EvaluationError,
    ExecutionError,
    InstanceNotFound,
    InvalidArgument,
    InvalidSubmission,
    NotAllowed,
    ProcessNotFound,
    ProcflowError,
    RenderError,
    StoreError,
    TaskNotOpen,
)
from procflow.language.diagnostics import Diagnostic, Severity

__all__ = [
    "Attachment",
    "BlobNotFound",
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
    "FileBlobStore",
    "FormCopy",
    "Hooks",
    "Instance",
    "InstanceNotFound",
    "InvalidArgument",
    "InvalidSubmission",
    "ManualClock",
    "MemoryStore",
    "NotAllowed",
    "Notification",
    "Organisation",
    "PostgresStore",
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
    "from_json",
    "load",
    "load_dir",
    "loads",
    "open_store",
    "to_json",
]

if TYPE_CHECKING:
    from procflow.decisions.result import Decision
    from procflow.decisions.table import DecisionTable, decide
    from procflow.flow.catalog import Catalog, Process
    from procflow.flow.load import load, load_dir, loads
    from procflow.language.model import Organisation
    from procflow.runtime import (
        Attachment,
        Directory,
        Engine,
        FileBlobStore,
        FormCopy,
        Hooks,
        Instance,
        ManualClock,
        Notification,
        StaticDirectory,
        SystemClock,
        Task,
        User,
        from_json,
        to_json,
    )
    from procflow.store import Event, MemoryStore, PostgresStore, SQLiteStore, open_store

_moved.install()  # the module paths of 0.1 keep working until 0.3, with a warning

_LAZY = {
    **dict.fromkeys(("Catalog", "Process"), "procflow.flow.catalog"),
    **dict.fromkeys(("load", "load_dir", "loads"), "procflow.flow.load"),
    "Organisation": "procflow.language.model",
    **dict.fromkeys(
        (
            "Attachment",
            "Directory",
            "Engine",
            "FileBlobStore",
            "FormCopy",
            "Hooks",
            "Instance",
            "ManualClock",
            "Notification",
            "StaticDirectory",
            "SystemClock",
            "Task",
            "User",
            "from_json",
            "to_json",
        ),
        "procflow.runtime",
    ),
    **dict.fromkeys(
        ("Event", "MemoryStore", "PostgresStore", "SQLiteStore", "open_store"), "procflow.store"
    ),
    "Decision": "procflow.decisions.result",
    "DecisionTable": "procflow.decisions.table",
    "decide": "procflow.decisions.table",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'procflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
