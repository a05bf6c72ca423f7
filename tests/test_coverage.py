"""Scenario coverage: required items come from the process; runs mark them covered."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

import procflow
from procflow.cli.main import main
from procflow.testing.coverage import required
from procflow.testing.runner import coverage_of, run_paths

VALID = Path(__file__).parent / "fixtures" / "valid"


def test_required_items_name_every_path() -> None:
    items = required(procflow.load(VALID / "everything.yaml"))
    assert "check: outcome back" in items
    assert "check: expired" in items and "check: escalated" in items
    assert "route: arm otherwise" in items
    assert 'route: arm request.kind in ["training"]' in items
    assert "big: outcome reject" in items
    assert "train: outcome skip" in items
    assert "done_check: branch 2 skipped" in items
    assert "done_check: branch 1 skipped" not in items  # branch 1 has no condition


def test_fixture_scenarios_cover_the_approval_process() -> None:
    catalog = procflow.load_dir(VALID)
    results, _ = run_paths([VALID], catalog)
    cov = coverage_of(results, catalog)["APPROVAL"]
    assert cov.missing == []
    assert cov.percent == 100.0


def test_a_missing_scenario_shows_as_missing(tmp_path: Path) -> None:
    shutil.copytree(VALID, tmp_path / "p")
    (tmp_path / "p" / "scenarios" / "APPROVAL.reject-then-approve.yaml").unlink()
    catalog = procflow.load_dir(tmp_path / "p")
    results, _ = run_paths([tmp_path / "p"], catalog)
    cov = coverage_of(results, catalog)["APPROVAL"]
    assert set(cov.missing) == {
        "review: outcome reject",
        "budget_approval: runs (when holds)",
        "budget_approval: reached",
        "countersign: outcome sign",
    }
    result = CliRunner().invoke(main, ["test", str(tmp_path / "p"), "--min-coverage", "100"])
    assert result.exit_code == 1
    assert "missing: review: outcome reject" in result.output
