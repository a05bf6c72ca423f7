"""A catalog: the processes of a folder by id, with what was loaded beside them.

Owns `Catalog`, what `procflow.load_dir` returns and the engine runs. It is
a read-only mapping of process id to `Process`, which also keeps the
organisations, the decision tables and the warnings found while loading.

Imports the language layer and `decisions` only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from procflow.decisions.table import DecisionTable
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import Organisation, Process


@dataclass
class Catalog(Mapping[str, Process]):
    """Processes by id, their organisations, and the warnings found while loading."""

    processes: dict[str, Process] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    tables: dict[str, DecisionTable] = field(default_factory=dict)
    """Decision tables of the decision files found, by id (see docs/decisions.md)."""
    warnings: list[Diagnostic] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """Process id -> file it came from."""

    def __getitem__(self, key: str) -> Process:
        return self.processes[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.processes)

    def __len__(self) -> int:
        return len(self.processes)
