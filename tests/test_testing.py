"""Scenario runs: passing scenarios pass, and every kind of failure is a located PF602."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from procflow.testing.runner import run_paths, scenario_files

VALID = Path(__file__).parent / "fixtures" / "valid"
SCENARIOS = VALID / "scenarios"


def test_fixture_scenarios_pass() -> None:
    results, problems = run_paths([VALID])
    assert problems == []
    assert len(results) >= 2
    for r in results:
        assert r.passed, [str(p) for p in r.problems]
        assert r.acts > 0


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for f in VALID.glob("*.yaml"):
        shutil.copy(f, tmp_path)
    shutil.copytree(VALID / "org", tmp_path / "org")
    (tmp_path / "scenarios").mkdir()
    return tmp_path


def broken(workspace: Path, source: str, old: str, new: str) -> str:
    text = (SCENARIOS / source).read_text(encoding="utf-8")
    assert old in text
    (workspace / "scenarios" / source).write_text(text.replace(old, new), encoding="utf-8")
    results, _ = run_paths([workspace])
    (result,) = results
    assert not result.passed
    (problem,) = result.problems
    assert problem.code == "PF602"
    return f"{problem.line}:{problem.column} {problem.message}"


def test_wrong_document_value(workspace: Path) -> None:
    assert (
        broken(
            workspace,
            "APPROVAL.reject-then-approve.yaml",
            "budget: 9000, plan_type",
            "budget: 9000.01, plan_type",
        )
        == "34:38 expected proposal.budget = 9000.01, found 9000"
    )


def test_wrong_skipped_steps(workspace: Path) -> None:
    assert (
        broken(
            workspace, "APPROVAL.routine.yaml", "skipped: [budget_approval]", "skipped: [review]"
        )
        == "18:16 expected skipped [review], found [budget_approval]"
    )


def test_wrong_expected_error(workspace: Path) -> None:
    got = broken(
        workspace,
        "APPROVAL.reject-then-approve.yaml",
        "error: NotAllowed",
        "error: InvalidSubmission",
    )
    assert got.startswith("21:12 expected InvalidSubmission, got NotAllowed:")


def test_unexpected_error_stops_the_scenario(workspace: Path) -> None:
    got = broken(workspace, "APPROVAL.routine.yaml", "    by: wang\n", "    by: li\n")
    assert got.startswith("13:9 do 'review' failed: NotAllowed:")


def test_wrong_open_tasks(workspace: Path) -> None:
    got = broken(workspace, "APPROVAL.routine.yaml", "tasks: [countersign]", "tasks: [draft]")
    assert got == "17:14 expected open tasks [draft], found [countersign]"


def test_wrong_result(workspace: Path) -> None:
    got = broken(
        workspace, "APPROVAL.reject-then-approve.yaml", "result: approved", "result: rejected"
    )
    assert got == "48:11 expected result rejected, found approved"


def test_scenario_files_are_found_only_in_scenario_folders() -> None:
    found = list(scenario_files([VALID]))
    assert found and all(f.parent.name == "scenarios" for f in found)
    assert list(scenario_files([VALID / "approval.yaml"])) == []


def test_the_scenarios_folder_itself_can_be_named() -> None:
    results, problems = run_paths([SCENARIOS])
    assert problems == []
    assert len(results) >= 2 and all(r.passed for r in results)


def test_task_not_open_can_be_expected(workspace: Path) -> None:
    text = (SCENARIOS / "APPROVAL.routine.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "  - expect:\n",
        "  - do: draft\n    by: li\n    error: TaskNotOpen\n  - expect:\n",
    )
    (workspace / "scenarios" / "x.yaml").write_text(text, encoding="utf-8")
    (result,) = run_paths([workspace])[0]
    assert result.passed, [str(p) for p in result.problems]


def test_lists_compare_with_stored_tuples() -> None:
    from procflow.testing.runner import _same

    assert _same(["a", "b"], ("a", "b"))
    assert not _same(["a", "b"], ("b", "a"))
    assert _same(["1.50"], (Decimal("1.5"),))
