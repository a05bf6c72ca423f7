"""procflow run: an interactive walk through a process that resumes after quitting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from procflow.cli.main import main

PROCESS = Path(__file__).parent / "fixtures" / "valid" / "approval.yaml"


def run(db: Path, keys: str) -> str:
    result = CliRunner().invoke(main, ["run", str(PROCESS), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    return result.output


def test_walk_validate_and_resume(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    # start, draft with a bad budget (asked again), then review
    out = run(db, "s\n1\nannual\nabc\n\n1200.50\n1\napprove\nh\nq\n")
    assert "✓ started" in out
    assert "✗ proposal.budget" in out  # 'abc' is not money: the field is asked again
    assert out.count("✓ done") == 2
    assert "task_completed" in out  # the history screen
    # quitting and running again resumes: the next task is the budget approval
    again = run(db, "q\n")
    assert "預算審批 (budget_approval)" in again
    assert "制定計劃 (draft)" not in again


def test_clock_advances_and_persists(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    out = run(db, "a\n2 hours\nq\n")
    assert "✓ now" in out
    moved = out.split("✓ now ")[1][:16]
    again = run(db, "q\n")
    assert f"── {moved} ──" in again
