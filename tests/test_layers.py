"""The architecture, enforced: layers import downwards only, and no import cycles.

Reads every module's imports with `ast` (type-checking-only imports count too:
a cycle through types is still a cycle) and checks them against the layers of
docs/architecture.md. Also: one stem, one module; and the module paths of 0.1
still import, with a DeprecationWarning.
"""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from procflow import _moved

SRC = Path(__file__).parent.parent / "src"
PACKAGE = SRC / "procflow"

# Lowest first. A module may import its own package, and any package of a lower
# rank; packages of the same rank are independent of each other. The first rank
# is the base: single modules that the whole library shares.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "procflow.errors",
        "procflow.language.diagnostics",  # the one problem type: errors carry them
        "procflow.compiled",
        "procflow.writing",
        "procflow.cycles",
        "procflow._moved",
    ),
    ("procflow.language",),
    ("procflow.decisions",),
    ("procflow.flow", "procflow.store"),
    ("procflow.runtime", "procflow.render"),
    ("procflow.testing",),
    ("procflow.web",),
    ("procflow.cli",),
)
API = "procflow"  # procflow/__init__.py: the public surface, above everything


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path) -> set[str]:
    """The procflow modules ``name`` imports (from-imports of submodules resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            # a submodule named in the import, else a name of the module itself
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        for written in targets:
            target = written
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH: nx.DiGraph[str] = nx.DiGraph()
for _name, _path in MODULES.items():
    GRAPH.add_node(_name)
    for _target in imports_of(_name, _path):
        GRAPH.add_edge(_name, _target)


def package_of(module: str) -> str:
    """The layer package a module belongs to (the longest prefix listed in `LAYERS`)."""
    best = ""
    for layer in LAYERS:
        for pkg in layer:
            if (module == pkg or module.startswith(pkg + ".")) and len(pkg) > len(best):
                best = pkg
    return best


def rank(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def test_every_module_has_a_layer() -> None:
    homeless = [m for m in MODULES if m != API and not package_of(m)]
    assert homeless == [], "add these modules to a layer in LAYERS and docs/architecture.md"


def test_imports_go_down_the_layers() -> None:
    wrong = []
    for src, dst in GRAPH.edges:
        if src == API:
            continue  # the public surface re-exports from every layer
        if dst == API:
            wrong.append(f"{src} imports the package facade {dst}; import the module itself")
            continue
        a, b = package_of(src), package_of(dst)
        if a == b or rank(a) == rank(b) == 0:
            continue  # within a package, or between the base modules
        if rank(b) > rank(a):
            wrong.append(f"{src} ({a}) imports {dst} ({b}), a higher layer")
        elif rank(b) == rank(a):
            wrong.append(f"{src} ({a}) imports {dst} ({b}): same layer, kept independent")
    assert wrong == []


def test_no_import_cycles() -> None:
    cycles = [sorted(c) for c in nx.strongly_connected_components(GRAPH) if len(c) > 1]
    assert cycles == [], "split along a real seam, or move the shared part down a layer"


def test_the_checker_itself_sees_imports() -> None:
    # the test must be able to fail: the graph holds edges we know exist
    assert GRAPH.has_edge("procflow.flow.load", "procflow.language.source")
    assert GRAPH.has_edge("procflow.cli.main", "procflow.flow.load")
    assert not GRAPH.has_edge("procflow.language.source", "procflow.flow.load")


def test_one_stem_one_module() -> None:
    stems = Counter(Path(p).stem for p in MODULES.values() if Path(p).name != "__init__.py")
    assert [s for s, n in stems.items() if n > 1] == []


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_module_paths_import_with_a_warning(old: str) -> None:
    for name in [n for n in sys.modules if n == old or n.startswith(old + ".")]:
        del sys.modules[name]
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {_moved.MOVED[old]}"):
        module = importlib.import_module(old)
    new = importlib.import_module(_moved.MOVED[old])
    public = [n for n in dir(new) if not n.startswith("_")]
    assert public, f"{new.__name__} has no public names"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(getattr(module, n) is getattr(new, n) for n in public)


def test_moved_names_of_the_testing_package_warn() -> None:
    import procflow.testing
    from procflow.testing import runner

    procflow.testing.__dict__.pop("run_paths", None)
    with pytest.warns(DeprecationWarning, match="procflow.testing.runner.run_paths"):
        assert procflow.testing.run_paths is runner.run_paths
