"""Scenario files: their shape, and their names checked against the process."""

from __future__ import annotations

from pathlib import Path

import procflow
from procflow.testing.scenario import check_scenario, load_scenario

VALID = Path(__file__).parent / "fixtures" / "valid"

GOOD = """\
procflow: 1
scenario: 審批
process: APPROVAL
users:
  li: market_manager
  wang: [pmm]
acts:
  - start: {by: li}
  - do: draft
    by: li
    data: {proposal: {plan_type: routine, budget: 1000}}
  - do: review
    by: wang
    outcome: approve
  - advance: 3 working days
  - expect: {tasks: [countersign], skipped: budget_approval}
expect: {status: running}
"""


def located(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    scenario, doc, problems = load_scenario(path)
    if scenario is not None and doc is not None:
        problems += check_scenario(scenario, doc, procflow.load_dir(VALID))
    return [f"{d.line}:{d.column} {d.code} {d.message}" for d in problems]


def test_a_good_scenario_has_no_problems(tmp_path: Path) -> None:
    assert located(tmp_path, GOOD) == []
    scenario, _, _ = load_scenario(tmp_path / "s.yaml")
    assert scenario is not None
    assert [a.kind for a in scenario.acts] == ["start", "do", "do", "advance", "expect"]
    assert scenario.users["li"] == ["market_manager"]
    assert scenario.acts[4].expect is not None
    assert scenario.acts[4].expect.skipped == ["budget_approval"]


def test_names_are_checked_against_the_process(tmp_path: Path) -> None:
    text = (
        GOOD.replace("budget: 1000", "budgett: 1000")
        .replace("do: review", "do: reveiw")
        .replace("outcome: approve", "outcome: aprove")
        .replace("wang: [pmm]", "wang: [pm]")
    )
    assert located(tmp_path, text) == [
        "6:10 PF601 no process has the role 'pm'",
        "11:43 PF601 the document 'proposal' has no field 'budgett'",
        "12:9 PF601 the process has no step 'reveiw'",
    ]


def test_unknown_process_and_user(tmp_path: Path) -> None:
    text = GOOD.replace("process: APPROVAL", "process: APROVAL").replace("by: wang", "by: wong")
    assert located(tmp_path, text) == ["3:10 PF601 there is no process 'APROVAL'"]
    text = GOOD.replace("by: wang", "by: wong")
    assert located(tmp_path, text) == ["13:9 PF601 the user 'wong' is not under 'users:'"]


def test_shape_errors_are_located(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - advance: 3 working days\n", "  - advance: 3 working days\n    do: draft\n"
    )
    (problem,) = located(tmp_path, text)
    assert problem.startswith("15:5 PF203 an act is exactly one of")
