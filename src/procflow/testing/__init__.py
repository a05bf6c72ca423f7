"""Scenario files: the analysts' tests of a process, their runner and their coverage.

`scenario` is the file format and its static checks, `runner` acts scenarios
out on an engine (what ``procflow test`` runs), `coverage` measures which
paths of a process the scenarios walked.

Imports the flow and runtime layers; never `cli`. The names that were
``procflow.testing``'s before 0.2 (`run_paths`, `run_scenario`, ...) are read
from `runner`, with a `DeprecationWarning`, until 0.3.
"""

from __future__ import annotations

import importlib
from typing import Any

from procflow._moved import warn_moved


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    runner = importlib.import_module("procflow.testing.runner")
    if not hasattr(runner, name):
        raise AttributeError(f"module 'procflow.testing' has no attribute {name!r}")
    warn_moved(f"procflow.testing.{name}", f"procflow.testing.runner.{name}")
    value = getattr(runner, name)
    globals()[name] = value  # warn once
    return value
