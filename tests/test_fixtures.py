"""Every invalid fixture yields exactly its expected `line:col code` list; every valid one loads.

Each ``tests/fixtures/invalid/NAME.yaml`` has a sibling ``NAME.expected`` with
one ``line:col CODE`` per line (warnings included; ``0:0`` is the path as a
whole). A ``NAME.expected`` with no ``NAME.yaml`` is a case git cannot hold (a
FIFO, a symbolic link loop, an unreadable file, ...): `tests.special` builds
it, and the real command validates it in a child process where
unreadable means unreadable, even when the tests run as root.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import procflow
from procflow.flow.load import check_paths
from tests import special

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))
BUILT = sorted(
    p.stem for p in (FIXTURES / "invalid").glob("*.expected") if not p.with_suffix(".yaml").exists()
)


def found(path: Path) -> list[str]:
    _, problems = check_paths([path])
    return sorted(f"{d.line}:{d.column} {d.code}" for d in problems)


def expected(path: Path) -> list[str]:
    text = path.with_suffix(".expected").read_text(encoding="utf-8")
    return sorted(line.strip() for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture(path: Path) -> None:
    assert found(path) == expected(path)


@pytest.mark.parametrize("name", BUILT)
def test_built_fixture(name: str) -> None:
    with special.open_folder() as folder:
        paths = special.BUILDERS[name](folder)
        _, out, err = special.run_cli("validate", "--format", "json", *paths)
    assert not err
    got = sorted(f"{d['line']}:{d['column']} {d['code']}" for d in json.loads(out)["diagnostics"])
    assert got == expected(FIXTURES / "invalid" / f"{name}.yaml")


def test_every_built_fixture_has_a_builder() -> None:
    assert set(BUILT) == set(special.BUILDERS)


def test_every_invalid_fixture_has_expectations() -> None:
    missing = [p.name for p in INVALID if not p.with_suffix(".expected").exists()]
    assert missing == []
    assert len(INVALID) >= 25


def test_valid_fixtures_load() -> None:
    catalog = procflow.load_dir(FIXTURES / "valid")
    assert len(catalog) >= 3
    for process in catalog.values():
        assert process.graph.number_of_nodes() >= 3


def test_diagnostics_name_the_file() -> None:
    path = FIXTURES / "invalid" / "unknown_actor.yaml"
    _, problems = check_paths([path])
    assert all(str(d).startswith(f"{path}:") for d in problems)
    (unknown,) = [d for d in problems if d.code == "PF302"]
    assert str(unknown).endswith("the actor 'manger' is not defined (did you mean 'manager'?)")
