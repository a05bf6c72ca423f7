"""The README's library example runs as written (from the repository root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import procflow

ROOT = Path(__file__).parent.parent


def run_example(name: str, heading: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the first ``python`` block under ``heading`` of ``name`` in a folder beside the
    processes; what it calls ``inst``, read back from the SQLite file it wrote (and closed)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    block = text.split(heading, 1)[1].split("```python", 1)[1].split("```", 1)[0]
    (tmp_path / "processes").symlink_to(ROOT / "processes")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(block, name, "exec"), namespace)  # noqa: S102 (our own docs)
    return namespace["inst"]


def test_library_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inst = run_example("README.md", "## As a library", tmp_path, monkeypatch)
    with procflow.open_store("sqlite:///flows.db") as store:  # the example closed its own
        history = store.events(inst.id)
    assert [e.type for e in history][:2] == ["started", "task_opened"]


def test_the_embedding_example_of_the_runtime_docs_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = run_example("docs/runtime.md", "## Embedding it", tmp_path, monkeypatch)
    assert inst.tasks[0].step_id != "review"  # it moved past the review
    with procflow.open_store("sqlite:///flows.db") as store:
        done = [e.data.get("outcome") for e in store.events(inst.id)]
    assert "approve" in done


def shell_commands(name: str, heading: str) -> list[str]:
    """The commands of the first ``sh`` block under ``heading``, without comments."""
    text = (ROOT / name).read_text(encoding="utf-8")
    block = text.split(f"\n{heading}\n", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = (line.split("  #", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_ci_runs_the_readme_test_command() -> None:
    commands = shell_commands("README.md", "## Quick start")
    assert len(commands) == 2
    main_job, tests = commands
    assert main_job.endswith("procflow check processes/")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci


def test_contributing_sets_up_as_the_readme_does() -> None:
    assert shell_commands("CONTRIBUTING.md", "## Set up") == shell_commands(
        "README.md", "## Quick start"
    )
