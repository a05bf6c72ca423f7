"""PF518: thresholds and deadlines that read the notes' 以上, 以下 and 之前 the other way."""

from __future__ import annotations

import pytest

from procflow.language import source
from procflow.language.readings import check_readings


def warned(text: str) -> list[tuple[int, int]]:
    doc, problems = source.parse(text, "t.yaml")
    assert doc is not None, problems
    found = check_readings(doc)
    assert all(d.code == "PF518" and not d.is_error for d in found)
    return [(d.line, d.column) for d in found]


@pytest.mark.parametrize(
    ("note", "value", "warns"),
    [
        ("2000元以上", "amount > 2000", True),
        ("2,000元以上", "2000 < amount", True),
        ("2000元以上", "amount >= 2000", False),
        ("2000元以上", "amount > 1999", False),
        ("50 分以下", "score < 50", True),
        ("50 分以下", "score <= 50", False),
        ("超過 2000 元", "amount > 2000", False),  # 超過 means more than
        ("2000元以上 read as more than 2000, excluding it", "amount > 2000", False),
        ("2000元以上; 不含2000元", "amount > 2000", False),
    ],
)
def test_conditions(note: str, value: str, warns: bool) -> None:
    text = f"notes: ['{note}']\nsteps:\n  - when: {value}\n"
    assert warned(text) == ([(3, 11)] if warns else [])


@pytest.mark.parametrize(
    ("cell", "warns"),
    [
        ("> 2000", True),
        ("(2000..5000]", True),
        (">= 2000", False),
        ("[2000..5000]", False),
        ("超過2000元", True),  # the cell in words leaves 2000 out as well
        ("＞ 2000", True),
        ("2000元以上", False),
        ("不低於2000", False),
    ],
)
def test_cells_against_yi_shang(cell: str, warns: bool) -> None:
    text = f'tables:\n  T:\n    notes: [2000元以上]\n    rules:\n      - ["{cell}", a]\n'
    assert bool(warned(text)) is warns


@pytest.mark.parametrize(
    ("cell", "warns"),
    [
        ("< 50", True),
        ("[0..50)", True),
        ("<= 50", False),
        ("[0..50]", False),
        ("不足50分", True),
        ("50分以下", False),
    ],
)
def test_cells_against_yi_xia(cell: str, warns: bool) -> None:
    text = f'tables:\n  T:\n    rules:\n      - when: {{score: "{cell}"}}\n        note: 50分以下\n'
    assert bool(warned(text)) is warns


@pytest.mark.parametrize(
    ("note", "due", "warns"),
    [
        ("每月25日之前", "before the 25th of each month", True),
        ("每月25日之前", "每月25日零時前", True),
        ("每月25日之前", "每月25日之前", False),
        ("每月25日之前", "by the 25th of each month", False),
        ("每月25日前", "before the 24th of each month", False),
        ("12月30日之前", "before 30 December", True),
        ("每月25日之前 read as excluding the 25th", "before the 25th of each month", False),
    ],
)
def test_deadlines(note: str, due: str, warns: bool) -> None:
    text = f"notes: ['{note}']\nsteps:\n  - deadline: {{due: {due}}}\n"
    assert bool(warned(text)) is warns


def test_nothing_without_notes_and_nothing_for_bad_text() -> None:
    assert warned("steps:\n  - when: amount > 2000\n") == []
    assert warned("notes: [2000元以上]\nsteps:\n  - when: amount > (\n") == []
    assert warned("notes: [每月25日之前]\nsteps:\n  - deadline: {due: whenever}\n") == []
