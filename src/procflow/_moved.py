"""The module paths of procflow 0.1, importable for one more release with a warning.

0.2 grouped the modules by layer (docs/architecture.md). An import of an old
path, such as ``from procflow.loader import load_definition``, still works: it
gives a stand-in module that reads every name from the new place, and warns
with a `DeprecationWarning` that says where the module went. The stand-ins go
away in 0.3. `procflow/__init__.py` installs the finder; nothing else imports
this module.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Loader
else:
    Loader = object  # importlib.abc pulls in importlib.resources: a fifth of `import procflow`

REMOVED_IN = "0.3"

MOVED: dict[str, str] = {
    "procflow.carrying": "procflow.flow.held",
    "procflow.catalog": "procflow.flow.links",
    "procflow.compile": "procflow.flow.build",
    "procflow.coverage": "procflow.testing.coverage",
    "procflow.deadlines": "procflow.language.deadlines",
    "procflow.decisions.checks": "procflow.decisions.verify",
    "procflow.decisions.commands": "procflow.cli.decide",
    "procflow.decisions.model": "procflow.language.tablefile",
    "procflow.decisions.process": "procflow.flow.tables",
    "procflow.dump": "procflow.language.dump",
    "procflow.expr": "procflow.language.expr",
    "procflow.expr.compiler": "procflow.language.expr.frontend",
    "procflow.index": "procflow.render.index",
    "procflow.interactive": "procflow.cli.interactive",
    "procflow.loader": "procflow.flow.load",
    "procflow.locate": "procflow.language.locate",
    "procflow.model": "procflow.language.model",
    "procflow.problems": "procflow.language.diagnostics",
    "procflow.render.catalogue": "procflow.render.site",
    "procflow.runtime.checks": "procflow.runtime.guards",
    "procflow.runtime.schedule": "procflow.runtime.scheduler",
    "procflow.scenario": "procflow.testing.scenario",
    "procflow.schedules": "procflow.language.schedules",
    "procflow.schema": "procflow.cli.schemas",
    "procflow.shapes": "procflow.language.shapes",
    "procflow.source": "procflow.language.source",
    "procflow.store.schema": "procflow.store.migrations",
    "procflow.validate": "procflow.flow.checks",
    "procflow.workcalendar": "procflow.language.workcalendar",
}
"""Old module path -> new one. Submodules of a moved package move with it."""


def new_name(old: str) -> str | None:
    """Where the module ``old`` lives now, or None when it did not move."""
    if old in MOVED:
        return MOVED[old]
    for prefix in ("procflow.expr.", "procflow.deadlines."):
        if old.startswith(prefix):
            return MOVED[prefix[:-1]] + old[len(prefix) - 1 :]
    return None


def warn_moved(old: str, new: str, *, stacklevel: int = 2) -> None:
    """The one wording of the warning, also used for names moved out of a package."""
    warnings.warn(
        f"{old} moved to {new} in procflow 0.2; the old name goes away in {REMOVED_IN}",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


class _StandIn(Loader):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warn_moved(self.old, self.new, stacklevel=4)
        target = importlib.import_module(self.new)
        module = types.ModuleType(self.old, target.__doc__)

        def __getattr__(name: str) -> Any:
            return getattr(target, name)

        def __dir__() -> list[str]:
            return dir(target)

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__dir__ = __dir__  # type: ignore[method-assign]
        if hasattr(target, "__path__"):
            module.__path__ = []  # a package: its submodules come through the finder too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the stand-in reads everything from the new module."""


class MovedFinder:
    """Finds the old paths of `MOVED`, and nothing else."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        new = new_name(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _StandIn(fullname, new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedFinder())
