"""procflow: documented business processes as YAML that validates, compiles, runs and renders.

The public surface is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from procflow.errors import (
    Conflict,
    DefinitionError,
    EvaluationError,
    ExecutionError,
    InstanceNotFound,
    InvalidSubmission,
    NotAllowed,
    ProcflowError,
    RenderError,
    StoreError,
    TaskNotOpen,
)
from procflow.loader import Catalog, load, load_dir, loads
from procflow.model import Organisation, Process
from procflow.problems import Diagnostic, Severity

__all__ = [
    "Catalog",
    "Conflict",
    "DefinitionError",
    "Diagnostic",
    "EvaluationError",
    "ExecutionError",
    "InstanceNotFound",
    "InvalidSubmission",
    "NotAllowed",
    "Organisation",
    "Process",
    "ProcflowError",
    "RenderError",
    "Severity",
    "StoreError",
    "TaskNotOpen",
    "load",
    "load_dir",
    "loads",
]
