"""A catalog: the processes of a folder by id, with what was loaded beside them.

Owns `Process`, a process as loaded (the model of the language, with its
compiled `Flow`), and `Catalog`, what `procflow.load_dir` returns and the
engine runs: a read-only mapping of process id to `Process`, which also keeps
the organisations, the decision tables and the warnings found while loading.

Imports the language layer, `decisions` and `ir` only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ConfigDict, PrivateAttr

from procflow.flow.ir import Flow
from procflow.language import model
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import Organisation

if TYPE_CHECKING:
    import networkx as nx

    from procflow.decisions.table import DecisionTable


class Process(model.Process):
    """A process loaded by `procflow.load`: the model as written, and its compiled flow."""

    model_config = ConfigDict(defer_build=False)  # built once, at import: it validates files

    _flow: Flow | None = PrivateAttr(default=None)

    @property
    def flow(self) -> Flow:
        """The compiled flow: typed nodes and edges (`procflow.flow.ir.Flow`)."""
        if self._flow is None:
            raise AttributeError(f"process '{self.id}' was not loaded with procflow.load()")
        return self._flow

    @property
    def graph(self) -> nx.DiGraph[str]:
        """The flow as a ``networkx.DiGraph`` (a view, made anew: `Flow.graph`)."""
        return self.flow.graph()


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
