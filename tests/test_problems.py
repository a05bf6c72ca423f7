"""Diagnostic codes are documented, and diagnostics print like gcc or ruff."""

from __future__ import annotations

import re
from pathlib import Path

from procflow.language.diagnostics import CODES, Diagnostic, Severity, did_you_mean

DOCS = Path(__file__).parent.parent / "docs" / "diagnostics.md"


def test_every_code_is_documented_and_no_other() -> None:
    documented = set(re.findall(r"^\| (PF\d{3}) \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented == set(CODES)


def test_codes_are_in_families() -> None:
    for code in CODES:
        assert re.fullmatch(r"PF[1-6]\d\d", code), code


def test_text_form() -> None:
    d = Diagnostic(
        "p.yaml", 3, 7, "PF301", "step 'aprove' is not defined", "did you mean 'approve'?"
    )
    assert (
        str(d) == "p.yaml:3:7: error PF301: step 'aprove' is not defined (did you mean 'approve'?)"
    )
    w = Diagnostic("p.yaml", 1, 1, "PF313", "unused", severity=Severity.WARNING)
    assert str(w) == "p.yaml:1:1: warning PF313: unused"
    assert w.to_dict()["severity"] == "warning"


def test_did_you_mean() -> None:
    assert did_you_mean("aprove", ["approve", "reject"]) == "did you mean 'approve'?"
    assert did_you_mean("zzz", ["approve"]) == ""
